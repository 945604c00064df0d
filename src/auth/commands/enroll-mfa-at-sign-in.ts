import type { Actor } from '../../access/actor.ts';
import { inTransaction } from '../../db/in-transaction.ts';
import { recordOwnAccountEvent, type AuthDeps, type IssuedSession, type RequestOrigin } from './deps.ts';
import { issueSignInSession, pendingSession } from './issue-sign-in-session.ts';

export interface EnrollMfaAtSignInInput {
  /** The pending session's cookie value (an organization requires MFA and none is enrolled yet). */
  pendingSessionId: string | undefined;
  /** A code from the authenticator app, proving it holds the key the enrollment page showed. */
  code: string;
  origin: RequestOrigin;
}

export type EnrollMfaAtSignInResult =
  | { kind: 'enrolled'; recoveryCodes: string[]; session: IssuedSession }
  | { kind: 'no-pending-session' }
  | { kind: 'throttled'; retryAfterSeconds: number }
  | { kind: 'refused' };

/**
 * Enrollment forced by an organization's "require MFA" setting, as the last sign-in step: the confirmed key,
 * fresh recovery codes, `auth.mfa_enrolled` (forced), the pending session's end and the full session with its
 * `auth.sign_in`, in one transaction.
 */
export async function enrollMfaAtSignIn(deps: AuthDeps, _actor: Actor, input: EnrollMfaAtSignInInput): Promise<EnrollMfaAtSignInResult> {
  const { db, sessions, mfa, throttle } = deps;
  const pending = await pendingSession(sessions, input.pendingSessionId, 'mfa-enrollment');
  if (!pending || !input.pendingSessionId) return { kind: 'no-pending-session' };
  const pendingId = input.pendingSessionId;
  const user = { userId: pending.actor.userId, email: pending.actor.email };
  const verdict = await throttle.attempt({ mfa: user.userId });
  if (verdict.blocked) return { kind: 'throttled', retryAfterSeconds: verdict.retryAfterSeconds };
  const result = await inTransaction(db, async (trx): Promise<EnrollMfaAtSignInResult> => {
    const recoveryCodes = await mfa.in(trx).confirmEnrollment(user.userId, input.code);
    if (!recoveryCodes) return { kind: 'refused' };
    await recordOwnAccountEvent(trx, user, input.origin, { action: 'auth.mfa_enrolled', outcome: 'success', details: { forced: true } });
    await sessions.in(trx).destroy(pendingId);
    const signedIn = await issueSignInSession(trx, sessions, user, null, input.origin, { mfa: true });
    return { kind: 'enrolled', recoveryCodes, session: signedIn.session };
  });
  await (result.kind === 'enrolled' ? verdict.reservation.succeeded() : verdict.reservation.failed());
  return result;
}
