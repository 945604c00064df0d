/**
 * One writer at a time per repository: editor commits and merges from their journal note to the record of the
 * move (changes/branch-moves.ts), pushes from the moment their check starts until receive-pack has exited and the
 * push is recorded (see smart-http.ts receivePack), crash recovery and repository maintenance (gc).
 *
 * Within a process writers queue in memory. Between processes on one PostgreSQL database (`serve --workers N`,
 * or servers on several machines sharing the repositories) a writer also holds the repository's advisory lock
 * (cluster/repository-locks.ts, set with `useCrossProcessLock`); update-ref's old-value check still refuses a lost
 * race in any case.
 *
 * The lock is re-entrant for a caller that shows it holds it: the function run under the lock gets a
 * `HeldWriteLock`, and passing it on (a branch move holds the lock around a commit that takes it too) re-enters
 * instead of queueing behind itself. The proof is explicit rather than carried by AsyncLocalStorage, which on
 * Node 20 puts a hook on every promise of the process once used (~5 % of a cached page's CPU).
 */
import { resolve } from 'node:path';

/** A lock shared by every process that writes the repositories (PostgreSQL's advisory locks). */
export interface CrossProcessLock {
  /** Waits for the repository's lock; resolves with its release. */
  acquire(repoPath: string): Promise<() => Promise<void>>;
  /** Waits for the locks of all these repositories at once (in a fixed order); resolves with their release. */
  acquireAll?(repoPaths: readonly string[]): Promise<() => Promise<void>>;
}

const tails = new Map<string, Promise<unknown>>();

/** Proof that the caller holds one repository's write lock; void once the lock is released (late callbacks do not inherit it). */
export class HeldWriteLock {
  /** @internal */
  constructor(readonly key: string) {}
}
const live = new WeakSet<HeldWriteLock>();

let crossProcess: CrossProcessLock | null = null;

/** Makes every writer also take `lock` (null: this process is the only writer). Returns a function that undoes it. */
export function useCrossProcessLock(lock: CrossProcessLock | null): () => void {
  crossProcess = lock;
  return () => {
    if (crossProcess === lock) crossProcess = null;
  };
}

/**
 * Runs `fn` after every earlier writer of the repository at `repoPath` has finished, or at once when `held` is the
 * live proof of holding that repository's lock (a writer re-entering its own lock).
 */
export async function withWriteLock<T>(repoPath: string, fn: (held: HeldWriteLock) => Promise<T>, held?: HeldWriteLock): Promise<T> {
  const key = resolve(repoPath);
  if (held !== undefined && held.key === key && live.has(held)) return fn(held);
  const previous = tails.get(key) ?? Promise.resolve();
  const shared = crossProcess;
  const run = previous.then(async () => {
    const release = shared ? await shared.acquire(key) : null;
    const token = new HeldWriteLock(key);
    live.add(token);
    try {
      return await fn(token);
    } finally {
      live.delete(token);
      await release?.();
    }
  });
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
 * Runs `fn` while holding the write lock of every repository in `repoPaths` at once (a backup pairs each
 * repository's refs with one database snapshot, backup/backup.ts): no branch move of any of them is between its
 * journal note and its database record while `fn` runs. The in-process queues are entered in sorted order and the
 * cross-process locks taken together on one connection (`acquireAll`), so the lock count does not depend on the
 * pool's size; writers hold one repository's lock at a time, so the fixed order cannot deadlock with them.
 */
export async function withWriteLocks<T>(repoPaths: readonly string[], fn: () => Promise<T>): Promise<T> {
  const keys = [...new Set(repoPaths.map((path) => resolve(path)))].sort();
  const shared = crossProcess;
  const enter = async (index: number): Promise<T> => {
    if (index < keys.length) return queueInProcess(keys[index]!, () => enter(index + 1));
    let release: (() => Promise<void>) | null = null;
    if (shared && keys.length > 0) {
      if (shared.acquireAll) release = await shared.acquireAll(keys);
      else {
        const releases: Array<() => Promise<void>> = [];
        for (const key of keys) releases.push(await shared.acquire(key));
        release = async () => {
          for (const done of releases.reverse()) await done();
        };
      }
    }
    try {
      return await fn();
    } finally {
      await release?.();
    }
  };
  return enter(0);
}

/** The in-process part of withWriteLock only (withWriteLocks takes the cross-process part for all at once). */
async function queueInProcess<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = tails.get(key) ?? Promise.resolve();
  const run = previous.then(() => fn());
  const tail = run.catch(() => {});
  tails.set(key, tail);
  try {
    return await run;
  } finally {
    if (tails.get(key) === tail) tails.delete(key);
  }
}

/** `withWriteLock` as a writer of its own: never re-enters a lock (work started in the background queues behind it). */
export function queueWriteLock<T>(repoPath: string, fn: () => Promise<T>): Promise<T> {
  return withWriteLock(repoPath, () => fn());
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
