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
