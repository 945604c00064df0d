import type { Actor } from '../../access/actor.ts';
import { inTransaction } from '../../db/in-transaction.ts';
import { passwordMustChange } from '../accounts.ts';
import { looksLikeRecoveryCode } from '../recovery-codes.ts';
import { nextSignInStep } from '../sign-in-steps.ts';
import { recordOwnAccountEvent, type AuthDeps, type RequestOrigin } from './deps.ts';
import { issueSignInSession, pendingSession, type SignInProgress } from './issue-sign-in-session.ts';

export interface VerifySignInCodeInput {
  /** The pending session's cookie value: the password step's proof. */
  pendingSessionId: string | undefined;
  /** A TOTP code or a recovery code. */
  code: string;
  origin: RequestOrigin;
}

/** Why a code was not accepted (the page says so in words). */
export type SignInCodeRefusal = 'wrong-code' | 'reused-code' | 'wrong-recovery-code';

export type VerifySignInCodeResult =
  | SignInProgress
  | { kind: 'no-pending-session' }
  | { kind: 'throttled'; retryAfterSeconds: number }
  | { kind: 'refused'; reason: SignInCodeRefusal };

/**
 * The second sign-in step: a TOTP code (each accepted once) or a recovery code (spent). Only the holder of the
 * pending session the password step issued gets here; it is ended and replaced by the next step's session, or a
 * full one, in the transaction that spends the code and records the outcome.
 */
export async function verifySignInCode(deps: AuthDeps, _actor: Actor, input: VerifySignInCodeInput): Promise<VerifySignInCodeResult> {
  const { db, sessions, mfa, throttle } = deps;
  const pending = await pendingSession(sessions, input.pendingSessionId, 'mfa');
  if (!pending || !input.pendingSessionId) return { kind: 'no-pending-session' };
  const pendingId = input.pendingSessionId;
  const user = { userId: pending.actor.userId, email: pending.actor.email };
  // Checked and reserved in one step, before the code is verified (throttle.ts): parallel codes all count.
  const verdict = await throttle.attempt({ mfa: user.userId });
  if (verdict.blocked) {
    await recordOwnAccountEvent(db, user, input.origin, { action: 'auth.mfa_failed', outcome: 'denied', reason: 'throttled' });
    return { kind: 'throttled', retryAfterSeconds: verdict.retryAfterSeconds };
  }
  const code = input.code.trim();
  const outcome = await inTransaction(db, async (trx): Promise<VerifySignInCodeResult> => {
    const factors = mfa.in(trx);
    const refuse = async (reason: SignInCodeRefusal, outcome: 'failure' | 'denied', why: string) => {
      await recordOwnAccountEvent(trx, user, input.origin, { action: 'auth.mfa_failed', outcome, reason: why });
      return { kind: 'refused' as const, reason };
    };
    if (looksLikeRecoveryCode(code)) {
      if (!(await factors.useRecoveryCode(user.userId, code))) return refuse('wrong-recovery-code', 'failure', 'invalid recovery code');
      const left = (await factors.status(user.userId)).recoveryCodesLeft;
      await recordOwnAccountEvent(trx, user, input.origin, { action: 'auth.recovery_code_used', outcome: 'success', details: { remaining: left } });
    } else {
      const result = await factors.verifyTotp(user.userId, code);
      if (result === 'reused') return refuse('reused-code', 'denied', 'code reused');
      if (result !== 'ok') return refuse('wrong-code', 'failure', 'wrong code');
      await recordOwnAccountEvent(trx, user, input.origin, { action: 'auth.mfa_verified', outcome: 'success' });
    }
    await sessions.in(trx).destroy(pendingId);
    // A password someone else chose is replaced next, before the session grants anything.
    const mustChange = await passwordMustChange(trx, user.userId);
    const step = nextSignInStep({ enrolled: true, secondFactorDone: true, passwordMustChange: mustChange, mfaRequired: false });
    return issueSignInSession(trx, sessions, user, step, input.origin, { mfa: true });
  });
  if (outcome.kind === 'refused') {
    await verdict.reservation.failed();
    return outcome;
  }
  await verdict.reservation.succeeded();
  await throttle.clear('mfa', user.userId);
  return outcome;
}
