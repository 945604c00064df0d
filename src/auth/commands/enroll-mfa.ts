import type { Actor } from '../../access/actor.ts';
import { inTransaction } from '../../db/in-transaction.ts';
import type { Session } from '../sessions.ts';
import { assertRecentReauthentication } from './recent-reauthentication.ts';
import { authorizeOwnAccount, recordOwnAccountEvent, type AuthDeps, type RequestOrigin } from './deps.ts';

export interface EnrollMfaInput {
  session: Session;
  /** A code from the authenticator app, proving it holds the key the enrollment page showed. */
  code: string;
  origin: RequestOrigin;
}

export type EnrollMfaResult = { kind: 'enrolled'; recoveryCodes: string[] } | { kind: 'throttled'; retryAfterSeconds: number } | { kind: 'refused' };

/**
 * Turn on two-step verification from the account's security page (after a recent re-authentication): the key
 * becomes the second factor, ten fresh recovery codes replace any old ones, and `auth.mfa_enrolled` is recorded,
 * in one transaction. Wrong codes count against the user's MFA throttle.
 */
export async function enrollMfa(deps: AuthDeps, actor: Actor, input: EnrollMfaInput): Promise<EnrollMfaResult> {
  const user = authorizeOwnAccount(actor, input.session);
  assertRecentReauthentication(input.session, '/-/account/security/enroll');
  const verdict = await deps.throttle.attempt({ mfa: user.userId });
  if (verdict.blocked) return { kind: 'throttled', retryAfterSeconds: verdict.retryAfterSeconds };
  const result = await inTransaction(deps.db, async (trx): Promise<EnrollMfaResult> => {
    const recoveryCodes = await deps.mfa.in(trx).confirmEnrollment(user.userId, input.code);
    if (!recoveryCodes) return { kind: 'refused' };
    await recordOwnAccountEvent(trx, user, input.origin, { action: 'auth.mfa_enrolled', outcome: 'success', details: { forced: false } });
    return { kind: 'enrolled', recoveryCodes };
  });
  await (result.kind === 'enrolled' ? verdict.reservation.succeeded() : verdict.reservation.failed());
  deps.notices.forget(user.userId);
  return result;
}
