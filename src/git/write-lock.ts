/**
 * One writer at a time per repository within this process: editor commits, and pushes from the moment their
 * check starts until receive-pack has exited and the push is recorded (see smart-http.ts receivePack), and
 * repository maintenance (gc). Writers in other processes are caught by update-ref's old-value check instead.
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

/**
 * Takes the write lock of the repository at `repoPath` and resolves with the function that releases it (calling
 * it more than once is harmless), for a writer whose critical section spans callbacks (a push).
 */
export function acquireWriteLock(repoPath: string): Promise<() => void> {
  return new Promise((resolveLock) => {
    void withWriteLock(repoPath, () => new Promise<void>((release) => resolveLock(() => release())));
  });
}
