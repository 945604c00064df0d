/**
 * One writer at a time per repository within this process. Writers in other processes (pushes through
 * receive-pack) are caught by update-ref's old-value check instead.
 */
import { resolve } from 'node:path';

const tails = new Map<string, Promise<unknown>>();

/** Runs `fn` after every earlier writer of the repository at `repoPath` has finished. */
export async function withWriteLock<T>(repoPath: string, fn: () => Promise<T>): Promise<T> {
  const key = resolve(repoPath);
  const previous = tails.get(key) ?? Promise.resolve();
  const run = previous.then(fn);
  const tail = run.catch(() => {});
  tails.set(key, tail);
  try {
    return await run;
  } finally {
    // forget the repository when nobody queued behind us, so the map does not grow with every repository ever written
    if (tails.get(key) === tail) tails.delete(key);
  }
}
