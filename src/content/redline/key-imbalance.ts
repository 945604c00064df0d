/** Keys one list has more often than the other: a lower bound on the insertions and deletions between them. */
export function keyCountImbalance(oldKeys: readonly string[], newKeys: readonly string[]): number {
  const counts = new Map<string, number>();
  for (const key of oldKeys) counts.set(key, (counts.get(key) ?? 0) + 1);
  for (const key of newKeys) counts.set(key, (counts.get(key) ?? 0) - 1);
  let imbalance = 0;
  for (const count of counts.values()) imbalance += Math.abs(count);
  return imbalance;
}
