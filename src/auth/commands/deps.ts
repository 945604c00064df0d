import type { Actor, UserActor } from '../../access/actor.ts';
import { authorize } from '../../access/authorize.ts';
import { recordAccountEvent } from '../../audit/account-events.ts';
import type { AuditEventInput } from '../../audit/audit-log.ts';
import type { SecurityNotices } from '../../audit/security-notices.ts';
import type { Db } from '../../db/connection.ts';
import type { MfaService } from '../mfa.ts';
import type { Session, SessionStore } from '../sessions.ts';
import type { Throttle } from '../throttle.ts';

/**
 * What the account use cases (src/auth/commands/*) work with. Each command is `(deps, actor, input)`: it
 * authorizes, loads, changes, records the audit event in the same transaction as the rows that change, and drops
 * what this process remembers (sessions, the security-notice dot). Throttle reservations are the exception: they
 * commit on their own before a password or code is checked, so parallel guesses count (throttle.ts).
 */
export interface AuthDeps {
  db: Db;
  sessions: SessionStore;
  mfa: MfaService;
  throttle: Throttle;
  notices: SecurityNotices;
}

/** Where a request came from, for the audit log. */
export interface RequestOrigin {
  requestId: string;
  ip: string;
}

/** A session the caller hands to the browser: the cookie value (never stored or logged) and its lifetime. */
export interface IssuedSession {
  id: string;
  maxAgeSeconds: number;
}

/** The user an account event is about, who is also its actor. */
export interface AccountHolder {
  userId: string;
  email: string;
}

/**
 * A command on one's own account: the actor must be the signed-in user of `session` (a browser session, never a
 * token): authorize() refuses anyone else. Returns that user.
 */
export function authorizeOwnAccount(actor: Actor, session: Session): UserActor {
  authorize(actor, 'manage', { kind: 'account', userId: session.actor.userId });
  return session.actor;
}

/** Record an event of the user's own account, in every organization's chain (account-events.ts), inside `trx`. */
export function recordOwnAccountEvent(
  trx: Db,
  user: AccountHolder,
  origin: RequestOrigin,
  fields: Pick<AuditEventInput, 'action' | 'outcome'> & { reason?: string; details?: AuditEventInput['details'] },
): Promise<void> {
  return recordAccountEvent(trx, user.userId, {
    actor: { type: 'user', id: user.userId, label: user.email },
    action: fields.action,
    target: { type: 'user', id: user.userId, label: user.email },
    reason: fields.reason ?? null,
    outcome: fields.outcome,
    requestId: origin.requestId,
    ip: origin.ip,
    ...(fields.details ? { details: fields.details } : {}),
  });
}

/** A session's cookie lifetime in seconds. */
export function cookieLifetime(session: Session): number {
  return Math.round((session.expiresAt - session.createdAt) / 1000);
}
