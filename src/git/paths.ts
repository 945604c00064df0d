/**
 * Validation of file paths inside a repository, for anything we write: a path must name a file below the root
 * and never reach git's own files, on any file system a clone may land on.
 */
import { InvalidInputError } from '../errors.ts';

const MAX_PATH_BYTES = 4096;
const MAX_SEGMENT_BYTES = 255;
// code points HFS+ ignores when comparing names, so ".g\u200cit" is ".git" on a Mac (git's is_hfs_dotgit)
const HFS_IGNORABLE = /[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]/g;

/** Why `path` is not a safe repository file path, or null when it is. */
export function repoPathProblem(path: string): string | null {
  if (typeof path !== 'string' || path.length === 0) return 'empty';
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) return 'too long';
  if (/[\0-\x1f\x7f]/.test(path)) return 'contains a control character';
  if (path.includes('\\')) return 'contains a backslash';
  if (path.startsWith('/')) return 'is absolute';
  for (const segment of path.split('/')) {
    if (segment === '') return 'has an empty segment';
    if (segment === '.' || segment === '..') return `has a "${segment}" segment`;
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) return 'has a segment that is too long';
    // Windows drops trailing dots and spaces ('.git. ' is '.git'); 'git~1' is the 8.3 short name of '.git'
    const folded = segment.replace(HFS_IGNORABLE, '').replace(/[. ]+$/, '').toLowerCase();
    if (folded === '.git' || folded === 'git~1') return 'names git\'s own directory';
    // a hostile .gitmodules can make clones run commands; the editor has no use for one
    if (folded === '.gitmodules' || /^gitmod~\d+$/.test(folded)) return 'names .gitmodules';
  }
  return null;
}

/** Throws InvalidInputError naming `path` unless it is a safe repository file path. */
export function assertSafeRepoPath(path: string): void {
  const problem = repoPathProblem(path);
  if (problem) throw new InvalidInputError(`Invalid path ${JSON.stringify(path)}: ${problem}.`, [{ path, problem }]);
}
