import type { Classification } from '../content/types.ts';
import type { Role } from '../db/schema.ts';

export type { Role };

/** Roles from least to most powerful. */
export const ROLES: readonly Role[] = ['viewer', 'member', 'manager', 'admin', 'owner'];

const rank = (role: Role): number => ROLES.indexOf(role);

/** True when `role` is `minimum` or above. */
export function roleAtLeast(role: Role, minimum: Role): boolean {
  return rank(role) >= rank(minimum);
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Classifications from most to least open. */
export const CLASSIFICATION_ORDER: readonly Classification[] = ['public', 'internal', 'confidential', 'restricted'];

/** True when a reader cleared for `clearance` may read a document classified `classification`. */
export function clearanceCovers(clearance: Classification, classification: Classification): boolean {
  return CLASSIFICATION_ORDER.indexOf(clearance) >= CLASSIFICATION_ORDER.indexOf(classification);
}
