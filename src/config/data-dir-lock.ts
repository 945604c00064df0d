import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ConflictError } from '../errors.ts';

/** An exclusive claim on a data directory, held by one process (a server or a data-changing command). */
export interface DataDirLock {
  release(): void;
}

export interface LockInfo {
  pid: number;
  purpose: string;
}

/** The purpose a server claims the data directory with (commands recognize a running server by it). */
export const SERVER_PURPOSE = 'a DocuCommit server';

/** Who holds `dataDir` now: a live process, or null when the directory is free (or its lock is stale). */
export function dataDirHolder(dataDir: string): LockInfo | null {
  const holder = readHolder(join(dataDir, 'docucommit.lock'));
  return holder && isAlive(holder.pid) ? holder : null;
}

/**
 * Claim `dataDir` for this process. A second server, or a command that changes data while a server runs,
 * gets a ConflictError that names the holder. A lock left by a dead process is taken over.
 */
export function acquireDataDirLock(dataDir: string, purpose: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'docucommit.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, JSON.stringify({ pid: process.pid, purpose } satisfies LockInfo));
      closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        process.off('exit', release);
        try {
          if (readHolder(file)?.pid === process.pid) unlinkSync(file);
        } catch {
          /* already gone */
        }
      };
      process.on('exit', release);
      return { release };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readHolder(file);
      if (holder && holder.pid !== process.pid && isAlive(holder.pid)) {
        throw new ConflictError(
          `the data directory ${dataDir} is in use by ${holder.purpose} (pid ${holder.pid}); ` +
            `stop it first, or use another --data directory`,
        );
      }
      // Stale lock from a process that died (e.g. kill -9): remove and retry once.
      try {
        unlinkSync(file);
      } catch {
        /* raced with another process; the retry decides */
      }
    }
  }
  throw new ConflictError(`could not lock the data directory ${dataDir}`);
}

function readHolder(file: string): LockInfo | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
