/**
 * A bare repository: read through one long-lived `cat-file --batch` process, written without a work tree.
 * Every method validates user-derived refs, ids and paths before git starts.
 */
import { mergeBase, mergeLocked, mergeTrees, type MergeInput, type MergeOutcome, type TreeMerge } from './merge.ts';
import { resolve } from 'node:path';
import { InvalidInputError, NotFoundError } from '../errors.ts';
import { readBranch, readBranchWithGit } from './branch-update.ts';
import { CatFileBatch } from './cat-file.ts';
import type { CatFileOptions, GitObject } from './cat-file.ts';
import { commitFilesLocked, validateCommitFilesInput } from './commit-files.ts';
import type { CommitFilesInput, CommitFilesResult } from './commit-files.ts';
import { parseCommit } from './commit-object.ts';
import type { CommitInfo } from './commit-object.ts';
import { LOG_FORMAT_ARGS, parseLog } from './log.ts';
import type { LogEntry } from './log.ts';
import { assertSafeRepoPath } from './paths.ts';
import { assertBranchName, assertOid, assertRevision, EMPTY_TREE, isOid, refNameProblem } from './refs.ts';
import { createBareRepository } from './repository-setup.ts';
import { runGit, userArg } from './run.ts';
import { diffTreeObjects } from './tree-diff.ts';
import type { TreeChange } from './tree-diff.ts';
import { parseLsTree } from './tree-listing.ts';
import type { TreeEntry } from './tree-listing.ts';
import { TreeWalker } from './tree-walk.ts';
import type { PathEntry } from './tree-walk.ts';
import { maintainRepository } from './maintenance.ts';
import { withWriteLock, type HeldWriteLock } from './write-lock.ts';

export type { CommitFilesInput, CommitFilesResult, FileChange } from './commit-files.ts';
export type { CommitInfo, GitIdentity } from './commit-object.ts';
export type { Person } from './identity.ts';
export type { LogEntry } from './log.ts';
export type { TreeChange } from './tree-diff.ts';
export type { TreeEntry } from './tree-listing.ts';
export type { PathEntry } from './tree-walk.ts';
export { EMPTY_TREE } from './refs.ts';

export interface LogOptions {
  /** Only commits that touch this file. */
  path?: string;
  /** Follow the file across renames (needs `path`). */
  follow?: boolean;
  /** At most this many commits (default 50, at most 1000). */
  limit?: number;
  /** Only the first parent of each commit: the branch's own moves (a merged draft's commits are not listed). */
  firstParent?: boolean;
  skip?: number;
  /** Leave out commits reachable from this commit (`git log <ref> ^<exclude>`: a draft's own commits, not main's). */
  exclude?: string;
}

const MAX_LOG_LIMIT = 1000;
/** Every this many commits through commitFiles, `git gc --auto` runs (in the background, under the write lock). */
const COMMITS_PER_MAINTENANCE = 100;

/** One bare git repository on disk. */
export class Repository {
  /** Absolute path of the bare repository. */
  readonly path: string;
  readonly #objects: CatFileBatch;
  #commitsSinceMaintenance = 0;

  constructor(path: string, options: CatFileOptions = {}) {
    this.path = resolve(path);
    this.#objects = new CatFileBatch(this.path, options);
  }

  /** Creates and configures a bare repository on branch main (ConflictError if `path` exists). */
  static async create(path: string): Promise<Repository> {
    return new Repository(await createBareRepository(path));
  }

  /** The commit a ref, branch or commit id points to, or null when there is none. */
  async resolveCommit(ref: string): Promise<string | null> {
    // the common cases start no process: a branch's ref file, a full commit id read through cat-file
    if (ref.startsWith('refs/heads/') && refNameProblem(ref) === null && ref !== 'refs/heads/HEAD') {
      return this.headOf(ref.slice('refs/heads/'.length));
    }
    if (isOid(ref)) {
      const direct = await this.#directly(ref, 'commit');
      if (direct !== undefined) return direct;
    }
    return this.#resolve(ref, 'commit');
  }

  /** The head commit of `branch`, or null when the branch does not exist. */
  async headOf(branch: string): Promise<string | null> {
    assertBranchName(branch);
    const oid = await readBranch(this.path, branch);
    if (oid === null) return null;
    // the ref files are not peeled: a branch pointing at anything but a commit is left to git's rules
    const object = await this.#objects.read(oid);
    return object?.type === 'commit' ? oid : readBranchWithGit(this.path, branch);
  }

  /**
   * The entry at `path` (a validated repository path) in a commit's or tree's tree, given by full id, or null.
   * Reads only the tree objects along the path (no process, no full listing).
   */
  async entryAt(commitOrTree: string, path: string): Promise<PathEntry | null> {
    return this.entryReader()(commitOrTree, path);
  }

  /**
   * `entryAt` for the many lookups of one operation (keep it for that operation): each commit's tree and each tree
   * object is read and parsed once, where separate `entryAt` calls read the folders of every path again.
   */
  entryReader(): (commitOrTree: string, path: string) => Promise<PathEntry | null> {
    const walker = this.treeWalker();
    const trees = new Map<string, Promise<string>>();
    return async (commitOrTree, path) => {
      assertSafeRepoPath(path);
      let tree = trees.get(commitOrTree);
      if (!tree) {
        tree = this.#treeOf(commitOrTree);
        trees.set(commitOrTree, tree);
      }
      return (await walker.lookup(await tree, path)).entry;
    };
  }

  /** A walker over this repository's tree objects (keep it for one operation: it remembers the trees it read). */
  treeWalker(): TreeWalker {
    return new TreeWalker(async (oid) => (await this.#readObject(oid, 'tree')).content);
  }

  /** The content of a tree object (entries as `parseTreeObject` reads them). */
  async readTree(oid: string): Promise<Buffer> {
    return (await this.#readObject(oid, 'tree')).content;
  }

  /** The content of a blob. Any object id in the repository can be read: callers authorize first. */
  async readBlob(oid: string): Promise<Buffer> {
    return (await this.#readObject(oid, 'blob')).content;
  }

  /** A commit's tree, parents, author, committer and message. */
  async readCommit(oid: string): Promise<CommitInfo> {
    return parseCommit(oid, (await this.#readObject(oid, 'commit')).content);
  }

  /**
   * Every file of a commit's or tree's tree, recursively, with blob sizes. Symlinks (120000) and submodules
   * (160000) are listed with their mode so callers can skip them.
   */
  async listTree(commitOrTree: string): Promise<TreeEntry[]> {
    const tree = await this.#treeOf(commitOrTree);
    const { stdout } = await runGit({
      gitDir: this.path,
      args: ['ls-tree', '-r', '-z', '-l', '--full-tree', '--end-of-options', userArg(tree)],
    });
    return parseLsTree(stdout);
  }

  /** Files added, modified or deleted from `oldTree` (null: the empty tree) to `newTree`; commits name their trees. */
  async diffTrees(oldTree: string | null, newTree: string): Promise<TreeChange[]> {
    const from = oldTree === null ? EMPTY_TREE : await this.#treeOf(oldTree);
    const to = await this.#treeOf(newTree);
    // read from the tree objects through cat-file: no process (a publish after each save and push)
    return diffTreeObjects(async (oid) => (await this.#readObject(oid, 'tree')).content, from, to);
  }

  /** Commits reachable from `ref`, newest first; with `path`, only those that changed that file. */
  async log(ref: string, options: LogOptions = {}): Promise<LogEntry[]> {
    const limit = options.limit ?? 50;
    const skip = options.skip ?? 0;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LOG_LIMIT) throw new InvalidInputError(`The limit must be 1 to ${MAX_LOG_LIMIT}.`);
    if (!Number.isSafeInteger(skip) || skip < 0) throw new InvalidInputError('Skip must be zero or more.');
    if (options.path !== undefined) assertSafeRepoPath(options.path);
    if (options.follow && options.path === undefined) throw new InvalidInputError('Following renames needs a path.');
    const commit = await this.#resolveOrThrow(ref, 'commit');
    const exclude = options.exclude === undefined ? null : await this.#resolveOrThrow(options.exclude, 'commit');
    const args = ['log', ...LOG_FORMAT_ARGS, `--max-count=${limit}`, `--skip=${skip}`];
    if (options.follow) args.push('--follow');
    if (options.firstParent) args.push('--first-parent');
    const { stdout } = await runGit({
      gitDir: this.path,
      args: [...args, '--end-of-options', userArg(commit), ...(exclude ? [userArg(`^${exclude}`)] : []), '--', ...(options.path !== undefined ? [userArg(options.path)] : [])],
    });
    return parseLog(stdout);
  }

  /**
   * Merges `input.theirs` into `input.branch` with a merge commit (three-way, no work tree), under the write lock,
   * if the branch is still at `input.expectedOld`. Conflicts move nothing and are returned by path.
   */
  async mergeInto(input: MergeInput, held?: HeldWriteLock): Promise<MergeOutcome> {
    return withWriteLock(this.path, () => mergeLocked(this.path, input), held);
  }

  /** The names of the repository's branches (at most `limit`), in name order. */
  async listBranches(limit = 200): Promise<string[]> {
    const result = await runGit({ gitDir: this.path, args: ['for-each-ref', `--count=${limit}`, '--format=%(refname:strip=2)', 'refs/heads/'] });
    return result.stdout.toString('utf8').split('\n').filter((name) => name !== '');
  }

  /** The best common ancestor of two commits (full ids), or null. */
  async mergeBase(a: string, b: string): Promise<string | null> {
    return mergeBase(this.path, a, b);
  }

  /** The sizes of objects (full ids) in bytes, by one `cat-file --batch-check`; missing objects are left out. */
  async objectSizes(oids: readonly string[]): Promise<Map<string, number>> {
    const sizes = new Map<string, number>();
    const wanted = [...new Set(oids)];
    for (const oid of wanted) assertOid(oid);
    if (wanted.length === 0) return sizes;
    const { stdout } = await runGit({ gitDir: this.path, args: ['cat-file', '--batch-check'], input: `${wanted.join('\n')}\n` });
    for (const line of stdout.toString('utf8').split('\n')) {
      const [oid, type, size] = line.split(' ');
      if (oid && type && type !== 'missing' && size && isOid(oid)) sizes.set(oid, Number(size));
    }
    return sizes;
  }

  /** A three-way merge of two commits, computed only (tree objects written, nothing moves). */
  async tryMerge(ours: string, theirs: string): Promise<TreeMerge> {
    return mergeTrees(this.path, ours, theirs);
  }

  /**
   * Commits `changes` to `branch` without a work tree, only if the branch still points at `expectedOld`
   * (BranchMovedError, a ConflictError, otherwise; the branch is left unchanged). No commit when the tree would
   * not change. Writers in this process take turns per repository.
   */
  async commitFiles(input: CommitFilesInput, held?: HeldWriteLock): Promise<CommitFilesResult> {
    validateCommitFilesInput(input);
    const result = await withWriteLock(
      this.path,
      () =>
        commitFilesLocked(this.path, {
          readCommit: (oid) => this.readCommit(oid),
          treeWalker: () => this.treeWalker(),
          readTree: async (oid) => (await this.#readObject(oid, 'tree')).content,
        }, input),
      held,
    );
    if (result.changed && ++this.#commitsSinceMaintenance >= COMMITS_PER_MAINTENANCE) {
      this.#commitsSinceMaintenance = 0;
      // loose objects of many small commits get packed; a failure here loses nothing and is retried later
      void maintainRepository(this.path).catch(() => {});
    }
    return result;
  }

  /** Stops the background cat-file process. */
  close(): Promise<void> {
    return this.#objects.close();
  }

  async #readObject(oid: string, type: GitObject['type']): Promise<GitObject> {
    assertOid(oid);
    const object = await this.#objects.read(oid);
    if (!object) throw new NotFoundError(`No ${type} ${oid}.`);
    if (object.type !== type) throw new NotFoundError(`Object ${oid} is a ${object.type}, not a ${type}.`);
    return object;
  }

  /** The tree of a commit or tree id (through cat-file, no process), or of any other revision (rev-parse). */
  async #treeOf(commitOrTree: string): Promise<string> {
    if (commitOrTree === EMPTY_TREE) return EMPTY_TREE;
    if (isOid(commitOrTree)) {
      const direct = await this.#directly(commitOrTree, 'tree');
      if (direct === null) throw new NotFoundError(`No tree ${JSON.stringify(commitOrTree)}.`);
      if (direct !== undefined) return direct;
    }
    return this.#resolveOrThrow(commitOrTree, 'tree');
  }

  /**
   * A full object id as a `type` (a commit's tree for 'tree'), read through cat-file: null when there is no such
   * object or it cannot be one, undefined when git's peeling rules are needed (a tag): ask rev-parse then.
   */
  async #directly(oid: string, type: 'commit' | 'tree'): Promise<string | null | undefined> {
    const object = await this.#objects.read(oid);
    if (!object) return null;
    if (object.type === 'tag') return undefined;
    if (object.type === type) return oid;
    if (type === 'tree' && object.type === 'commit') return parseCommit(oid, object.content).tree;
    return null;
  }

  async #resolve(ref: string, type: 'commit' | 'tree'): Promise<string | null> {
    assertRevision(ref);
    const result = await runGit({
      gitDir: this.path,
      args: ['rev-parse', '--verify', '--quiet', '--end-of-options', userArg(`${ref}^{${type}}`)],
      okExitCodes: [0, 1],
    });
    const oid = result.stdout.toString('ascii').trim();
    return result.exitCode === 0 && isOid(oid) ? oid : null;
  }

  async #resolveOrThrow(ref: string, type: 'commit' | 'tree'): Promise<string> {
    const oid = await this.#resolve(ref, type);
    if (!oid) throw new NotFoundError(`No ${type} ${JSON.stringify(ref)}.`);
    return oid;
  }
}
