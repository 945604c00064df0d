/** Tree changes: parsing `git diff-tree -r -z --no-renames --raw` output, or the same found from tree objects. */
import { EMPTY_TREE as EMPTY_TREE_OID } from './refs.ts';
import { parseTreeObject } from './tree-walk.ts';

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

const ZERO_MODE = '000000';
const NO_OID = '0'.repeat(40);

/**
 * What `git diff-tree -r --no-renames --raw oldTree newTree` reports, found by reading tree objects (through the
 * repository's long-lived `cat-file --batch`) instead of starting git: only subtrees whose ids differ are read,
 * so a one-file change reads two trees per folder level. Same changes, in the same (git's tree) order; an entry
 * that turns from a file into a folder or back is a deletion and an addition, as git reports it with -r.
 */
export async function diffTreeObjects(readTree: (oid: string) => Promise<Buffer>, oldTree: string, newTree: string): Promise<TreeChange[]> {
  const changes: TreeChange[] = [];
  const entriesOf = async (oid: string | null) => (oid === null || oid === EMPTY_TREE_OID ? [] : parseTreeObject(await readTree(oid)));

  const walk = async (oldOid: string | null, newOid: string | null, prefix: string): Promise<void> => {
    if (oldOid === newOid) return;
    const [before, after] = await Promise.all([entriesOf(oldOid), entriesOf(newOid)]);
    let i = 0;
    let j = 0;
    while (i < before.length || j < after.length) {
      const order = i >= before.length ? 1 : j >= after.length ? -1 : compareInTreeOrder(before[i]!, after[j]!);
      if (order < 0) {
        await gone(before[i++]!, prefix);
      } else if (order > 0) {
        await added(after[j++]!, prefix);
      } else {
        const old = before[i++]!;
        const now = after[j++]!;
        const path = prefix + old.name.toString('utf8');
        if (old.type === 'tree') await walk(old.oid, now.oid, `${path}/`);
        else if (old.oid !== now.oid || old.mode !== now.mode) {
          changes.push({ status: 'M', path, oldOid: old.oid, newOid: now.oid, oldMode: old.mode, newMode: now.mode });
        }
      }
    }
  };
  const gone = async (entry: ReturnType<typeof parseTreeObject>[number], prefix: string) => {
    const path = prefix + entry.name.toString('utf8');
    if (entry.type === 'tree') await walk(entry.oid, null, `${path}/`);
    else changes.push({ status: 'D', path, oldOid: entry.oid, newOid: NO_OID, oldMode: entry.mode, newMode: ZERO_MODE });
  };
  const added = async (entry: ReturnType<typeof parseTreeObject>[number], prefix: string) => {
    const path = prefix + entry.name.toString('utf8');
    if (entry.type === 'tree') await walk(null, entry.oid, `${path}/`);
    else changes.push({ status: 'A', path, oldOid: NO_OID, newOid: entry.oid, oldMode: ZERO_MODE, newMode: entry.mode });
  };

  await walk(oldTree, newTree, '');
  return changes;
}

/** git's order of tree entries: by name bytes, a folder's name compared as if it ended in "/". */
function compareInTreeOrder(a: { name: Buffer; type: string }, b: { name: Buffer; type: string }): number {
  const length = Math.min(a.name.length, b.name.length);
  const common = Buffer.compare(a.name.subarray(0, length), b.name.subarray(0, length));
  if (common !== 0) return common;
  const next = (entry: { name: Buffer; type: string }) => (length < entry.name.length ? entry.name[length]! : entry.type === 'tree' ? 0x2f : 0);
  return next(a) - next(b);
}
