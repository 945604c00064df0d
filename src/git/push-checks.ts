/**
 * The checks every push passes before receive-pack may move a ref. They run while the pushed objects are still
 * in quarantine (readable through the environment the pre-receive hook reported) and return one problem per
 * line, each naming the ref or file and what is wrong, for the pusher to read as `remote:` lines.
 */
import { parseFrontMatter } from '../content/front-matter.ts';
import type { Classification } from '../content/types.ts';
import { repoPathProblem } from './paths.ts';
import { EMPTY_TREE, isOid, ZERO_OID } from './refs.ts';
import { runGit, userArg } from './run.ts';
import type { QuarantineEnv } from './smart-http.ts';
import { parseDiffTree, type TreeChange } from './tree-diff.ts';

/** The branch whose documents must be valid (the published branch). */
export const CHECKED_BRANCH = 'refs/heads/main';
/** Largest file a push may add. */
export const MAX_FILE_BYTES = 5 * 1024 * 1024;
/** A push bringing more new commits than this is refused (import large histories with `docucommit import`). */
export const MAX_NEW_COMMITS = 20_000;

/** One ref update of a push, as receive-pack hands it to pre-receive. */
export interface RefUpdate {
  ref: string;
  oldOid: string;
  newOid: string;
}

/** A ref update that passed, with the number of files it changes (for the audit log). */
export interface CheckedUpdate extends RefUpdate {
  files: number;
}

export interface PushCheckInput {
  repoPath: string;
  env: QuarantineEnv;
  updates: RefUpdate[];
  /** May the pusher change (edit, add or delete) a document of this classification? */
  mayChange(classification: Classification): boolean;
  /** May the pusher lower a document's classification from `from` to `to`? */
  mayDeclassify(from: Classification, to: Classification): boolean;
  maxFileBytes?: number;
}

export interface PushCheckResult {
  problems: string[];
  updates: CheckedUpdate[];
}

/** Parses pre-receive's stdin: one "<old> <new> <ref>" line per update. Throws on anything else. */
export function parseRefUpdates(text: string): RefUpdate[] {
  const updates: RefUpdate[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const match = /^([0-9a-f]{40}) ([0-9a-f]{40}) (.+)$/.exec(line);
    if (!match) throw new Error('unexpected pre-receive input');
    updates.push({ oldOid: match[1]!, newOid: match[2]!, ref: match[3]! });
  }
  return updates;
}

/** Why a pushed ref name is refused, or null. Only branches and tags, and no name part may start with "-". */
export function refProblem(ref: string): string | null {
  if (!/^refs\/(heads|tags)\/./.test(ref)) return 'only branches (refs/heads/...) and tags (refs/tags/...) can be pushed';
  if (ref.split('/').some((part) => part.startsWith('-'))) return 'ref names must not start with "-"';
  if (/[\0-\x20\x7f\\]/.test(ref)) return 'ref names must not contain spaces, control characters or backslashes';
  return null;
}

const ORDER: readonly Classification[] = ['public', 'internal', 'confidential', 'restricted'];
const isDocumentPath = (path: string): boolean => /\.md$/i.test(path) && !path.startsWith('-/');
const isRegularFile = (mode: string): boolean => mode === '100644' || mode === '100755';

/** Runs every check; an empty `problems` list means the push may be accepted. */
export async function checkPush(input: PushCheckInput): Promise<PushCheckResult> {
  const problems: string[] = [];
  const git = (args: Parameters<typeof runGit>[0]['args'], extra: Partial<Parameters<typeof runGit>[0]> = {}) =>
    runGit({ gitDir: input.repoPath, env: input.env, args, ...extra });
  const maxFileBytes = input.maxFileBytes ?? MAX_FILE_BYTES;

  const live: RefUpdate[] = [];
  for (const update of input.updates) {
    const refIssue = refProblem(update.ref);
    if (refIssue) {
      problems.push(`${update.ref}: ${refIssue}`);
      continue;
    }
    if (!isOid(update.oldOid) || !isOid(update.newOid)) {
      problems.push(`${update.ref}: unexpected object id`);
      continue;
    }
    if (update.newOid === ZERO_OID) {
      problems.push(
        update.ref === CHECKED_BRANCH ? `${update.ref}: the main branch cannot be deleted` : `${update.ref}: deleting branches and tags is not allowed`,
      );
      continue;
    }
    if (update.oldOid !== ZERO_OID) {
      if (update.ref.startsWith('refs/tags/')) {
        problems.push(`${update.ref}: tags cannot be moved`);
        continue;
      }
      const ancestor = await git(['merge-base', '--is-ancestor', '--end-of-options', userArg(update.oldOid), userArg(update.newOid)], {
        okExitCodes: [0, 1],
      });
      if (ancestor.exitCode !== 0) {
        problems.push(`${update.ref}: non-fast-forward update refused; fetch, merge or rebase, and push again`);
        continue;
      }
    }
    live.push(update);
  }
  if (live.length === 0) return { problems, updates: [] };

  // Every commit the push brings, checked entry by entry (also the intermediate ones: history is served too).
  const revList = await git(['rev-list', `--max-count=${MAX_NEW_COMMITS + 1}`, '--not', '--all', '--not', '--end-of-options', ...live.map((u) => userArg(u.newOid))]);
  const commits = revList.stdout.toString('ascii').split('\n').filter(isOid);
  if (commits.length > MAX_NEW_COMMITS) {
    problems.push(`this push brings more than ${MAX_NEW_COMMITS} new commits; ask an administrator to import the history instead`);
    return { problems, updates: [] };
  }
  const entries: TreeChange[] =
    commits.length === 0
      ? []
      : parseDiffTree(
          (
            await git(['diff-tree', '--stdin', '-r', '-z', '--raw', '--no-renames', '--no-abbrev', '--root', '-m', '--no-commit-id'], {
              input: `${commits.join('\n')}\n`,
            })
          ).stdout,
        );
  const reported = new Set<string>();
  const report = (path: string, problem: string): void => {
    const line = `${path}: ${problem}`;
    if (!reported.has(line)) problems.push(line);
    reported.add(line);
  };
  const blobPaths = new Map<string, string>();
  let sizes = new Map<string, number>();
  for (const entry of entries) {
    if (entry.status === 'D') continue;
    const pathIssue = repoPathProblem(entry.path);
    if (pathIssue) report(entry.path, `invalid file name: ${pathIssue}`);
    if (entry.newMode === '120000') report(entry.path, 'symbolic links are not allowed');
    else if (entry.newMode === '160000') report(entry.path, 'submodules are not allowed');
    else if (!blobPaths.has(entry.newOid)) blobPaths.set(entry.newOid, entry.path);
  }
  if (blobPaths.size > 0) {
    sizes = await objectSizes(input.repoPath, input.env, [...blobPaths.keys()]);
    for (const [oid, path] of blobPaths) {
      const size = sizes.get(oid) ?? 0;
      if (size > maxFileBytes) report(path, `file is ${megabytes(size)} MB, over the ${megabytes(maxFileBytes)} MB limit`);
    }
  }

  // Files changed per ref, and on the main branch: valid front matter and classification rights.
  const checked: CheckedUpdate[] = [];
  for (const update of live) {
    const base = update.oldOid !== ZERO_OID ? update.oldOid : ((await mainHead(input.repoPath, input.env)) ?? EMPTY_TREE);
    const changes = parseDiffTree(
      (await git(['diff-tree', '-r', '-z', '--raw', '--no-renames', '--no-abbrev', '--end-of-options', userArg(base), userArg(update.newOid)])).stdout,
    );
    checked.push({ ...update, files: changes.length });
    const small = changes.filter((c) => (sizes.get(c.newOid) ?? 0) <= maxFileBytes);
    if (update.ref === CHECKED_BRANCH) problems.push(...(await checkDocuments(input, small)));
  }
  return { problems, updates: problems.length === 0 ? checked : [] };
}

async function checkDocuments(input: PushCheckInput, changes: TreeChange[]): Promise<string[]> {
  const problems: string[] = [];
  const documents = changes.filter((c) => isDocumentPath(c.path));
  const wanted = new Set<string>();
  for (const change of documents) {
    if (change.status !== 'A' && isRegularFile(change.oldMode)) wanted.add(change.oldOid);
    if (change.status !== 'D' && isRegularFile(change.newMode)) wanted.add(change.newOid);
  }
  const blobs = await readBlobs(input.repoPath, input.env, [...wanted]);
  const classificationOf = (oid: string): Classification | null => {
    const source = blobs.get(oid);
    if (source === undefined) return null;
    // an unreadable header counts as restricted, as when publishing: fail closed
    return parseFrontMatter('', source.toString('utf8')).data?.classification ?? 'restricted';
  };
  for (const change of documents) {
    const before = change.status !== 'A' ? classificationOf(change.oldOid) : null;
    let after: Classification | null = null;
    if (change.status !== 'D') {
      const source = blobs.get(change.newOid);
      if (source !== undefined) {
        const parsed = parseFrontMatter(change.path, source.toString('utf8'));
        for (const error of parsed.errors) problems.push(`${error.file}:${error.line}: ${error.message}`);
        after = parsed.data?.classification ?? 'restricted';
      }
    }
    for (const classification of [before, after]) {
      if (classification !== null && !input.mayChange(classification)) {
        problems.push(`${change.path}: your role may not change a document classified ${classification}`);
        break;
      }
    }
    if (before !== null && after !== null && ORDER.indexOf(after) < ORDER.indexOf(before) && !input.mayDeclassify(before, after)) {
      problems.push(`${change.path}: your role may not lower the classification from ${before} to ${after}`);
    }
  }
  return problems;
}

async function mainHead(repoPath: string, env: QuarantineEnv): Promise<string | null> {
  const result = await runGit({
    gitDir: repoPath,
    env,
    args: ['rev-parse', '--verify', '--quiet', `${CHECKED_BRANCH}^{commit}`],
    okExitCodes: [0, 1],
  });
  const oid = result.stdout.toString('ascii').trim();
  return result.exitCode === 0 && isOid(oid) ? oid : null;
}

/** Sizes of objects, by `cat-file --batch-check`. */
async function objectSizes(repoPath: string, env: QuarantineEnv, oids: string[]): Promise<Map<string, number>> {
  const { stdout } = await runGit({ gitDir: repoPath, env, args: ['cat-file', '--batch-check'], input: `${oids.join('\n')}\n` });
  const sizes = new Map<string, number>();
  for (const line of stdout.toString('utf8').split('\n')) {
    const [oid, type, size] = line.split(' ');
    if (oid && type && size && isOid(oid)) sizes.set(oid, Number(size));
  }
  return sizes;
}

/** Contents of blobs (callers pass only blobs within the file size limit). */
async function readBlobs(repoPath: string, env: QuarantineEnv, oids: string[]): Promise<Map<string, Buffer>> {
  const blobs = new Map<string, Buffer>();
  if (oids.length === 0) return blobs;
  const { stdout } = await runGit({ gitDir: repoPath, env, args: ['cat-file', '--batch'], input: `${oids.join('\n')}\n` });
  let at = 0;
  while (at < stdout.length) {
    const newline = stdout.indexOf(0x0a, at);
    if (newline < 0) break;
    const [oid, type, sizeText] = stdout.subarray(at, newline).toString('utf8').split(' ');
    at = newline + 1;
    if (type === 'missing' || !oid || sizeText === undefined) continue;
    const size = Number(sizeText);
    if (type === 'blob') blobs.set(oid, stdout.subarray(at, at + size));
    at += size + 1;
  }
  return blobs;
}

const megabytes = (bytes: number): string => (bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, '');
