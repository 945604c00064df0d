import { InvalidInputError } from '../errors.ts';

/**
 * Refuse repository paths that could escape the tree or reach git's own files: absolute paths, empty, `.` or
 * `..` segments, any segment that is `.git` in any case (also with trailing dots or spaces, which some file
 * systems ignore), backslashes, and control characters.
 */
export function assertSafeRepoPath(path: string): void {
  const problem = repoPathProblem(path);
  if (problem) throw new InvalidInputError(`invalid path ${JSON.stringify(path)}: ${problem}`);
}

/** Why a repository path is unsafe, or null when it is fine. */
export function repoPathProblem(path: string): string | null {
  if (path.length === 0 || path.length > 4096) return 'empty or too long';
  if (/[\0-\x1f\x7f]/.test(path)) return 'control characters';
  if (path.includes('\\')) return 'backslash';
  if (path.startsWith('/')) return 'absolute path';
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') return `"${segment}" segment`;
    if (/^\.git[. ]*$/i.test(segment)) return '".git" segment';
  }
  return null;
}
