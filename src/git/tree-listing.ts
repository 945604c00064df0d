/** Parsing of `git ls-tree -r -z -l --full-tree` output. */

export interface TreeEntry {
  /** "100644", "100755", "120000" (symlink), "160000" (submodule). */
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  oid: string;
  /** Size in bytes for blobs; null for submodules. */
  size: number | null;
  path: string;
}

/** Mode of a symbolic link entry; its blob is the link target, which we never follow. */
export const SYMLINK_MODE = '120000';
/** Mode of a submodule entry (a commit of another repository). */
export const SUBMODULE_MODE = '160000';

/** Parses NUL-terminated records "<mode> SP <type> SP <oid> SP+ <size> TAB <path>". */
export function parseLsTree(output: Buffer): TreeEntry[] {
  const entries: TreeEntry[] = [];
  let start = 0;
  while (start < output.length) {
    let end = output.indexOf(0, start);
    if (end < 0) end = output.length;
    const tab = output.indexOf(0x09, start);
    if (tab < 0 || tab > end) throw new Error('unexpected git ls-tree output');
    const [mode, type, oid, size] = output.toString('latin1', start, tab).split(/ +/);
    if (!mode || !oid || (type !== 'blob' && type !== 'tree' && type !== 'commit')) {
      throw new Error('unexpected git ls-tree output');
    }
    entries.push({
      mode,
      type,
      oid,
      size: size === undefined || size === '-' ? null : Number(size),
      path: output.toString('utf8', tab + 1, end),
    });
    start = end + 1;
  }
  return entries;
}
