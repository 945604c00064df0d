import type { Db } from '../../db/connection.ts';
import type { SessionPending } from '../../db/schema.ts';
import type { SessionStore } from '../sessions.ts';
import { cookieLifetime, recordOwnAccountEvent, type AccountHolder, type IssuedSession, type RequestOrigin } from './deps.ts';

/** Where a sign-in stands after a step succeeded: signed in, or a pending session for the next step. */
export type SignInProgress =
  | { kind: 'signed-in'; session: IssuedSession }
  | { kind: 'pending'; step: SessionPending; session: IssuedSession };

/**
 * Inside the caller's transaction: a pending session (grants nothing) for `step`, or — with no step left — a
 * full session (a new id, counting as a fresh re-authentication) and its `auth.sign_in` event.
 */
export async function issueSignInSession(
  trx: Db,
  sessions: SessionStore,
  user: AccountHolder,
  step: SessionPending | null,
  origin: RequestOrigin,
  details: { mfa: boolean },
): Promise<SignInProgress> {
  if (step) {
    const { id, session } = await sessions.in(trx).create(user.userId, { pending: step });
    return { kind: 'pending', step, session: { id, maxAgeSeconds: cookieLifetime(session) } };
  }
  const { id, session } = await sessions.in(trx).create(user.userId, { reauthenticated: true });
  await recordOwnAccountEvent(trx, user, origin, { action: 'auth.sign_in', outcome: 'success', details });
  return { kind: 'signed-in', session: { id, maxAgeSeconds: cookieLifetime(session) } };
}

/** The pending session a cookie names, if it waits for `step` (else null: the sign-in starts over). */
export async function pendingSession(sessions: SessionStore, id: string | undefined, step: SessionPending) {
  if (!id) return null;
  const session = await sessions.lookupPending(id);
  return session && session.pending === step ? session : null;
}
