import type { RequireMfa, Role } from '../db/schema.ts';
import type { Actor } from './actor.ts';
import { roleAtLeast } from './roles.ts';

/**
 * The policy for one's own account and for how strictly a role is signed in: who may change an account's
 * credentials, how long a session lives for a role, and when an organization's setting obliges a role to use
 * two-step verification. policy.ts asks `mayManageAccount`; the session store and the sign-in steps ask the rest.
 */

const MINUTE_MS = 60 * 1000;
const HOUR_MS = 60 * MINUTE_MS;
/** Default session lifetimes for owners and admins: 30 minutes idle, 12 hours absolute. */
export const SESSION_IDLE_MS = 30 * MINUTE_MS;
export const SESSION_ABSOLUTE_MS = 12 * HOUR_MS;
/** Defaults for everyone else (managers, members, viewers mostly read): 4 hours idle, 24 hours absolute. */
export const READER_SESSION_IDLE_MS = 4 * HOUR_MS;
export const READER_SESSION_ABSOLUTE_MS = 24 * HOUR_MS;

/** The lowest role that holds the keys of an organization: shorter sessions, and MFA when "admins" must use it. */
const PRIVILEGED_ROLE: Role = 'admin';

/**
 * An account's credentials (password, email, second factor, tokens, sessions) are changed only by the account's
 * owner, signed in with a browser session: never by someone else, never with a personal access token (a leaked
 * token must not be able to mint tokens or turn off MFA).
 */
export function mayManageAccount(actor: Actor, accountUserId: string): boolean {
  return actor.kind === 'user' && actor.userId === accountUserId && actor.via === undefined;
}

/** Idle and absolute limits for one organization's role, or that organization's own setting. */
export interface SessionLimitSource {
  role: Role;
  idleMinutes: number | null;
  absoluteMinutes: number | null;
}

/** The session lifetime one membership asks for: the organization's setting, else the default for the role. */
export function sessionLimitsForRole(source: SessionLimitSource): { idleMs: number; absoluteMs: number } {
  const privileged = roleAtLeast(source.role, PRIVILEGED_ROLE);
  return {
    idleMs: source.idleMinutes !== null ? source.idleMinutes * MINUTE_MS : privileged ? SESSION_IDLE_MS : READER_SESSION_IDLE_MS,
    absoluteMs:
      source.absoluteMinutes !== null ? source.absoluteMinutes * MINUTE_MS : privileged ? SESSION_ABSOLUTE_MS : READER_SESSION_ABSOLUTE_MS,
  };
}

/** The session limits for a user: the strictest over every organization the user belongs to. */
export function sessionLimitsFor(sources: SessionLimitSource[]): { idleMs: number; absoluteMs: number } {
  let idleMs = READER_SESSION_IDLE_MS;
  let absoluteMs = READER_SESSION_ABSOLUTE_MS;
  for (const source of sources) {
    const limits = sessionLimitsForRole(source);
    idleMs = Math.min(idleMs, limits.idleMs);
    absoluteMs = Math.min(absoluteMs, limits.absoluteMs);
  }
  return { idleMs, absoluteMs };
}

/** Whether an organization's "require MFA" setting obliges a member of this role: 'everyone', or 'admins' for admins and owners. */
export function mfaRequiredBy(setting: RequireMfa, role: Role): boolean {
  return setting === 'everyone' || (setting === 'admins' && roleAtLeast(role, PRIVILEGED_ROLE));
}
