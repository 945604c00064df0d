/**
 * History with the files each commit touched, in one `git log --raw` call: per document (following renames)
 * and per branch. The raw records carry the blob ids of both sides, so callers can read any version through
 * the repository's cat-file reader without another git process per commit.
 */
import { InvalidInputError } from '../errors.ts';
import type { GitIdentity } from './commit-object.ts';
import { assertSafeRepoPath } from './paths.ts';
import { assertOid, ZERO_OID } from './refs.ts';
import type { Repository } from './repository.ts';
import { runGit, userArg } from './run.ts';

/** One file a commit touched, against its first parent. */
export interface FileTouch {
  /** A added, M modified, D deleted, R renamed (only when following a file's renames). */
  status: 'A' | 'M' | 'D' | 'R';
  /** The path after the commit (for D: the path that was deleted). */
  path: string;
  /** For R: the path before the commit. */
  oldPath: string | null;
  /** Blob before the commit (null for A). */
  oldBlob: string | null;
  /** Blob after the commit (null for D). */
  newBlob: string | null;
  /** File mode after the commit (before, for D): 100644, 100755, 120000 (symlink)... */
  mode: string;
}

/** A commit with the files it touched. */
export interface CommitWithFiles {
  oid: string;
  tree: string;
  parents: string[];
  author: GitIdentity;
  /** First line of the message. */
  subject: string;
  files: FileTouch[];
}

const FORMAT = '--format=%H%x00%T%x00%P%x00%an%x00%ae%x00%at%x00%ad%x00%s';
const HEADER_FIELDS = 8;
const MAX_LIMIT = 1000;

interface Page {
  limit: number;
  skip: number;
}

/**
 * Commits that changed `path`, newest first, following renames (`git log --follow`), each with the record of
 * that file (so a version's path and blob are known even before a rename).
 */
export async function fileHistory(repository: Repository, commit: string, path: string, page: Page): Promise<CommitWithFiles[]> {
  assertOid(commit, 'commit');
  assertSafeRepoPath(path);
  checkPage(page);
  return logWithFiles(repository, ['--follow', '-M'], commit, page, [path]);
}

/** Commits reachable from `commit`, newest first, each with the files it changed against its first parent. */
export async function branchHistory(repository: Repository, commit: string, page: Page): Promise<CommitWithFiles[]> {
  assertOid(commit, 'commit');
  checkPage(page);
  return logWithFiles(repository, ['--no-renames', '--diff-merges=first-parent'], commit, page, []);
}

/**
 * Every commit reachable from `head` that touched one of `paths` (exact paths; no rename detection, merges
 * diffed against their first parent), newest first in topological order, each with the records of those paths
 * only; at most `limit`.
 */
export async function pathChanges(repository: Repository, head: string, paths: readonly string[], limit: number): Promise<CommitWithFiles[]> {
  assertOid(head, 'commit');
  for (const path of paths) assertSafeRepoPath(path);
  if (!Number.isSafeInteger(limit) || limit < 1) throw new InvalidInputError('The limit must be positive.');
  if (paths.length === 0) return [];
  const wanted = new Set(paths);
  // children always before their parents, whatever the dates say
  const commits = await logWithFiles(repository, ['--no-renames', '--diff-merges=first-parent', '--topo-order'], head, { limit, skip: 0 }, [...paths]);
  return commits.map((c) => ({ ...c, files: c.files.filter((f) => wanted.has(f.path)) })).filter((c) => c.files.length > 0);
}

/** The newest commit reachable from `commit` (itself included) that touched `path`, or null. */
export async function lastChangeOf(repository: Repository, commit: string, path: string): Promise<string | null> {
  assertOid(commit, 'commit');
  assertSafeRepoPath(path);
  const [last] = await logWithFiles(repository, ['--no-renames', '--diff-merges=first-parent'], commit, { limit: 1, skip: 0 }, [path]);
  return last?.oid ?? null;
}

/** Commits by id, in the order given, each with every file it changed against its first parent (no renames). */
export async function commitsWithFiles(repository: Repository, commits: readonly string[]): Promise<CommitWithFiles[]> {
  if (commits.length === 0) return [];
  for (const commit of commits) assertOid(commit, 'commit');
  const { stdout } = await runGit({
    gitDir: repository.path,
    args: [
      'log', '--no-walk=unsorted', '-z', '--raw', '--no-abbrev', '--date=format:%z', FORMAT, '--no-renames', '--diff-merges=first-parent',
      '--end-of-options', ...commits.map((c) => userArg(c)), '--',
    ],
  });
  return parseLogWithFiles(stdout);
}

/**
 * The renames a commit made against its first parent (`firstParent`, null for a root commit), as git's rename
 * detection sees them: old path → new path. A merge is compared with its first parent like any commit.
 */
export async function renamesIn(repository: Repository, commit: string, firstParent: string | null): Promise<Map<string, string>> {
  assertOid(commit, 'commit');
  if (firstParent !== null) assertOid(firstParent, 'commit');
  const sides = firstParent !== null ? ['--end-of-options', userArg(firstParent), userArg(commit)] : ['--root', '--end-of-options', userArg(commit)];
  const { stdout } = await runGit({ gitDir: repository.path, args: ['diff-tree', '-r', '-z', '--raw', '-M', '--no-abbrev', ...sides] });
  // output: (for one commit) the commit id, then the raw records
  const parts = stdout.toString('utf8').split('\0');
  const renames = new Map<string, string>();
  for (const file of parseRawRecords(parts, parts[0]?.startsWith(':') ? 0 : 1).files) {
    if (file.status === 'R' && file.oldPath) renames.set(file.oldPath, file.path);
  }
  return renames;
}

/** The blob at `path` in `commit`, or null when the commit has no regular file there. */
export async function blobAt(repository: Repository, commit: string, path: string): Promise<{ oid: string; mode: string } | null> {
  assertOid(commit, 'commit');
  assertSafeRepoPath(path);
  const { stdout } = await runGit({
    gitDir: repository.path,
    args: ['ls-tree', '-z', '--full-tree', '--end-of-options', userArg(commit), '--', userArg(path)],
  });
  for (const record of stdout.toString('utf8').split('\0')) {
    const tab = record.indexOf('\t');
    if (tab < 0) continue;
    const [mode, type, oid] = record.slice(0, tab).split(' ');
    if (record.slice(tab + 1) === path && type === 'blob' && oid) return { oid, mode: mode! };
  }
  return null;
}

function checkPage({ limit, skip }: Page): void {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new InvalidInputError(`The limit must be 1 to ${MAX_LIMIT}.`);
  if (!Number.isSafeInteger(skip) || skip < 0) throw new InvalidInputError('Skip must be zero or more.');
}

async function logWithFiles(repository: Repository, options: string[], commit: string, page: Page, paths: string[]): Promise<CommitWithFiles[]> {
  const { stdout } = await runGit({
    gitDir: repository.path,
    args: [
      'log', '-z', '--raw', '--no-abbrev', '--date=format:%z', FORMAT, ...options,
      `--max-count=${page.limit}`, `--skip=${page.skip}`,
      '--end-of-options', userArg(commit), '--', ...paths.map((p) => userArg(p)),
    ],
  });
  return parseLogWithFiles(stdout);
}

/**
 * Parses `git log -z --raw` output with FORMAT: the header fields, NUL-separated, then raw records
 * ":<old mode> <new mode> <old oid> <new oid> <status>" NUL <path> NUL [<new path> NUL for R/C]; the first
 * record of a commit starts with a newline. Headers are taken by position, so a subject starting with ':'
 * cannot be mistaken for a record.
 */
export function parseLogWithFiles(output: Buffer): CommitWithFiles[] {
  const parts = output.toString('utf8').split('\0');
  const commits: CommitWithFiles[] = [];
  let i = 0;
  while (i < parts.length) {
    if (parts[i] === '' || parts[i] === '\n') {
      i++;
      continue;
    }
    if (i + HEADER_FIELDS > parts.length) throw new Error('unexpected git log output');
    const [oid, tree, parents, name, email, seconds, timezone, subject] = parts.slice(i, i + HEADER_FIELDS);
    i += HEADER_FIELDS;
    const time = new Date(Number(seconds) * 1000);
    const { files, next } = parseRawRecords(parts, i);
    i = next;
    commits.push({
      oid: oid!,
      tree: tree!,
      parents: parents ? parents.split(' ') : [],
      author: { name: name!, email: email!, time, timezone: timezone! },
      subject: subject!,
      files,
    });
  }
  return commits;
}

/** Raw diff records starting at `parts[start]`, up to the first part that is not one. */
function parseRawRecords(parts: string[], start: number): { files: FileTouch[]; next: number } {
  const files: FileTouch[] = [];
  let i = start;
  while (i < parts.length && parts[i]!.replace(/^\n/, '').startsWith(':')) {
    const [oldMode, newMode, oldOid, newOid, rawStatus] = parts[i]!.replace(/^\n/, '').slice(1).split(' ');
    const letter = rawStatus?.[0];
    const twoPaths = letter === 'R' || letter === 'C';
    const first = parts[i + 1] ?? '';
    const second = twoPaths ? (parts[i + 2] ?? '') : null;
    i += twoPaths ? 3 : 2;
    const status = letter === 'A' || letter === 'C' ? 'A' : letter === 'D' ? 'D' : letter === 'R' ? 'R' : 'M';
    files.push({
      status,
      path: second ?? first,
      oldPath: letter === 'R' ? first : null,
      oldBlob: status === 'A' || oldOid === ZERO_OID ? null : (oldOid ?? null),
      newBlob: status === 'D' || newOid === ZERO_OID ? null : (newOid ?? null),
      mode: (status === 'D' ? oldMode : newMode) ?? '',
    });
  }
  return { files, next: i };
}

/** True when `commit` is `head` or one of its ancestors (so it is part of that branch's history). */
export async function isAncestor(repository: Repository, commit: string, head: string): Promise<boolean> {
  assertOid(commit, 'commit');
  assertOid(head, 'commit');
  const result = await runGit({
    gitDir: repository.path,
    args: ['merge-base', '--is-ancestor', '--end-of-options', userArg(commit), userArg(head)],
    okExitCodes: [0, 1],
  });
  return result.exitCode === 0;
}

/**
 * Where the file at `path` went by `head`: the path it has there after any renames, or `deleted` with the last
 * blob it had. Follows at most `maxHops` renames. One or two git calls per hop; callers check `head` first.
 */
export async function successorOf(
  repository: Repository,
  head: string,
  path: string,
  maxHops = 8,
): Promise<{ kind: 'present'; path: string } | { kind: 'deleted'; path: string; lastBlob: string | null }> {
  assertOid(head, 'commit');
  let current = path;
  for (let hop = 0; hop <= maxHops; hop++) {
    assertSafeRepoPath(current);
    if (await blobAt(repository, head, current)) return { kind: 'present', path: current };
    // the commit that last touched the path removed it: was it a rename?
    const [last] = await logWithFiles(repository, ['--no-renames', '--diff-merges=first-parent'], head, { limit: 1, skip: 0 }, [current]);
    const removal = last?.files.find((f) => f.path === current);
    if (!last || !removal) return { kind: 'deleted', path: current, lastBlob: null };
    const { stdout } = await runGit({
      gitDir: repository.path,
      args: ['diff-tree', '-r', '-z', '--raw', '-M', '--no-abbrev', '--root', '--end-of-options', userArg(last.oid)],
    });
    // output: the commit id, then its raw records
    const renamed = parseRawRecords(stdout.toString('utf8').split('\0'), 1).files.find((f) => f.status === 'R' && f.oldPath === current);
    if (!renamed) return { kind: 'deleted', path: current, lastBlob: removal.oldBlob };
    current = renamed.path;
  }
  return { kind: 'deleted', path: current, lastBlob: null };
}
