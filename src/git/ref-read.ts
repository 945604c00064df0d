/**
 * Reading a ref's value from the files git keeps, without starting git: the loose ref file `<git dir>/<ref>`,
 * else its line in `packed-refs`. This is what git's own "files" ref backend does, and it is safe against
 * concurrent updates for the same reasons: git replaces a loose ref by renaming `<ref>.lock` over it (a reader
 * sees the old or the new value, never a mix), and `pack-refs` renames the new `packed-refs` into place before it
 * deletes the loose files it packed (a reader that finds no loose file finds the value in `packed-refs`).
 * Anything unusual (a symbolic ref, unexpected content, a folder where the file should be, a ref store that is
 * not files) answers `undefined`: the caller asks git instead.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { refNameProblem } from './refs.ts';

const LOOSE = /^([0-9a-f]{40})\n?$/;

/**
 * The object id `ref` (a full name such as `refs/heads/main`) points to; null when the ref does not exist;
 * undefined when the files do not say plainly (ask git). Never peels: the id may name any object.
 */
export async function readRefFromFiles(gitDir: string, ref: string): Promise<string | null | undefined> {
  if (refNameProblem(ref) !== null || !ref.startsWith('refs/')) return undefined;
  let loose: string;
  try {
    loose = await readFile(join(gitDir, ref), 'latin1');
  } catch (error) {
    // ENOTDIR/EISDIR (a file or folder in the way, or another ref store) and everything else: let git decide
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return undefined;
    return readPackedRef(gitDir, ref);
  }
  const match = LOOSE.exec(loose);
  return match ? match[1]! : undefined;
}

async function readPackedRef(gitDir: string, ref: string): Promise<string | null | undefined> {
  let packed: string;
  try {
    packed = await readFile(join(gitDir, 'packed-refs'), 'utf8');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? null : undefined;
  }
  // "<oid> <ref>" lines, "^<oid>" peeled values of the line before, "# pack-refs with: …" header
  const suffix = ` ${ref}`;
  for (const line of packed.split('\n')) {
    if (line.length !== 40 + suffix.length || !line.endsWith(suffix)) continue;
    const oid = line.slice(0, 40);
    return /^[0-9a-f]{40}$/.test(oid) ? oid : undefined;
  }
  return null;
}
