import type { ContentError } from './types.ts';

/** `file:line: message`, the form editors and CI logs understand. */
export function formatContentError(error: ContentError): string {
  return `${error.file}:${error.line}: ${error.message}`;
}
