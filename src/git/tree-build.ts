/**
 * Building the tree of a commit from its parent's tree and a few changed files, without an index: only the
 * folders along the changed paths are read (tree objects, through cat-file) and written again; every other
 * folder keeps its tree id. The new trees are written with one `git mktree -z --batch`, which checks that every
 * entry names an existing object of the right type; the ids git returns must equal the ones computed here (the
 * parents reference them), or nothing is committed.
 *
 * Equivalent to `read-tree <parent>` + `update-index --index-info` + `write-tree` into a temporary index (what
 * commit-files.ts did before), at the cost of one process instead of three and without reading the whole tree:
 * modes of rewritten folders are canonicalized as write-tree does; entries are ordered as git orders them.
 */
import { createHash } from 'node:crypto';
import { EMPTY_TREE } from './refs.ts';
import { runGit } from './run.ts';
import { parseTreeObject } from './tree-walk.ts';

interface Leaf {
  kind: 'leaf';
  mode: string;
  oid: string;
}

interface Folder {
  kind: 'folder';
  /** The folder's tree id in the parent, while nothing below it changed. */
  oid: string | null;
  /** Loaded (or new) entries by raw name (latin1 of the name bytes); null until something below changes. */
  entries: Map<string, Leaf | Folder> | null;
}

export interface TreeEdit {
  path: string;
  /** null: delete the file at `path`. */
  file: { mode: string; oid: string } | null;
}

/** What the builder needs from the repository. */
export type ReadTreeObject = (oid: string) => Promise<Buffer>;

const nameKey = (part: string): string => Buffer.from(part, 'utf8').toString('latin1');

// write-tree's canonical modes (create_ce_mode): folders, links, submodules, or a regular file with or without x
function canonicalMode(mode: string): string {
  if (mode === '040000' || mode === '40000') return '40000';
  if (mode === '120000' || mode === '160000') return mode;
  return (parseInt(mode, 8) & 0o100) !== 0 ? '100755' : '100644';
}

async function load(folder: Folder, readTree: ReadTreeObject): Promise<Map<string, Leaf | Folder>> {
  if (folder.entries) return folder.entries;
  const entries = new Map<string, Leaf | Folder>();
  if (folder.oid !== null) {
    for (const entry of parseTreeObject(await readTree(folder.oid))) {
      const key = entry.name.toString('latin1');
      entries.set(key, entry.type === 'tree' ? { kind: 'folder', oid: entry.oid, entries: null } : { kind: 'leaf', mode: entry.mode, oid: entry.oid });
    }
  }
  folder.entries = entries;
  folder.oid = null; // changed from here on
  return entries;
}

/**
 * Applies `edits` (deletes first, then writes, as update-index applies them) to `baseTree` (null: start from
 * nothing) and writes the changed trees. Returns the new root tree id (EMPTY_TREE when nothing is left).
 * The caller has validated the paths and checked them against the base (commit-files.ts checkAgainstParent).
 */
export async function buildTree(gitDir: string, baseTree: string | null, edits: readonly TreeEdit[], readTree: ReadTreeObject): Promise<string> {
  const root: Folder = { kind: 'folder', oid: baseTree === EMPTY_TREE ? null : baseTree, entries: null };
  if (edits.length === 0 && baseTree !== null) return baseTree;

  for (const edit of [...edits.filter((e) => e.file === null), ...edits.filter((e) => e.file !== null)]) {
    const parts = edit.path.split('/');
    let folder = root;
    let missing = false;
    for (const part of parts.slice(0, -1)) {
      const entries = await load(folder, readTree);
      const next = entries.get(nameKey(part));
      if (next?.kind === 'folder') {
        folder = next;
        continue;
      }
      if (edit.file === null) {
        missing = true; // nothing to delete below a file or a missing folder
        break;
      }
      // a new folder, or one replacing a file deleted by this change (checkAgainstParent refused any other)
      const created: Folder = { kind: 'folder', oid: null, entries: new Map() };
      entries.set(nameKey(part), created);
      folder = created;
    }
    if (missing) continue;
    const entries = await load(folder, readTree);
    const key = nameKey(parts.at(-1)!);
    if (edit.file === null) {
      if (entries.get(key)?.kind === 'leaf') entries.delete(key);
    } else {
      entries.set(key, { kind: 'leaf', mode: edit.file.mode, oid: edit.file.oid });
    }
  }

  // serialize changed folders, children first; an empty folder disappears (as write-tree leaves it out)
  const records: Buffer[] = [];
  const expected: string[] = [];
  const serialize = (folder: Folder): string | null => {
    if (folder.entries === null) return folder.oid;
    const items: { sortKey: Buffer; name: Buffer; mode: string; oid: string; type: string }[] = [];
    for (const [key, child] of folder.entries) {
      const name = Buffer.from(key, 'latin1');
      if (child.kind === 'folder') {
        const oid = serialize(child);
        if (oid === null) continue;
        items.push({ sortKey: Buffer.concat([name, Buffer.from('/')]), name, mode: '40000', oid, type: 'tree' });
      } else {
        const mode = canonicalMode(child.mode);
        items.push({ sortKey: name, name, mode, oid: child.oid, type: mode === '160000' ? 'commit' : 'blob' });
      }
    }
    if (items.length === 0) return null;
    // git's order: names compared bytewise, a folder's name as if it ended in "/"
    items.sort((a, b) => Buffer.compare(a.sortKey, b.sortKey));
    const body = Buffer.concat(items.flatMap((i) => [Buffer.from(`${i.mode} `, 'ascii'), i.name, Buffer.from([0]), Buffer.from(i.oid, 'hex')]));
    const oid = createHash('sha1').update(`tree ${body.length}\0`).update(body).digest('hex');
    for (const i of items) {
      records.push(Buffer.from(`${i.mode.padStart(6, '0')} ${i.type} ${i.oid}\t`, 'ascii'), i.name, Buffer.from([0]));
    }
    records.push(Buffer.from([0])); // an empty record ends one tree of the batch
    expected.push(oid);
    return oid;
  };
  const rootOid = serialize(root) ?? EMPTY_TREE;
  if (expected.length === 0) return rootOid;

  const { stdout } = await runGit({ gitDir, args: ['mktree', '-z', '--batch'], input: Buffer.concat(records) });
  const written = stdout.toString('ascii').split('\n').filter((line) => line !== '');
  if (written.length !== expected.length || written.some((oid, i) => oid !== expected[i])) {
    throw new Error(`git mktree wrote trees other than the ones computed (${written.join(',')} vs ${expected.join(',')})`);
  }
  return rootOid;
}
