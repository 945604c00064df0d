/**
 * The objects of a push as the checks read them (push-checks.ts), with as few git processes as possible: on a
 * large repository each one costs 10–15 ms to start, and a push used to start thirteen before its refs moved.
 *
 * - one listing of the quarantine (receive-pack's folder of the pushed objects, no alternates): type and size of
 *   every new object, which is also what the limits on a push are checked against;
 * - one `rev-list` for the new commits with their trees and parents;
 * - one read of every new tree; trees that already were in the repository come from the repository's long-lived
 *   reader when the caller gives one (`existing`), else from a `cat-file` of the quarantine environment, which
 *   sees both.
 */
import { EMPTY_TREE, isOid } from './refs.ts';
import { runGit, userArg } from './run.ts';
import type { QuarantineEnv } from './smart-http.ts';

const MAX_KEPT_TREE_BYTES = 64 * 1024 * 1024;

/** Reads objects that were in the repository before the push (a long-lived `cat-file`, see Repository). */
export interface ExistingObjects {
  readTree(oid: string): Promise<Buffer>;
  /** The tree of an existing commit. */
  treeOfCommit(oid: string): Promise<string>;
}

export interface PushedObject {
  type: string;
  size: number;
}

/** A new commit of the push, in `rev-list` order (newest first). */
export interface NewCommit {
  oid: string;
  tree: string;
  parents: string[];
}

/** The quarantine's objects by id, or null when the environment names no quarantine (a check outside a push). */
export async function listQuarantine(repoPath: string, env: QuarantineEnv, maxObjects: number): Promise<Map<string, PushedObject> | 'too-many' | null> {
  const quarantine = env.GIT_OBJECT_DIRECTORY;
  if (!quarantine) return null;
  // only the quarantined (new) objects: no alternates, so the repository's own objects are not listed
  const { stdout } = await runGit({
    gitDir: repoPath,
    env: { GIT_OBJECT_DIRECTORY: quarantine },
    args: ['cat-file', '--batch-all-objects', '--unordered', '--batch-check=%(objectname) %(objecttype) %(objectsize)'],
    // a line is at most ~70 bytes: the listing of the largest allowed push fits
    maxStdoutBytes: maxObjects * 72 + 1024,
  }).catch(() => ({ stdout: null }));
  if (stdout === null) return 'too-many';
  const objects = new Map<string, PushedObject>();
  for (const line of stdout.toString('ascii').split('\n')) {
    if (line === '') continue;
    const [oid, type, size] = line.split(' ');
    if (!isOid(oid) || !type || size === undefined) throw new Error('unexpected git cat-file output');
    objects.set(oid, { type, size: Number(size) });
  }
  return objects;
}

/** The commits reachable from `tips` and from no ref, at most `max` (one more tells the caller there are more). */
export async function newCommits(repoPath: string, env: QuarantineEnv, tips: readonly string[], max: number): Promise<NewCommit[]> {
  if (tips.length === 0) return [];
  const { stdout } = await runGit({
    gitDir: repoPath,
    env,
    args: ['rev-list', '--no-commit-header', '--format=%H %T %P', `--max-count=${max}`, '--not', '--all', '--not', '--end-of-options', ...tips.map(userArg)],
  });
  const commits: NewCommit[] = [];
  for (const line of stdout.toString('ascii').split('\n')) {
    if (line === '') continue;
    const [oid, tree, ...parents] = line.split(' ');
    if (!isOid(oid) || !isOid(tree) || !parents.every(isOid)) throw new Error('unexpected git rev-list output');
    commits.push({ oid, tree, parents });
  }
  return commits;
}

/** Contents of objects of one type through `cat-file --batch` (missing and other types left out). */
export async function readObjects(repoPath: string, env: QuarantineEnv, oids: readonly string[], type: string): Promise<Map<string, Buffer>> {
  const objects = new Map<string, Buffer>();
  if (oids.length === 0) return objects;
  const { stdout } = await runGit({ gitDir: repoPath, env, args: ['cat-file', '--batch'], input: `${oids.join('\n')}\n`, maxStdoutBytes: 512 * 1024 * 1024 });
  let at = 0;
  while (at < stdout.length) {
    const newline = stdout.indexOf(0x0a, at);
    if (newline < 0) break;
    const [oid, kind, sizeText] = stdout.subarray(at, newline).toString('utf8').split(' ');
    at = newline + 1;
    if (kind === 'missing' || !oid || sizeText === undefined) continue;
    const size = Number(sizeText);
    if (kind === type) objects.set(oid, stdout.subarray(at, at + size));
    at += size + 1;
  }
  return objects;
}

/**
 * Trees of a push: the new ones read at once, the others from `existing` (or a `cat-file` each level when there
 * is none). Every tree read is kept for the rest of the check.
 */
export class PushTrees {
  readonly #trees = new Map<string, Buffer>();
  #bytes = 0;

  constructor(
    private readonly repoPath: string,
    private readonly env: QuarantineEnv,
    private readonly existing: ExistingObjects | undefined,
    /** The quarantine's listing: its trees are read from there (the repository's reader does not see them). */
    private readonly pushed: ReadonlyMap<string, PushedObject> | null,
  ) {}

  /** These trees (known ones from memory, the others read by one process); missing ones are left out. */
  async readMany(oids: readonly string[]): Promise<Map<string, Buffer>> {
    const found = new Map<string, Buffer>();
    const wanted: string[] = [];
    for (const oid of oids) {
      const known = this.#trees.get(oid);
      if (known) found.set(oid, known);
      else if (oid !== EMPTY_TREE) wanted.push(oid);
    }
    for (const [oid, content] of await readObjects(this.repoPath, this.env, wanted, 'tree')) {
      this.#keep(oid, content);
      found.set(oid, content);
    }
    return found;
  }

  has(oid: string): boolean {
    return this.#trees.has(oid);
  }

  /** One tree; throws when it does not exist. */
  async read(oid: string): Promise<Buffer> {
    const known = this.#trees.get(oid);
    if (known) return known;
    const existing = this.existing && !this.pushed?.has(oid) ? this.existing : undefined;
    const content = existing ? await existing.readTree(oid) : (await readObjects(this.repoPath, this.env, [oid], 'tree')).get(oid);
    if (!content) throw new Error(`tree ${oid} is missing`);
    this.#keep(oid, content);
    return content;
  }

  /** Kept while the push's trees stay small (a push may inflate to a gigabyte: then they are read again). */
  #keep(oid: string, content: Buffer): void {
    if (this.#bytes + content.length > MAX_KEPT_TREE_BYTES) return;
    this.#bytes += content.length;
    this.#trees.set(oid, content);
  }
}
