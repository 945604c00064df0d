/**
 * What a document is, by its place in a repository: a Markdown file (`.md`, any case) outside the reserved `-/`
 * folder, and in a tree a regular file (symbolic links and submodules are never documents). The one definition
 * for publishing, history, the change rules, pushes and clone clearance; the editor adds what a path it writes
 * to must also be (`newDocumentPathProblem`).
 */

/** git's modes of regular files (plain and executable). */
export const REGULAR_FILE_MODES: ReadonlySet<string> = new Set(['100644', '100755']);

/** True for git's modes of regular files: never a symbolic link (120000), submodule (160000) or folder. */
export function isRegularFileMode(mode: string): boolean {
  return REGULAR_FILE_MODES.has(mode);
}

/** True for paths under the reserved `-/` folder: never a document, never an attachment. */
export function isReservedPath(path: string): boolean {
  return path.startsWith('-/');
}

/** True when a repository path (and, when given, its git mode) names a document. */
export function isDocumentPath(path: string, mode?: string): boolean {
  return (mode === undefined || isRegularFileMode(mode)) && /\.md$/i.test(path) && !isReservedPath(path);
}

/**
 * Why `path` cannot name a document the editor writes, beyond being a safe repository path (git/paths.ts), or
 * null: no name may start with "-" (the reserved `-/` folder, and names git could read as options), and the
 * file must be a Markdown file with a name before its `.md`.
 */
export function newDocumentPathProblem(path: string): string | null {
  if (path.split('/').some((segment) => segment.startsWith('-'))) return 'names must not start with "-"';
  if (!isDocumentPath(path) || /(^|\/)\.md$/i.test(path)) return 'documents are Markdown files ending in ".md"';
  return null;
}

/** The repository path named by a document URL: `policies/data-handling` and `policies/data-handling.md` alike. */
export function documentPathFromUrl(rest: string): string {
  return /\.md$/i.test(rest) ? rest : `${rest}.md`;
}
