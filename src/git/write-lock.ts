/**
 * One writer at a time per repository within this process. Another process racing us is caught by
 * `update-ref`'s old-value check instead.
 */
const tails = new Map<string, Promise<unknown>>();

/** Run `fn` once every earlier writer of `repoPath` has finished. */
export async function withWriteLock<T>(repoPath: string, fn: () => Promise<T>): Promise<T> {
  const previous = tails.get(repoPath) ?? Promise.resolve();
  const run = previous.catch(() => {}).then(fn);
  const tail = run.catch(() => {});
  tails.set(repoPath, tail);
  try {
    return await run;
  } finally {
    if (tails.get(repoPath) === tail) tails.delete(repoPath);
  }
}
