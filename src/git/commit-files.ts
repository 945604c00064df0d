/**
 * Commits file changes without a work tree: blobs in one batch; the new tree built from the parent's by
 * rewriting only the folders along the changed paths (`mktree`, tree-build.ts), or for an import or a large
 * change through a temporary index (GIT_INDEX_FILE: `read-tree`, `update-index`, `write-tree`); `commit-tree`;
 * then a compare-and-swap `update-ref`. Nothing is ever checked
 * out, so no file system path, symlink or hook of a work tree is involved.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError } from '../errors.ts';
import { writeBlobs } from './blob-writer.ts';
import { readBranch, updateBranch } from './branch-update.ts';
import type { CommitInfo } from './commit-object.ts';
import { BranchMovedError } from './errors.ts';
import { identityEnv } from './identity.ts';
import type { Person } from './identity.ts';
import { assertSafeRepoPath } from './paths.ts';
import { assertBranchName, assertOid, EMPTY_TREE, ZERO_OID } from './refs.ts';
import { runGit, userArg } from './run.ts';
import { SUBMODULE_MODE, SYMLINK_MODE } from './tree-listing.ts';
import type { TreeWalker } from './tree-walk.ts';
import { buildTree } from './tree-build.ts';
import type { TreeEdit } from './tree-build.ts';

export type FileChange = { path: string; content: Buffer | string } | { path: string; delete: true };

export interface CommitFilesInput {
  branch: string;
  /** The commit the change is based on; null when the branch must not exist yet. */
  expectedOld: string | null;
  /**
   * With `expectedOld` null: the commit a new branch starts from (its first commit's parent), e.g. a draft
   * started from main. Without it a new branch starts with a root commit.
   */
  startFrom?: string;
  /**
   * A second parent (with `expectedOld`): the commit merges it into the branch, e.g. main merged into a draft
   * with its conflicts resolved. `changes` then take the branch's tree to the merged one.
   */
  mergeParent?: string;
  /** 'patch' applies the changes on top of expectedOld's tree; 'replace-all' makes the written files the whole tree. */
  mode: 'patch' | 'replace-all';
  changes: readonly FileChange[];
  author: Person;
  /** Defaults to the author (with the commit time). */
  committer?: Person;
  message: string;
  /**
   * Make the commit even when its tree equals the parent's (an empty commit: a review recorded in the history,
   * evidence/reviews.ts). Needs a parent.
   */
  allowEmpty?: boolean;
  /**
   * Called with the new commit after it is written and before the branch moves (under the write lock): the
   * place to note the coming move durably (ref-journal.ts). Throwing leaves the branch where it was.
   */
  beforeUpdate?: (commit: string) => Promise<void>;
}

export interface CommitFilesResult {
  /** The new commit; the parent when nothing changed; null when nothing changed on a branch that does not exist. */
  commit: string | null;
  tree: string;
  changed: boolean;
}

/** What commitFiles needs to read from the repository. */
export interface CommitReader {
  readCommit(oid: string): Promise<CommitInfo>;
  /** Looks up paths by reading tree objects (see tree-walk.ts). */
  treeWalker(): TreeWalker;
  /** The content of a tree object. */
  readTree(oid: string): Promise<Buffer>;
}

interface Write {
  path: string;
  content: Buffer | string;
}

const MAX_MESSAGE_BYTES = 64 * 1024;
/** Patch commits with up to this many changed paths rewrite only their folders (tree-build.ts); larger ones use an index. */
const MAX_TREE_EDITS = 1000;

/** Checks everything that does not need the repository; throws InvalidInputError naming the problem. */
export function validateCommitFilesInput(input: CommitFilesInput): { writes: Write[]; deletes: string[]; message: string } {
  assertBranchName(input.branch);
  if (input.expectedOld !== null) assertOid(input.expectedOld, 'base commit');
  if (input.startFrom !== undefined) {
    assertOid(input.startFrom, 'start commit');
    if (input.expectedOld !== null) throw new InvalidInputError('Only a new branch has a start commit.');
  }
  if (input.mergeParent !== undefined) {
    assertOid(input.mergeParent, 'merged commit');
    if (input.expectedOld === null) throw new InvalidInputError('Only an existing branch merges another commit.');
  }
  if (input.mode !== 'patch' && input.mode !== 'replace-all') throw new InvalidInputError('Unknown commit mode.');
  const changes: unknown = input.changes; // callers pass parsed input: checked, not trusted
  if (!Array.isArray(changes)) throw new InvalidInputError('Changes must be a list.');

  const writes: Write[] = [];
  const deletes: string[] = [];
  const seen = new Set<string>();
  for (const change of input.changes) {
    assertSafeRepoPath(change?.path);
    if (seen.has(change.path)) throw new InvalidInputError(`Path ${JSON.stringify(change.path)} is changed twice.`);
    seen.add(change.path);
    if ('delete' in change && change.delete === true) deletes.push(change.path);
    else if ('content' in change && (typeof change.content === 'string' || Buffer.isBuffer(change.content))) {
      writes.push({ path: change.path, content: change.content });
    } else throw new InvalidInputError(`Change of ${JSON.stringify(change.path)} has neither content nor delete.`);
  }
  const written = new Set(writes.map((w) => w.path));
  for (const { path } of writes) {
    for (const parent of ancestors(path)) {
      if (written.has(parent)) {
        throw new InvalidInputError(`Path ${JSON.stringify(path)} is inside ${JSON.stringify(parent)}, which is also written as a file.`);
      }
    }
  }
  return { writes, deletes, message: commitMessage(input.message) };
}

/** Makes the commit; the caller holds the repository's write lock and has validated the input. */
export async function commitFilesLocked(gitDir: string, reader: CommitReader, input: CommitFilesInput): Promise<CommitFilesResult> {
  const { writes, deletes, message } = validateCommitFilesInput(input);
  const now = new Date();
  // identities are checked before anything is written
  const commitEnv = {
    ...identityEnv('AUTHOR', input.author, now),
    ...identityEnv('COMMITTER', input.committer ?? { name: input.author.name, email: input.author.email }, now),
  };

  // fail fast on a stale base; updateBranch checks again atomically at the end
  const current = await readBranch(gitDir, input.branch);
  if (current !== input.expectedOld) throw new BranchMovedError(input.branch, input.expectedOld, current);
  const parent = input.expectedOld ?? input.startFrom ?? null;
  const parentTree = parent ? (await reader.readCommit(parent)).tree : null;

  const modes = new Map<string, string>();
  if (input.mode === 'patch' && parentTree) {
    for (const [path, mode] of await checkAgainstParent(reader.treeWalker(), parentTree, writes, deletes)) modes.set(path, mode);
  }

  const work = await mkdtemp(join(tmpdir(), 'docucommit-commit-'));
  try {
    const oids = await writeBlobs(gitDir, writes.map((w) => w.content), work);
    let tree: string;
    if (input.mode === 'patch' && writes.length + deletes.length <= MAX_TREE_EDITS) {
      // the usual save: only the folders along the changed paths are rewritten, with one `git mktree`
      const edits: TreeEdit[] = [
        ...writes.map((w, i) => ({ path: w.path, file: { mode: modes.get(w.path) ?? '100644', oid: oids[i]! } })),
        ...deletes.map((path) => ({ path, file: null })),
      ];
      tree = await buildTree(gitDir, parentTree, edits, reader.readTree);
    } else {
      // a whole tree (import) or a large change: a temporary index
      const env = { GIT_INDEX_FILE: join(work, 'index') };
      if (input.mode === 'patch' && parentTree) {
        await runGit({ gitDir, env, args: ['read-tree', '--end-of-options', userArg(parentTree)] });
      }
      const records = writes.map((w, i) => `${modes.get(w.path) ?? '100644'} ${oids[i]}\t${w.path}\0`);
      // in replace-all mode the index starts empty, so there is nothing to delete
      if (input.mode === 'patch') for (const path of deletes) records.push(`0 ${ZERO_OID}\t${path}\0`);
      if (records.length > 0) {
        await runGit({ gitDir, env, args: ['update-index', '-z', '--index-info'], input: records.join(''), timeoutMs: 120_000 });
      }
      tree = (await runGit({ gitDir, env, args: ['write-tree'] })).stdout.toString('ascii').trim();
    }

    // (a new branch started from a commit with nothing changed is not made: there would be nothing to propose)
    if (tree === parentTree && input.mergeParent === undefined && !(input.allowEmpty === true && parent)) return { commit: parent, tree, changed: false };
    if (!parent && tree === EMPTY_TREE) return { commit: null, tree, changed: false };

    // both parents are validated full ids (assertOid), safe before --end-of-options
    const parentArgs = parent ? ['-p', parent, ...(input.mergeParent ? ['-p', input.mergeParent] : [])] : [];
    const commit = (
      await runGit({
        gitDir,
        env: commitEnv,
        args: ['commit-tree', ...parentArgs, '-F', '-', '--end-of-options', userArg(tree)],
        input: message,
      })
    ).stdout
      .toString('ascii')
      .trim();
    await input.beforeUpdate?.(commit);
    await updateBranch(gitDir, input.branch, commit, input.expectedOld, message.split('\n', 1)[0]!);
    return { commit, tree, changed: true };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Refuses writes that would go through or replace something that is not a plain file in the parent tree
 * (a symlink, a submodule, a directory), and returns the mode each written file keeps (so 100755 stays).
 * Looks up only the changed paths (tree objects along each path), not the whole tree.
 */
async function checkAgainstParent(
  walker: TreeWalker,
  parentTree: string,
  writes: readonly Write[],
  deletes: readonly string[],
): Promise<Map<string, string>> {
  const deleted = new Set(deletes);
  for (const path of deletes) {
    const { entry } = await walker.lookup(parentTree, path);
    if (entry?.type === 'tree') throw new InvalidInputError(`Path ${JSON.stringify(path)} is a folder; delete its files instead.`);
  }
  const modes = new Map<string, string>();
  for (const { path } of writes) {
    const { entry: existing, blocker } = await walker.lookup(parentTree, path);
    if (existing?.mode === SYMLINK_MODE) throw new InvalidInputError(`Path ${JSON.stringify(path)} is a symbolic link; it cannot be edited.`);
    if (existing?.mode === SUBMODULE_MODE) throw new InvalidInputError(`Path ${JSON.stringify(path)} is a submodule; it cannot be edited.`);
    if (existing?.type === 'tree') throw new InvalidInputError(`Path ${JSON.stringify(path)} is a folder.`);
    // the nearest ancestor that is not a folder; when it is deleted by the same change, nothing is in the way
    if (blocker && !deleted.has(blocker.path)) {
      const what = blocker.mode === SYMLINK_MODE ? 'a symbolic link' : blocker.mode === SUBMODULE_MODE ? 'a submodule' : 'a file';
      throw new InvalidInputError(`Path ${JSON.stringify(path)} would go through ${JSON.stringify(blocker.path)}, which is ${what}.`);
    }
    if (existing?.mode === '100755') modes.set(path, '100755');
  }
  return modes;
}

/** "a/b/c.md" → ["a", "a/b"]. */
function ancestors(path: string): string[] {
  const result: string[] = [];
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) result.push(path.slice(0, i));
  return result;
}

/** Normalizes a commit message (LF line ends, no control characters, one final newline); refuses an empty one. */
function commitMessage(message: string): string {
  if (typeof message !== 'string') throw new InvalidInputError('A commit message is required.');
  const cleaned = message
    .replace(/\r\n?/g, '\n')
    .replace(/[\0-\x08\x0b-\x1f\x7f]/g, '')
    .replace(/[ \t]+$/gm, '')
    .trim();
  if (!cleaned) throw new InvalidInputError('A commit message is required.');
  if (Buffer.byteLength(cleaned) > MAX_MESSAGE_BYTES) throw new InvalidInputError('The commit message is too long.');
  return `${cleaned}\n`;
}
