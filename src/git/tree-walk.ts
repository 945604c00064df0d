/**
 * Looking up paths in a tree by reading tree objects (through the repository's long-lived `cat-file --batch`),
 * instead of listing the whole tree with `git ls-tree -r`: a lookup reads one small object per folder level and
 * starts no process. Paths are file names, never pathspecs; symbolic links are never followed.
 */
import { isOid } from './refs.ts';

/** One entry of a tree, as `git ls-tree` names it (without a size). */
export interface PathEntry {
  /** "100644", "100755", "120000" (symlink), "160000" (submodule), "040000" (folder). */
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  oid: string;
  path: string;
}

interface RawEntry {
  mode: string;
  type: PathEntry['type'];
  name: Buffer;
  oid: string;
}

/** Parses a raw tree object: records "<octal mode> SP <name> NUL <20-byte id>". */
export function parseTreeObject(content: Buffer): RawEntry[] {
  const entries: RawEntry[] = [];
  let offset = 0;
  while (offset < content.length) {
    const space = content.indexOf(0x20, offset);
    const nul = space < 0 ? -1 : content.indexOf(0, space + 1);
    if (space < 0 || nul < 0 || nul + 21 > content.length) throw new Error('malformed git tree object');
    const rawMode = content.toString('latin1', offset, space);
    const mode = rawMode.padStart(6, '0');
    const type = mode === '040000' ? 'tree' : mode === '160000' ? 'commit' : 'blob';
    entries.push({ mode, type, name: content.subarray(space + 1, nul), oid: content.toString('hex', nul + 1, nul + 21) });
    offset = nul + 21;
  }
  return entries;
}

/** What is at a path: the entry itself, or the first thing in the way (a file, link or submodule as a folder). */
export interface PathLookup {
  entry: PathEntry | null;
  /** The nearest ancestor that exists and is not a folder (then `entry` is null). */
  blocker: PathEntry | null;
}

/** Reads tree objects by id; parsed trees are kept for the walker's lifetime (one operation). */
export class TreeWalker {
  readonly #readTree: (oid: string) => Promise<Buffer>;
  readonly #trees = new Map<string, Promise<RawEntry[]>>();

  constructor(readTree: (oid: string) => Promise<Buffer>) {
    this.#readTree = readTree;
  }

  /** Looks up `path` ("a/b/c.md", already validated) in the tree `treeOid`. */
  async lookup(treeOid: string, path: string): Promise<PathLookup> {
    if (!isOid(treeOid)) throw new Error('TreeWalker.lookup needs a tree id');
    const parts = path.split('/');
    let tree = treeOid;
    for (let i = 0; i < parts.length; i++) {
      const name = Buffer.from(parts[i]!, 'utf8');
      const found = (await this.#entries(tree)).find((e) => e.name.equals(name));
      if (!found) return { entry: null, blocker: null };
      const entry: PathEntry = { mode: found.mode, type: found.type, oid: found.oid, path: parts.slice(0, i + 1).join('/') };
      if (i === parts.length - 1) return { entry, blocker: null };
      if (found.type !== 'tree') return { entry: null, blocker: entry };
      tree = found.oid;
    }
    return { entry: null, blocker: null };
  }

  #entries(oid: string): Promise<RawEntry[]> {
    let entries = this.#trees.get(oid);
    if (!entries) {
      entries = this.#readTree(oid).then(parseTreeObject);
      this.#trees.set(oid, entries);
    }
    return entries;
  }
}
