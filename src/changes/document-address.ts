import { documentPathFromUrl } from '../content/document-path.ts';
import { NotFoundError } from '../errors.ts';
import { repoPathProblem } from '../git/paths.ts';

/**
 * The repository path a history address names (`/-/history/<path>`, `/-/blob/<commit>/<path>`, ...; `.md`
 * optional). Anything that cannot be a document path is the one 404.
 */
export function documentPathOfAddress(rest: string): string {
  const path = documentPathFromUrl(rest);
  if (repoPathProblem(path) || path.split('/').some((segment) => segment.startsWith('-'))) throw new NotFoundError();
  return path;
}
