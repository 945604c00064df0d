/**
 * The per-repository write lock across processes (PostgreSQL only): a session-level advisory lock,
 * `pg_advisory_lock(class, hashtext(<repository folder name>))`, held on a connection of a small pool of its own
 * from the moment a writer is let in (git/write-lock.ts) until it is done. File locks are not reliable on the
 * network volumes that several machines share, and PostgreSQL is already what the processes share. A process
 * that dies loses its connection and with it the lock.
 *
 * The key is the repository's folder name (`<project-id>.git`), not its path: machines may mount the shared
 * volume at different places. A hash collision only makes two repositories take turns.
 */
import { basename } from 'node:path';
import pg from 'pg';
import type { CrossProcessLock } from '../git/write-lock.ts';

/** The first key of our advisory locks of repositories ('DCrp'), apart from the audit and throttle classes. */
export const REPOSITORY_LOCK_CLASS = 0x44437270;

/** Writers of different repositories in one process hold at most this many locks (connections) at once. */
const MAX_HELD = 8;

export class AdvisoryRepositoryLocks implements CrossProcessLock {
  readonly #pool: pg.Pool;

  constructor(url: string) {
    this.#pool = new pg.Pool({ connectionString: url, max: MAX_HELD, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000 });
    this.#pool.on('error', () => {});
  }

  async acquire(repoPath: string): Promise<() => Promise<void>> {
    const client = await this.#pool.connect();
    const name = basename(repoPath);
    try {
      await client.query('select pg_advisory_lock($1::int, hashtext($2))', [REPOSITORY_LOCK_CLASS, name]);
    } catch (error) {
      client.release(true);
      throw error;
    }
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      try {
        await client.query('select pg_advisory_unlock($1::int, hashtext($2))', [REPOSITORY_LOCK_CLASS, name]);
        client.release();
      } catch {
        // the connection is broken: closing it ends its session, which releases the lock
        client.release(true);
      }
    };
  }

  /** The locks of many repositories on one connection (a backup), taken in sorted order, released together. */
  async acquireAll(repoPaths: readonly string[]): Promise<() => Promise<void>> {
    const names = [...new Set(repoPaths.map((path) => basename(path)))].sort();
    const client = await this.#pool.connect();
    const taken: string[] = [];
    const releaseTaken = async () => {
      for (const name of taken) await client.query('select pg_advisory_unlock($1::int, hashtext($2))', [REPOSITORY_LOCK_CLASS, name]);
    };
    try {
      for (const name of names) {
        await client.query('select pg_advisory_lock($1::int, hashtext($2))', [REPOSITORY_LOCK_CLASS, name]);
        taken.push(name);
      }
    } catch (error) {
      client.release(true);
      throw error;
    }
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      try {
        await releaseTaken();
        client.release();
      } catch {
        // the connection is broken: closing it ends its session, which releases the locks
        client.release(true);
      }
    };
  }

  close(): Promise<void> {
    return this.#pool.end();
  }
}
