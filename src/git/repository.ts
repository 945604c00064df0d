import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ConflictError, InvalidInputError } from '../errors.ts';
import { CatFileBatch } from './cat-file.ts';
import { assertSafeRepoPath } from './paths.ts';
import { runGit, userArg } from './run.ts';
import { withWriteLock } from './write-lock.ts';

export const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const ZERO_OID = '0000000000000000000000000000000000000000';

export interface TreeEntry {
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  oid: string;
  /** Size in bytes for blobs, null otherwise. */
  size: number | null;
  path: string;
}

export interface Person {
  name: string;
  email: string;
  date?: Date;
}

export interface CommitInfo {
  oid: string;
  tree: string;
  parents: string[];
  author: { name: string; email: string; time: Date };
  committer: { name: string; email: string; time: Date };
  message: string;
}

export interface TreeChange {
  status: 'A' | 'M' | 'D';
  path: string;
  oldOid: string;
  newOid: string;
  oldMode: string;
  newMode: string;
}

export type FileChange = { path: string; content: Buffer | string } | { path: string; delete: true };

export interface CommitFilesInput {
  branch: string;
  /** The commit the change is based on; null when the branch must not exist yet. */
  expectedOld: string | null;
  /** 'patch' applies the changes on top of expectedOld; 'replace-all' makes them the whole tree. */
  mode: 'patch' | 'replace-all';
  changes: FileChange[];
  author: Person;
  committer?: Person;
  message: string;
}

const BRANCH = /^(?!.*\.\.)(?!.*\/\/)(?!.*@\{)(?!\/)(?!.*\/$)(?!.*\.lock$)[A-Za-z0-9._\/-]{1,200}$/;

/** Refuse branch names git would not accept, and any starting with `-`. */
export function assertBranchName(branch: string): void {
  userArg(branch, 'branch name');
  if (!BRANCH.test(branch) || branch.split('/').some((s) => s.startsWith('.'))) {
    throw new InvalidInputError(`invalid branch name ${JSON.stringify(branch)}`);
  }
}

/** Strip what could break out of an author header: angle brackets, newlines and control characters. */
function personEnv(prefix: 'AUTHOR' | 'COMMITTER', person: Person): Record<string, string> {
  const clean = (s: string) => s.replace(/[<>\0-\x1f\x7f]/g, '').trim() || 'unknown';
  const env: Record<string, string> = {
    [`GIT_${prefix}_NAME`]: clean(person.name),
    [`GIT_${prefix}_EMAIL`]: clean(person.email),
  };
  if (person.date) env[`GIT_${prefix}_DATE`] = `@${Math.floor(person.date.getTime() / 1000)} +0000`;
  return env;
}

/** A bare repository, read through one long-lived cat-file process and written without a work tree. */
export class Repository {
  private readonly objects: CatFileBatch;

  constructor(readonly path: string) {
    this.objects = new CatFileBatch(path);
  }

  /** Create a bare repository with safe defaults (objects are fsck-checked on receive). */
  static async create(path: string): Promise<Repository> {
    await mkdir(dirname(path), { recursive: true });
    await runGit({ args: ['init', '--quiet', '--bare', '--initial-branch=main', path] });
    const settings: [string, string][] = [
      ['receive.fsckObjects', 'true'],
      ['transfer.fsckObjects', 'true'],
      ['fetch.fsckObjects', 'true'],
      ['receive.denyNonFastForwards', 'true'],
      ['receive.denyDeletes', 'true'],
      ['core.logAllRefUpdates', 'always'],
    ];
    for (const [key, value] of settings) await runGit({ gitDir: path, args: ['config', key, value] });
    return new Repository(path);
  }

  /** The commit a ref or object id points to, or null when it does not exist. */
  async resolveCommit(ref: string): Promise<string | null> {
    userArg(ref, 'ref');
    const result = await runGit({
      gitDir: this.path,
      args: ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`],
      okExitCodes: [0, 1, 128],
    });
    return result.exitCode === 0 ? result.stdout.toString().trim() : null;
  }

  /** The head commit of a branch, or null. */
  headOf(branch: string): Promise<string | null> {
    assertBranchName(branch);
    return this.resolveCommit(`refs/heads/${branch}`);
  }

  /** The content of a blob. */
  async readBlob(oid: string): Promise<Buffer> {
    const object = await this.objects.read(oid);
    if (object.type !== 'blob') throw new InvalidInputError(`${oid} is a ${object.type}, not a blob`);
    return object.data;
  }

  /** A commit's tree, parents, author, committer and message. */
  async readCommit(oid: string): Promise<CommitInfo> {
    const object = await this.objects.read(oid);
    if (object.type !== 'commit') throw new InvalidInputError(`${oid} is a ${object.type}, not a commit`);
    return parseCommit(oid, object.data.toString('utf8'));
  }

  /** Every entry of a tree (recursively), with blob sizes. Symlinks (120000) and submodules (160000) keep their mode. */
  async listTree(treeish: string): Promise<TreeEntry[]> {
    userArg(treeish, 'tree');
    const { stdout } = await runGit({
      gitDir: this.path,
      args: ['ls-tree', '-r', '-z', '-l', '--full-tree', '--end-of-options', treeish],
    });
    const entries: TreeEntry[] = [];
    for (const record of stdout.toString('utf8').split('\0')) {
      if (!record) continue;
      const tab = record.indexOf('\t');
      const [mode, type, oid, size] = record.slice(0, tab).split(/ +/);
      entries.push({
        mode: mode!,
        type: type as TreeEntry['type'],
        oid: oid!,
        size: size === '-' || size === undefined ? null : Number(size),
        path: record.slice(tab + 1),
      });
    }
    return entries;
  }

  /** Files added, modified or deleted between two trees (or commits); null means the empty tree. */
  async diffTrees(from: string | null, to: string): Promise<TreeChange[]> {
    const { stdout } = await runGit({
      gitDir: this.path,
      args: ['diff-tree', '-r', '-z', '--no-renames', '--no-commit-id', '--end-of-options', userArg(from ?? EMPTY_TREE), userArg(to)],
    });
    const parts = stdout.toString('utf8').split('\0');
    const changes: TreeChange[] = [];
    for (let i = 0; i + 1 < parts.length; i += 2) {
      const meta = parts[i]!;
      if (!meta.startsWith(':')) break;
      const [oldMode, newMode, oldOid, newOid, status] = meta.slice(1).split(' ');
      changes.push({ status: status as TreeChange['status'], path: parts[i + 1]!, oldOid: oldOid!, newOid: newOid!, oldMode: oldMode!, newMode: newMode! });
    }
    return changes;
  }

  /** Commits reachable from `ref`, newest first, optionally only those touching `path`. */
  async log(ref: string, options: { path?: string; limit?: number; skip?: number } = {}): Promise<CommitInfo[]> {
    userArg(ref, 'ref');
    const args = ['log', '-z', '--format=%H%x1f%T%x1f%P%x1f%an%x1f%ae%x1f%at%x1f%cn%x1f%ce%x1f%ct%x1f%B', `--max-count=${options.limit ?? 50}`, `--skip=${options.skip ?? 0}`, '--end-of-options', ref];
    if (options.path) {
      assertSafeRepoPath(options.path);
      args.push('--', options.path);
    }
    const { stdout } = await runGit({ gitDir: this.path, args });
    return stdout
      .toString('utf8')
      .split('\0')
      .filter(Boolean)
      .map((record) => {
        const [oid, tree, parents, an, ae, at, cn, ce, ct, message] = record.split('\x1f');
        return {
          oid: oid!,
          tree: tree!,
          parents: parents ? parents.split(' ') : [],
          author: { name: an!, email: ae!, time: new Date(Number(at) * 1000) },
          committer: { name: cn!, email: ce!, time: new Date(Number(ct) * 1000) },
          message: message ?? '',
        };
      });
  }

  /**
   * Make one commit from file changes without a work tree: blobs are written in one batch, a temporary index
   * builds the tree, `commit-tree` makes the commit, and `update-ref NEW OLD` moves the branch only if it still
   * points at `expectedOld` (ConflictError otherwise, leaving the branch untouched). No commit is made when
   * the tree would not change.
   */
  async commitFiles(input: CommitFilesInput): Promise<{ commit: string | null; tree: string; changed: boolean }> {
    assertBranchName(input.branch);
    for (const change of input.changes) assertSafeRepoPath(change.path);
    return withWriteLock(this.path, () => this.commitFilesLocked(input));
  }

  private async commitFilesLocked(input: CommitFilesInput) {
    const ref = `refs/heads/${input.branch}`;
    const parent = input.expectedOld;
    const parentTree = parent ? (await this.readCommit(parent)).tree : null;
    const work = await mkdtemp(join(tmpdir(), 'docucommit-commit-'));
    const env = { GIT_INDEX_FILE: join(work, 'index') };
    try {
      if (input.mode === 'patch' && parentTree) {
        await runGit({ gitDir: this.path, args: ['read-tree', '--end-of-options', parentTree], env });
      }
      const writes = input.changes.filter((c): c is { path: string; content: Buffer | string } => !('delete' in c));
      const oids = await this.writeBlobs(work, writes.map((w) => w.content));
      const lines: string[] = [];
      writes.forEach((w, i) => lines.push(`100644 ${oids[i]}\t${w.path}`));
      for (const change of input.changes) if ('delete' in change) lines.push(`0 ${ZERO_OID}\t${change.path}`);
      if (lines.length > 0) {
        await runGit({ gitDir: this.path, args: ['update-index', '-z', '--index-info'], input: lines.join('\0') + '\0', env, timeoutMs: 120_000 });
      }
      const tree = (await runGit({ gitDir: this.path, args: ['write-tree'], env })).stdout.toString().trim();
      if (tree === parentTree) return { commit: parent, tree, changed: false };
      if (!parent && tree === EMPTY_TREE && input.changes.length === 0) return { commit: null, tree, changed: false };

      const commitEnv = { ...personEnv('AUTHOR', input.author), ...personEnv('COMMITTER', input.committer ?? input.author) };
      const parentArgs = parent ? ['-p', parent] : [];
      const commit = (
        await runGit({ gitDir: this.path, args: ['commit-tree', ...parentArgs, '--end-of-options', tree], input: input.message.endsWith('\n') ? input.message : input.message + '\n', env: commitEnv })
      ).stdout
        .toString()
        .trim();
      const moved = await runGit({
        gitDir: this.path,
        args: ['update-ref', '-m', firstLine(input.message), '--end-of-options', ref, commit, parent ?? ZERO_OID],
        okExitCodes: [0, 1, 128],
      });
      if (moved.exitCode !== 0) {
        const current = await this.resolveCommit(ref);
        throw new ConflictError(
          `the branch ${input.branch} moved to ${current?.slice(0, 12) ?? 'nothing'} since ${parent?.slice(0, 12) ?? 'the start'}; your change was not applied`,
        );
      }
      return { commit, tree, changed: true };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /** Write blobs in one `hash-object --stdin-paths` run over temporary files; returns their ids in order. */
  private async writeBlobs(work: string, contents: (Buffer | string)[]): Promise<string[]> {
    if (contents.length === 0) return [];
    const dir = join(work, 'blobs');
    await mkdir(dir);
    const files = contents.map((_, i) => join(dir, String(i)));
    const CHUNK = 256;
    for (let i = 0; i < contents.length; i += CHUNK) {
      await Promise.all(contents.slice(i, i + CHUNK).map((content, j) => writeFile(files[i + j]!, content)));
    }
    const { stdout } = await runGit({
      gitDir: this.path,
      args: ['hash-object', '-w', '--no-filters', '--stdin-paths'],
      input: files.join('\n') + '\n',
      timeoutMs: 120_000,
    });
    const oids = stdout.toString().trim().split('\n');
    if (oids.length !== contents.length) throw new Error(`hash-object returned ${oids.length} ids for ${contents.length} files`);
    return oids;
  }

  /** Stop the background cat-file process. */
  close(): Promise<void> {
    return this.objects.close();
  }
}

function firstLine(message: string): string {
  return (message.split('\n')[0] ?? '').slice(0, 200) || 'commit';
}

/** Parse a raw commit object. */
function parseCommit(oid: string, raw: string): CommitInfo {
  const split = raw.indexOf('\n\n');
  const headers = (split < 0 ? raw : raw.slice(0, split)).split('\n');
  const message = split < 0 ? '' : raw.slice(split + 2);
  let tree = '';
  const parents: string[] = [];
  const people: Record<string, { name: string; email: string; time: Date }> = {};
  for (const line of headers) {
    const space = line.indexOf(' ');
    const key = line.slice(0, space);
    const value = line.slice(space + 1);
    if (key === 'tree') tree = value;
    else if (key === 'parent') parents.push(value);
    else if (key === 'author' || key === 'committer') {
      const match = /^(.*) <(.*)> (\d+) [+-]\d{4}$/.exec(value);
      if (match) people[key] = { name: match[1]!, email: match[2]!, time: new Date(Number(match[3]) * 1000) };
    }
  }
  const unknown = { name: 'unknown', email: '', time: new Date(0) };
  return { oid, tree, parents, author: people.author ?? unknown, committer: people.committer ?? unknown, message };
}
