import { dictionary } from '@zxcvbn-ts/language-common';

/**
 * The common-password list: the `passwords-common` dictionary of @zxcvbn-ts/language-common (MIT, about
 * 49,000 passwords ordered by how often they appear in public breach corpora). It is loaded on first use.
 * Comparison ignores letter case, so "Password1234" is as refused as "password1234".
 */
let list: Set<string> | null = null;

function commonPasswords(): Set<string> {
  list ??= new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()));
  return list;
}

/** How many passwords the list holds. */
export function commonPasswordCount(): number {
  return commonPasswords().size;
}

/** Whether a password is on the list of common passwords. */
export function isCommonPassword(password: string): boolean {
  return commonPasswords().has(password.toLowerCase());
}
