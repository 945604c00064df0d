/**
 * Repository maintenance: `git gc --auto`, which does nothing until loose objects or packs pass git's thresholds
 * (gc.auto, gc.autoPackLimit, set in repository-setup.ts) and then packs them, so loose objects do not grow
 * without bound. It runs in the foreground (gc.autoDetach=false) under the repository's write lock, so it never
 * overlaps a commit or a push of this process. Readers need no lock: git repacks by writing new packs before
 * deleting what they replace, and a running `cat-file --batch` looks again for packs when an object moved.
 */
import { runGit } from './run.ts';
import { queueWriteLock } from './write-lock.ts';

const GC_TIMEOUT_MS = 10 * 60 * 1000;

/** Runs `git gc --auto`; the caller holds the repository's write lock. */
export async function gcAuto(gitDir: string): Promise<void> {
  await runGit({ gitDir, args: ['gc', '--auto', '--quiet'], timeoutMs: GC_TIMEOUT_MS });
}

/** Runs `git gc --auto` under the repository's write lock (after earlier writers, before later ones). */
export function maintainRepository(gitDir: string): Promise<void> {
  // queued as a writer of its own, even when started by a writer that still holds the lock (a branch move)
  return queueWriteLock(gitDir, () => gcAuto(gitDir));
}
