/**
 * Validation of the names and ids users hand us: branch names, revisions and object ids. Follows
 * `git check-ref-format` (with one-level names allowed) and refuses a leading '-', without starting git.
 */
import { InvalidInputError } from '../errors.ts';

/** The id git uses for "no object" (e.g. the old value of a ref being created). */
export const ZERO_OID = '0000000000000000000000000000000000000000';
/** The id of the empty tree, which every git repository knows without storing it. */
export const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

const OID = /^[0-9a-f]{40}$/;
const MAX_REF_LENGTH = 255;

/** Why `name` is not an acceptable ref name (git check-ref-format rules, no leading '-'), or null. */
export function refNameProblem(name: string): string | null {
  if (typeof name !== 'string' || name.length === 0) return 'empty';
  if (name.length > MAX_REF_LENGTH) return 'too long';
  if (name.startsWith('-')) return 'starts with "-"';
  if (name === '@') return 'is "@"';
  if (/[\0-\x20\x7f~^:?*[\\]/.test(name)) return 'contains a space, a control character or one of ~ ^ : ? * [ \\';
  if (name.includes('..')) return 'contains ".."';
  if (name.includes('@{')) return 'contains "@{"';
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//')) return 'has an empty path component';
  if (name.endsWith('.')) return 'ends with "."';
  for (const component of name.split('/')) {
    if (component.startsWith('.')) return 'has a component starting with "."';
    if (component.endsWith('.lock')) return 'has a component ending with ".lock"';
  }
  return null;
}

/** Throws InvalidInputError unless `branch` is a usable branch name (the part after refs/heads/). */
export function assertBranchName(branch: string): void {
  const problem = refNameProblem(branch) ?? (branch === 'HEAD' ? 'is "HEAD"' : null);
  if (problem) throw new InvalidInputError(`Invalid branch name ${JSON.stringify(branch)}: ${problem}.`);
}

/** Throws InvalidInputError unless `revision` is a plain ref name or object id (no `~`, `^`, `:` or `@{...}` syntax). */
export function assertRevision(revision: string): void {
  const problem = refNameProblem(revision);
  if (problem) throw new InvalidInputError(`Invalid ref ${JSON.stringify(revision)}: ${problem}.`);
}

/** True when `oid` is a full, lower-case SHA-1 object id. */
export function isOid(oid: unknown): oid is string {
  return typeof oid === 'string' && OID.test(oid);
}

/** Throws InvalidInputError unless `oid` is a full, lower-case SHA-1 object id. */
export function assertOid(oid: string, what = 'object id'): void {
  if (!isOid(oid)) throw new InvalidInputError(`Invalid ${what} ${JSON.stringify(String(oid).slice(0, 100))}.`);
}
