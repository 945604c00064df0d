import type { Actor } from '../../access/actor.ts';
import { recordAccountEvent, recordSignInFailure } from '../../audit/account-events.ts';
import { inTransaction } from '../../db/in-transaction.ts';
import { authenticate } from '../accounts.ts';
import { mfaRequiredFor } from '../mfa.ts';
import { nextSignInStep } from '../sign-in-steps.ts';
import { passwordSignInRefusedBy } from '../sso/password-sign-in-policy.ts';
import type { AuthDeps, RequestOrigin } from './deps.ts';
import { issueSignInSession, type SignInProgress } from './issue-sign-in-session.ts';

export interface SignInInput {
  email: string;
  password: string;
  /** The session cookie the browser brought, if any: ended whatever happens next (a planted id is never promoted). */
  presentedSessionId?: string;
  origin: RequestOrigin;
}

export type SignInResult = SignInProgress | { kind: 'throttled'; retryAfterSeconds: number } | { kind: 'rejected' } | { kind: 'sso-required' };

/**
 * The password step of signing in. Open to anyone (the password is the credential, so there is nothing to
 * authorize): throttled per email and per address, then a full session, or a pending one when a second factor,
 * a new password or an enrollment is still outstanding (sign-in-steps.ts). The `auth.sign_in` event is recorded
 * with the full session, in its transaction; failures and throttling are recorded too.
 */
export async function signIn(deps: AuthDeps, _actor: Actor, input: SignInInput): Promise<SignInResult> {
  const { db, throttle, sessions, mfa } = deps;
  // Counted per email (whether or not an account has it, so both answers stay the same) and per address.
  const subjects = { account: input.email.trim().toLowerCase(), address: input.origin.ip };
  // The limit is checked and this attempt reserved in one step, before the password is verified (throttle.ts).
  const verdict = await throttle.attempt(subjects);
  if (verdict.blocked) {
    const target = await db.selectFrom('users').select('id').where('email', '=', subjects.account).executeTakeFirst();
    await recordAccountEvent(db, target?.id ?? null, {
      actor: { type: 'anonymous', id: null, label: subjects.account.slice(0, 320) || null },
      action: 'auth.sign_in_throttled',
      target: target ? { type: 'user', id: target.id, label: subjects.account } : null,
      reason: verdict.scope === 'address' ? 'too many failures from this address' : 'too many failures for this account',
      outcome: 'denied',
      requestId: input.origin.requestId,
      ip: input.origin.ip,
      details: { retry_after_seconds: verdict.retryAfterSeconds },
    });
    return { kind: 'throttled', retryAfterSeconds: verdict.retryAfterSeconds };
  }
  const user = await authenticate(db, input.email, input.password);
  if (!user) {
    await verdict.reservation.failed();
    await recordSignInFailure(db, { email: input.email, requestId: input.origin.requestId, ip: input.origin.ip });
    return { kind: 'rejected' };
  }
  await verdict.reservation.succeeded();
  await throttle.clear('account', subjects.account);
  // An organization that requires single sign-on refuses its members' passwords (all but its break-glass owner).
  if (await passwordSignInRefusedBy(db, user.id)) {
    await recordSignInFailure(db, { email: input.email, requestId: input.origin.requestId, ip: input.origin.ip, reason: 'sso required', outcome: 'denied' });
    return { kind: 'sso-required' };
  }
  return inTransaction(db, async (trx) => {
    if (input.presentedSessionId) await sessions.in(trx).destroy(input.presentedSessionId);
    const enrolled = await mfa.in(trx).isEnrolled(user.id);
    const step = nextSignInStep({
      enrolled,
      secondFactorDone: false,
      passwordMustChange: user.password_must_change,
      mfaRequired: !enrolled && !user.password_must_change && (await mfaRequiredFor(trx, user.id)),
    });
    return issueSignInSession(trx, sessions, { userId: user.id, email: user.email }, step, input.origin, { mfa: false });
  });
}
