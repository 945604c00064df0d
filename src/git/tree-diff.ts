/** Parsing of `git diff-tree -r -z --no-renames --raw` output. */

export interface TreeChange {
  /** A added, M modified (content or mode, including a file turning into a symlink), D deleted. */
  status: 'A' | 'M' | 'D';
  path: string;
  oldOid: string;
  newOid: string;
  oldMode: string;
  newMode: string;
}

/** Parses records ":<old mode> <new mode> <old oid> <new oid> <status>" NUL "<path>" NUL. */
export function parseDiffTree(output: Buffer): TreeChange[] {
  const parts = output.toString('utf8').split('\0');
  const changes: TreeChange[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const meta = parts[i]!;
    const path = parts[i + 1]!;
    if (!meta.startsWith(':')) throw new Error('unexpected git diff-tree output');
    const [oldMode, newMode, oldOid, newOid, rawStatus] = meta.slice(1).split(' ');
    const letter = rawStatus?.[0];
    // T (type change) is reported as a modification whose modes differ
    const status = letter === 'A' || letter === 'D' ? letter : letter === 'M' || letter === 'T' ? 'M' : null;
    if (!status || !oldMode || !newMode || !oldOid || !newOid) throw new Error(`unexpected git diff-tree status ${rawStatus}`);
    changes.push({ status, path, oldOid, newOid, oldMode, newMode });
  }
  return changes;
}
