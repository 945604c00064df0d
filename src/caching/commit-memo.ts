/**
 * Results computed from immutable inputs (commit, tree and blob ids), remembered by key: what a draft changes
 * against main at two given commits never changes, so a page read again does not walk the same trees again. One
 * computation per key at a time (concurrent callers share it), at most `maxEntries` results (the least recently
 * used goes first), and a failure is not remembered (the next caller computes again).
 */
export class CommitMemo<V> {
  readonly #entries = new Map<string, Promise<V>>();

  constructor(private readonly maxEntries: number) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
  }

  get(key: string, compute: () => Promise<V>): Promise<V> {
    const known = this.#entries.get(key);
    if (known) {
      // most recently used last: Map keeps insertion order
      this.#entries.delete(key);
      this.#entries.set(key, known);
      return known;
    }
    const computed = compute();
    if (this.#entries.size >= this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, computed);
    computed.catch(() => {
      if (this.#entries.get(key) === computed) this.#entries.delete(key);
    });
    return computed;
  }

  get size(): number {
    return this.#entries.size;
  }
}
