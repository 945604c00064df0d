/**
 * Repositories in a backup: each one as a git bundle (`git bundle verify` and `git clone` read it) of exactly
 * the refs recorded with the database snapshot — not of whatever the refs are when the bundle is written. The
 * bundle's header is written here (format v2: a line per ref, a blank line) and its pack by
 * `git pack-objects --revs` from the recorded commits: git objects never change, and the ones the recorded refs
 * reach stay in the repository while the bundle is written (gc prunes only unreachable objects, and only after
 * weeks), so the refs may move on meanwhile.
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createBareRepository } from '../git/repository-setup.ts';
import { runGit, spawnGit } from '../git/run.ts';
import { isOid } from '../git/refs.ts';

/** One ref of a repository as recorded with the database snapshot. */
export interface RecordedRef {
  name: string;
  oid: string;
}

export interface RecordedRepository {
  /** The folder name under DATA/repos (`<project-id>.git`). */
  dir: string;
  refs: RecordedRef[];
  /** What HEAD points at (a symbolic ref), or null. */
  head: string | null;
  /** The archive entry of its bundle; null for a repository without refs. */
  entry: string | null;
}

/** Generous: a large repository is packed and read at disk speed, with no deadline of a request. */
const BUNDLE_TIMEOUT_MS = 6 * 60 * 60 * 1000;

/** Every ref of the repository at `gitDir`, and HEAD's target. */
export async function readRefs(gitDir: string): Promise<{ refs: RecordedRef[]; head: string | null }> {
  const listed = await runGit({ gitDir, args: ['for-each-ref', '--format=%(objectname) %(refname)'] });
  const refs: RecordedRef[] = [];
  for (const line of listed.stdout.toString('utf8').split('\n')) {
    if (!line) continue;
    const space = line.indexOf(' ');
    refs.push({ oid: line.slice(0, space), name: line.slice(space + 1) });
  }
  const head = await runGit({ gitDir, args: ['symbolic-ref', '--quiet', 'HEAD'], okExitCodes: [0, 1] });
  return { refs, head: head.exitCode === 0 ? head.stdout.toString('utf8').trim() || null : null };
}

/** Write a bundle of `refs` (their commits and everything they reach) from `gitDir` to `file`. */
export async function writeBundle(gitDir: string, refs: readonly RecordedRef[], file: string): Promise<void> {
  const out = createWriteStream(file, { mode: 0o600 });
  out.write(`# v2 git bundle\n${refs.map((r) => `${r.oid} ${r.name}\n`).join('')}\n`);
  const git = spawnGit({ gitDir, args: ['pack-objects', '--stdout', '--revs', '--quiet', '--delta-base-offset'], timeoutMs: BUNDLE_TIMEOUT_MS });
  git.stdin.end([...new Set(refs.map((r) => r.oid))].join('\n') + '\n');
  try {
    await Promise.all([pipeline(git.stdout, out), git.wait()]);
  } catch (error) {
    git.kill();
    out.destroy();
    throw error;
  }
}

/**
 * Create the bare repository `gitDir` (with DocuCommit's settings and hooks) from a bundle, set exactly the
 * recorded refs and HEAD, and check that every ref is what was recorded and the objects are whole (fsck).
 */
export async function restoreRepository(gitDir: string, recorded: RecordedRepository, bundle: string | null): Promise<void> {
  await createBareRepository(gitDir);
  if (bundle !== null) {
    await runGit({ gitDir, args: ['bundle', 'verify', '--quiet', bundle], timeoutMs: BUNDLE_TIMEOUT_MS });
    // fetch checks every object it receives (the repositories set transfer.fsckObjects) and moves each ref
    await runGit({ gitDir, args: ['fetch', '--quiet', '--no-tags', '--update-head-ok', '--no-write-fetch-head', bundle, '+refs/*:refs/*'], timeoutMs: BUNDLE_TIMEOUT_MS });
  }
  if (recorded.head !== null) await runGit({ gitDir, args: ['symbolic-ref', 'HEAD', recorded.head] });
  const { refs } = await readRefs(gitDir);
  const want = [...recorded.refs].sort((a, b) => a.name.localeCompare(b.name));
  const have = refs.sort((a, b) => a.name.localeCompare(b.name));
  if (JSON.stringify(want) !== JSON.stringify(have)) throw new Error(`the refs of ${recorded.dir} after restore are not the recorded ones`);
  await runGit({ gitDir, args: ['fsck', '--no-progress', '--no-dangling', '--connectivity-only'], timeoutMs: BUNDLE_TIMEOUT_MS });
}

/** Whether a recorded repository from a manifest is well formed (restore refuses anything else). */
export function isRecordedRepository(value: unknown): value is RecordedRepository {
  const r = value as RecordedRepository;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.dir === 'string' &&
    /^[0-9a-zA-Z][0-9a-zA-Z._-]{0,200}\.git$/.test(r.dir) &&
    Array.isArray(r.refs) &&
    r.refs.every((ref) => typeof ref?.name === 'string' && /^refs\/[^\0-\x20\x7f]+$/.test(ref.name) && !ref.name.includes('..') && isOid(ref.oid)) &&
    (r.head === null || (typeof r.head === 'string' && /^refs\/[^\0-\x20\x7f]+$/.test(r.head))) &&
    (r.entry === null || typeof r.entry === 'string')
  );
}
