/**
 * The checks every push passes before receive-pack may move a ref. They run while the pushed objects are still
 * in quarantine (readable through the environment the pre-receive hook reported) and return one problem per
 * line, each naming the ref or file and what is wrong, for the pusher to read as `remote:` lines.
 *
 * What a change may do to documents (classifications, front matter, file types, sizes, paths) is decided by
 * changes/change-rules.ts, the same rules as for the browser editor; this file applies them to every new commit
 * of a push, on every ref (and protected main to what a push changes on main: changes/protected-main.ts), and adds
 * what only pushes have: ref names, deletions, tags, and limits on the pushed
 * objects (a pack that inflates to far more than it weighs, or trees that nest into billions of paths).
 */
import {
  changeProblems,
  fileProblem,
  MAX_FILE_BYTES,
  problemLines,
  reviewProblems,
  type ChangeRights,
  type DocumentChange,
} from '../changes/change-rules.ts';
import { PROPOSE_BY_PUSH_LINES } from '../changes/protected-main.ts';
import { classificationOf } from '../content/classification.ts';
import { isDocumentPath, isRegularFileMode } from '../content/document-path.ts';
import { PUBLISHED_REF } from '../content/published-branch.ts';
import type { Classification } from '../content/types.ts';
import { EMPTY_TREE, isOid, ZERO_OID } from './refs.ts';
import { runGit, userArg } from './run.ts';
import type { QuarantineEnv } from './smart-http.ts';
import { listQuarantine, newCommits, PushTrees, readObjects, type ExistingObjects, type NewCommit, type PushedObject } from './pushed-objects.ts';
import { diffTreeObjects, parseDiffTree, type TreeChange } from './tree-diff.ts';
import { parseTreeObject } from './tree-walk.ts';

export { MAX_FILE_BYTES };

/** A push bringing more new commits than this is refused (import large histories with `docucommit import`). */
export const MAX_NEW_COMMITS = 20_000;

/**
 * Limits on what one push may bring, checked before anything walks its history (an object bomb costs the
 * checks nothing): the number of new objects, their inflated size (the pack itself is capped at 100 MB, but
 * compressed objects and deltas can inflate a thousandfold), and the files one commit's tree expands to
 * (a few trees that each list the next one ten times make billions of paths).
 */
export interface PushLimits {
  maxObjects: number;
  maxInflatedBytes: number;
  maxTreeFiles: number;
}

export const PUSH_LIMITS: PushLimits = {
  maxObjects: 200_000,
  maxInflatedBytes: 1024 * 1024 * 1024,
  maxTreeFiles: 200_000,
};
/** The pushed trees are read at once up to this many bytes in all (a larger push reads them folder level by level). */
const PREFETCHED_TREE_BYTES = 16 * 1024 * 1024;
/** Folders nested deeper than this are refused (the tree walk reads one level per git call). */
const MAX_TREE_DEPTH = 64;

/** One ref update of a push, as receive-pack hands it to pre-receive. */
export interface RefUpdate {
  ref: string;
  oldOid: string;
  newOid: string;
}

/** A ref update that passed, with the number of files it changes (for the audit log). */
export interface CheckedUpdate extends RefUpdate {
  files: number;
  /** On the main branch: the documents whose classification the update changes (for the audit log). */
  reclassified?: { path: string; from: Classification; to: Classification }[];
}

export interface PushCheckInput extends ChangeRights {
  repoPath: string;
  env: QuarantineEnv;
  updates: RefUpdate[];
  /** May the pusher delete this branch (never asked for main or tags)? Without it, no deletion is allowed. */
  mayDelete?(ref: string): Promise<boolean>;
  /** Why this branch must stay (e.g. a change request's draft: nothing of it is ever lost), or null. */
  keepBranch?(ref: string): Promise<string | null>;
  maxFileBytes?: number;
  limits?: Partial<PushLimits>;
  /** The repository's reader of the objects it had before the push (spares a git process per folder read). */
  existing?: ExistingObjects;
}

export interface PushCheckResult {
  problems: string[];
  updates: CheckedUpdate[];
  /** An accepted push moving the published branch: what it changes there, for the link check after this one. */
  publishedDiff?: PublishedDiff;
}

/** The changes of an update of the published branch from `base` (its old commit), with the document blobs read. */
export interface PublishedDiff {
  base: string;
  changes: TreeChange[];
  /** Contents of the changed documents within the file size limit (old and new versions), by blob id. */
  blobs: ReadonlyMap<string, Buffer>;
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

/** Runs every check; an empty `problems` list means the push may be accepted. */
export async function checkPush(input: PushCheckInput): Promise<PushCheckResult> {
  const problems: string[] = [];
  const maxFileBytes = input.maxFileBytes ?? MAX_FILE_BYTES;
  const limits = { ...PUSH_LIMITS, ...input.limits };

  const live: RefUpdate[] = [];
  const deletions: CheckedUpdate[] = [];
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
      const kept = update.ref === PUBLISHED_REF || update.ref.startsWith('refs/tags/') ? null : ((await input.keepBranch?.(update.ref)) ?? null);
      if (update.ref === PUBLISHED_REF) problems.push(`${update.ref}: the main branch cannot be deleted`);
      else if (update.ref.startsWith('refs/tags/')) problems.push(`${update.ref}: deleting tags is not allowed`);
      else if (kept !== null) problems.push(`${update.ref}: ${kept}`);
      else if (!(await input.mayDelete?.(update.ref))) {
        problems.push(`${update.ref}: only the person who pushed this branch and owners may delete it`);
      } else deletions.push({ ...update, files: 0 });
      continue;
    }
    if (update.oldOid !== ZERO_OID && update.ref.startsWith('refs/tags/')) {
      problems.push(`${update.ref}: tags cannot be moved`);
      continue;
    }
    live.push(update);
  }
  if (live.length === 0) return { problems, updates: problems.length === 0 ? deletions : [] };

  // The pushed objects (the quarantine alone): their types and sizes, for the limits and the checks below.
  const pushed = await listQuarantine(input.repoPath, input.env, limits.maxObjects);

  // Branches point at commits, tags at commits or at tag objects of commits: never at a bare tree or blob,
  // whose files no check below would see.
  const kinds = await objectKinds(input.repoPath, input.env, live.map((u) => u.newOid), pushed);
  const pointing = live.filter((update) => {
    const kind = kinds.get(update.newOid);
    const ok = update.ref.startsWith('refs/tags/') ? (kind?.type === 'commit' || kind?.type === 'tag') && kind.peelsToCommit : kind?.type === 'commit';
    if (!ok) problems.push(`${update.ref}: ${update.ref.startsWith('refs/tags/') ? 'tags' : 'branches'} must point at a commit`);
    return ok;
  });
  if (pointing.length < live.length) return { problems, updates: [] };

  // Before walking anything: the pushed objects must be few and small enough.
  const bomb = objectBombProblem(pushed, limits);
  if (bomb) return { problems: [...problems, bomb], updates: [] };

  // Every commit the push brings (with its tree and parents), checked entry by entry below (also the
  // intermediate ones: history is served too).
  const brought = await newCommits(input.repoPath, input.env, pointing.map((u) => u.newOid), MAX_NEW_COMMITS + 1);
  if (brought.length > MAX_NEW_COMMITS) {
    problems.push(`this push brings more than ${MAX_NEW_COMMITS} new commits; ask an administrator to import the history instead`);
    return { problems, updates: [] };
  }
  const byOid = new Map(brought.map((c) => [c.oid, c]));
  // A branch moves forward only: its old commit must be an ancestor of the new one.
  const forward: RefUpdate[] = [];
  for (const update of pointing) {
    if (update.oldOid === ZERO_OID || (await isAncestor(input.repoPath, input.env, update, byOid))) forward.push(update);
    else problems.push(`${update.ref}: non-fast-forward update refused; fetch, merge or rebase, and push again`);
  }
  if (forward.length === 0) return { problems, updates: [] };
  const commits = forward.length === pointing.length ? brought : reachableWithin(forward.map((u) => u.newOid), byOid);

  const listed = typeof pushed === 'object' ? pushed : null;
  const trees = new PushTrees(input.repoPath, input.env, input.existing, listed);
  // the pushed trees in one read (a one-file push brings one per folder level), unless they are many megabytes
  const pushedTrees = [...(listed ?? [])].filter(([, object]) => object.type === 'tree');
  const prefetched = pushedTrees.reduce((sum, [, object]) => sum + object.size, 0) <= PREFETCHED_TREE_BYTES;
  if (prefetched) await trees.readMany(pushedTrees.map(([oid]) => oid));
  const tooLarge = await treeExpansionProblem(trees, commits, limits.maxTreeFiles);
  if (tooLarge) return { problems: [...problems, tooLarge], updates: [] };

  const treeOf = async (commit: string): Promise<string> => byOid.get(commit)?.tree ?? (await existingTreeOf(input, commit));
  // From the trees in memory; a push whose trees were too many megabytes to read at once asks git for each diff
  // (one process, not one per folder read).
  const diff = async (from: string, to: string): Promise<TreeChange[]> =>
    prefetched
      ? diffTreeObjects((oid) => trees.read(oid), from, to)
      : parseDiffTree(
          (
            await runGit({
              gitDir: input.repoPath,
              env: input.env,
              args: ['diff-tree', '-r', '-z', '--raw', '--no-renames', '--no-abbrev', '--end-of-options', userArg(from), userArg(to)],
              maxStdoutBytes: 512 * 1024 * 1024,
            })
          ).stdout,
        );
  // what `git diff-tree -r -m --root` says of each new commit: against each parent, a root commit against nothing
  const entries: TreeChange[] = [];
  for (const commit of commits) {
    if (commit.parents.length === 0) entries.push(...(await diff(EMPTY_TREE, commit.tree)));
    for (const parent of commit.parents) entries.push(...(await diff(await treeOf(parent), commit.tree)));
  }
  const reported = new Set<string>();
  const report = (line: string): void => {
    if (!reported.has(line)) problems.push(line);
    reported.add(line);
  };
  const newBlobs = new Map<string, string>();
  for (const entry of entries) {
    if (entry.status === 'D') continue;
    const issue = fileProblem({ path: entry.path, mode: entry.newMode });
    if (issue) report(`${entry.path}: ${issue}`);
    else if (!newBlobs.has(entry.newOid)) newBlobs.set(entry.newOid, entry.path);
  }
  const sizes = await objectSizes(input.repoPath, input.env, [...newBlobs.keys()], pushed);
  for (const [oid, path] of newBlobs) {
    const issue = fileProblem({ path, mode: '100644', size: sizes.get(oid) ?? 0 }, maxFileBytes);
    if (issue) report(`${path}: ${issue}`);
  }
  const small = (oid: string): boolean => (sizes.get(oid) ?? 0) <= maxFileBytes;

  // Every document version of every new commit, on any ref: the change rules (who may add, change, delete or
  // lower what). Content above the pusher's clearance never enters the repository, not even on a side branch,
  // where it would raise the classification needed to clone.
  const documentEntries = entries.filter((e) => isDocumentPath(e.path) && (e.status === 'D' || small(e.newOid)));
  // Files changed per ref, and on the main branch: valid front matter.
  const checked: CheckedUpdate[] = [];
  const mainChanges: TreeChange[] = [];
  let publishedDiff: PublishedDiff | undefined;
  for (const update of forward) {
    const base = update.oldOid !== ZERO_OID ? update.oldOid : ((await mainHead(input.repoPath, input.env)) ?? EMPTY_TREE);
    const changes = await diff(base === EMPTY_TREE ? EMPTY_TREE : await treeOf(base), await treeOf(update.newOid));
    checked.push({ ...update, files: changes.length });
    if (update.ref === PUBLISHED_REF) {
      mainChanges.push(...changes.filter((c) => isDocumentPath(c.path) && (c.status === 'D' || small(c.newOid))));
      publishedDiff = { base, changes, blobs: new Map() };
    }
  }
  const blobs = await readBlobs(input.repoPath, input.env, [
    ...new Set(
      [...documentEntries, ...mainChanges].flatMap((c) => [
        ...(c.status !== 'A' && isRegularFileMode(c.oldMode) ? [c.oldOid] : []),
        ...(c.status !== 'D' && isRegularFileMode(c.newMode) ? [c.newOid] : []),
      ]),
    ),
  ]);
  if (publishedDiff) publishedDiff.blobs = blobs;
  const documentChange = (c: TreeChange): DocumentChange => ({
    path: c.path,
    before: c.status !== 'A' && isRegularFileMode(c.oldMode) ? (blobs.get(c.oldOid)?.toString('utf8') ?? null) : null,
    after: c.status !== 'D' && isRegularFileMode(c.newMode) ? (blobs.get(c.newOid)?.toString('utf8') ?? null) : null,
  });
  for (const line of problemLines(changeProblems(input, documentEntries.map(documentChange), { publishedBranch: false }))) report(line);
  // on main also protected main (with `input.review`): documents that need review are proposed, not pushed. The
  // push that creates main (the first content of an empty project) is an import, like a folder import: not checked.
  const createsMain = forward.some((u) => u.ref === PUBLISHED_REF && u.oldOid === ZERO_OID);
  const mainProblems = changeProblems(createsMain ? { ...input, review: undefined } : input, mainChanges.map(documentChange), { publishedBranch: true });
  for (const line of problemLines(mainProblems)) report(line);
  if (reviewProblems(mainProblems).length > 0) for (const line of PROPOSE_BY_PUSH_LINES) report(line);
  // Reclassifications on main are audited as such (ref-audit.ts notePush), with the old and new classification.
  const main = checked.find((u) => u.ref === PUBLISHED_REF);
  if (main) {
    main.reclassified = mainChanges.map(documentChange).flatMap((c) => {
      if (c.before === null || c.after === null) return [];
      const from = classificationOf(c.before);
      const to = classificationOf(c.after);
      return from === to ? [] : [{ path: c.path, from, to }];
    });
  }
  if (problems.length > 0) return { problems, updates: [] };
  return { problems, updates: [...checked, ...deletions], ...(publishedDiff ? { publishedDiff } : {}) };
}

/**
 * Whether the update's old commit is an ancestor of its new one. Read from the new commits' parents when the old
 * commit is where they join the existing history (every fast-forward push of new commits); else asked of git.
 */
async function isAncestor(repoPath: string, env: QuarantineEnv, update: RefUpdate, brought: ReadonlyMap<string, NewCommit>): Promise<boolean> {
  if (brought.has(update.newOid)) {
    const seen = new Set<string>();
    const stack = [update.newOid];
    while (stack.length > 0) {
      const commit = brought.get(stack.pop()!);
      if (!commit || seen.has(commit.oid)) continue;
      seen.add(commit.oid);
      for (const parent of commit.parents) {
        if (parent === update.oldOid) return true;
        stack.push(parent);
      }
    }
  }
  const result = await runGit({
    gitDir: repoPath,
    env,
    args: ['merge-base', '--is-ancestor', '--end-of-options', userArg(update.oldOid), userArg(update.newOid)],
    okExitCodes: [0, 1],
  });
  return result.exitCode === 0;
}

/** The new commits reachable from `tips` (in the order of `brought`'s values). */
function reachableWithin(tips: readonly string[], brought: ReadonlyMap<string, NewCommit>): NewCommit[] {
  const seen = new Set<string>();
  const stack = [...tips];
  while (stack.length > 0) {
    const commit = brought.get(stack.pop()!);
    if (!commit || seen.has(commit.oid)) continue;
    seen.add(commit.oid);
    stack.push(...commit.parents);
  }
  return [...brought.values()].filter((c) => seen.has(c.oid));
}

/** The tree of a commit that was in the repository before the push. */
async function existingTreeOf(input: PushCheckInput, commit: string): Promise<string> {
  if (input.existing) return input.existing.treeOfCommit(commit);
  const result = await runGit({ gitDir: input.repoPath, env: input.env, args: ['rev-parse', '--verify', '--end-of-options', userArg(`${commit}^{tree}`)] });
  const tree = result.stdout.toString('ascii').trim();
  if (!isOid(tree)) throw new Error(`no tree for ${commit}`);
  return tree;
}

/** What each object is, and whether it peels to a commit (a tag of a tag of a commit does). */
async function objectKinds(
  repoPath: string,
  env: QuarantineEnv,
  oids: string[],
  pushed: Map<string, PushedObject> | 'too-many' | null,
): Promise<Map<string, { type: string; peelsToCommit: boolean }>> {
  const kinds = new Map<string, { type: string; peelsToCommit: boolean }>();
  // a pushed commit is known from the quarantine's listing; tags (what do they peel to?) and objects the
  // repository had before are asked of git
  const ask: string[] = [];
  for (const oid of oids) {
    const object = typeof pushed === 'object' ? pushed?.get(oid) : undefined;
    if (object?.type === 'commit') kinds.set(oid, { type: 'commit', peelsToCommit: true });
    else ask.push(oid);
  }
  if (ask.length === 0) return kinds;
  const { stdout } = await runGit({
    gitDir: repoPath,
    env,
    args: ['cat-file', '--batch-check=%(objecttype)'],
    input: ask.flatMap((oid) => [oid, `${oid}^{commit}`]).join('\n') + '\n',
  });
  const lines = stdout.toString('utf8').split('\n');
  ask.forEach((oid, index) => kinds.set(oid, { type: lines[2 * index]!.trim(), peelsToCommit: lines[2 * index + 1]!.trim() === 'commit' }));
  return kinds;
}

/** Too many pushed objects, or too large once inflated: a problem line, else null. */
function objectBombProblem(pushed: Map<string, PushedObject> | 'too-many' | null, limits: PushLimits): string | null {
  if (pushed === null) return null;
  if (pushed === 'too-many') return `this push brings more than ${limits.maxObjects} objects`;
  let bytes = 0;
  for (const object of pushed.values()) bytes += object.size;
  if (pushed.size > limits.maxObjects) return `this push brings ${pushed.size} objects, over the limit of ${limits.maxObjects}`;
  if (bytes > limits.maxInflatedBytes) return `this push inflates to ${megabytes(bytes)} MB, over the limit of ${megabytes(limits.maxInflatedBytes)} MB`;
  return null;
}

/**
 * Files listed by each tree (counted through shared folders, as git would list them), by tree id: the same tree
 * always lists the same files, so what one push counted spares the next one reading the folders it did not change.
 */
const fileCounts = new Map<string, number>();
const MAX_REMEMBERED_COUNTS = 200_000;

/**
 * Refuses commits whose tree lists more than `maxFiles` files (counted through shared folders, as git would
 * list them), before anything expands them: each distinct folder not counted before is read once, level by level.
 */
async function treeExpansionProblem(trees: PushTrees, commits: readonly NewCommit[], maxFiles: number): Promise<string | null> {
  if (commits.length === 0) return null;
  const roots = new Map<string, string>(); // root tree → a commit with it
  for (const commit of commits) roots.set(commit.tree, commit.oid);
  const children = new Map<string, { trees: string[]; files: number }>();
  let level = [...roots.keys()].filter((tree) => !fileCounts.has(tree));
  for (let depth = 0; level.length > 0; depth++) {
    if (depth > MAX_TREE_DEPTH) return `this push has folders nested more than ${MAX_TREE_DEPTH} levels deep`;
    const next = new Set<string>();
    for (const [oid, content] of await trees.readMany(level)) {
      const entries = parseTreeObject(content);
      const subtrees = entries.filter((e) => e.type === 'tree').map((e) => e.oid);
      children.set(oid, { trees: subtrees, files: entries.length - subtrees.length });
      for (const tree of subtrees) if (!children.has(tree) && !fileCounts.has(tree)) next.add(tree);
    }
    level = [...next];
  }
  const counted = new Map<string, number>();
  const files = (tree: string): number => {
    const known = counted.get(tree) ?? fileCounts.get(tree);
    if (known !== undefined) return known;
    const node = children.get(tree);
    let total = node?.files ?? 0;
    for (const child of node?.trees ?? []) total = Math.min(total + files(child), Number.MAX_SAFE_INTEGER);
    counted.set(tree, total);
    return total;
  };
  for (const [tree, commit] of roots) {
    if (files(tree) > maxFiles) return `commit ${commit} lists more than ${maxFiles} files`;
  }
  if (fileCounts.size + counted.size > MAX_REMEMBERED_COUNTS) fileCounts.clear();
  for (const [tree, count] of counted) fileCounts.set(tree, count);
  return null;
}

async function mainHead(repoPath: string, env: QuarantineEnv): Promise<string | null> {
  const result = await runGit({
    gitDir: repoPath,
    env,
    args: ['rev-parse', '--verify', '--quiet', `${PUBLISHED_REF}^{commit}`],
    okExitCodes: [0, 1],
  });
  const oid = result.stdout.toString('ascii').trim();
  return result.exitCode === 0 && isOid(oid) ? oid : null;
}

/** Sizes of objects: pushed ones from the quarantine's listing, others by `cat-file --batch-check`. */
async function objectSizes(repoPath: string, env: QuarantineEnv, oids: string[], pushed: Map<string, PushedObject> | 'too-many' | null): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  const ask: string[] = [];
  for (const oid of oids) {
    const object = typeof pushed === 'object' ? pushed?.get(oid) : undefined;
    if (object) sizes.set(oid, object.size);
    else ask.push(oid);
  }
  if (ask.length === 0) return sizes;
  const { stdout } = await runGit({ gitDir: repoPath, env, args: ['cat-file', '--batch-check'], input: `${ask.join('\n')}\n` });
  for (const line of stdout.toString('utf8').split('\n')) {
    const [oid, type, size] = line.split(' ');
    if (oid && type && size && isOid(oid)) sizes.set(oid, Number(size));
  }
  return sizes;
}

/** Contents of blobs (callers pass only blobs within the file size limit), read a few thousand at a time. */
async function readBlobs(repoPath: string, env: QuarantineEnv, oids: string[]): Promise<Map<string, Buffer>> {
  const blobs = new Map<string, Buffer>();
  for (let at = 0; at < oids.length; at += 2000) {
    for (const [oid, blob] of await readObjects(repoPath, env, oids.slice(at, at + 2000), 'blob')) blobs.set(oid, blob);
  }
  return blobs;
}

const megabytes = (bytes: number): string => (bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, '');
