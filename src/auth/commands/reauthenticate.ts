import type { Actor } from '../../access/actor.ts';
import { inTransaction } from '../../db/in-transaction.ts';
import { authenticate } from '../accounts.ts';
import { passwordSignInRefusedBy } from '../sso/password-sign-in-policy.ts';
import type { Session } from '../sessions.ts';
import { authorizeOwnAccount, recordOwnAccountEvent, type AuthDeps, type RequestOrigin } from './deps.ts';

export interface ReauthenticateInput {
  session: Session;
  password: string;
  /** The TOTP code, asked for when a second factor is enrolled. */
  code: string;
  origin: RequestOrigin;
}

export type ReauthenticateResult =
  | { kind: 'confirmed' }
  | { kind: 'throttled'; retryAfterSeconds: number; needsCode: boolean }
  /** An organization of theirs requires single sign-on: the password proves nothing here, as at sign-in. */
  | { kind: 'sso-required' }
  | { kind: 'refused'; reason: 'wrong-password' | 'wrong-code' | 'reused-code'; needsCode: boolean };

/**
 * Prove the password (and a TOTP code when enrolled) again in a signed-in session, so that sensitive changes
 * are allowed for a while (reauth.ts). Throttled like a sign-in, and refused like one for a member of an
 * organization that requires single sign-on (they confirm through its provider: sso/reauthentication.ts); a
 * failure is recorded as `auth.reauthentication_failed`, a success marks the session and is recorded as `auth.reauthenticated`.
 */
export async function reauthenticate(deps: AuthDeps, actor: Actor, input: ReauthenticateInput): Promise<ReauthenticateResult> {
  const user = authorizeOwnAccount(actor, input.session);
  if (await passwordSignInRefusedBy(deps.db, user.userId)) {
    await recordOwnAccountEvent(deps.db, user, input.origin, { action: 'auth.reauthentication_failed', outcome: 'denied', reason: 'sso required' });
    return { kind: 'sso-required' };
  }
  const needsCode = await deps.mfa.isEnrolled(user.userId);
  const verdict = await deps.throttle.attempt({ account: user.email, address: input.origin.ip, ...(needsCode ? { mfa: user.userId } : {}) });
  if (verdict.blocked) return { kind: 'throttled', retryAfterSeconds: verdict.retryAfterSeconds, needsCode };
  const proved = await authenticate(deps.db, user.email, input.password);
  const passwordOk = proved !== null && proved.id === user.userId;
  const outcome = await inTransaction(deps.db, async (trx): Promise<ReauthenticateResult> => {
    let reason: 'wrong-password' | 'wrong-code' | 'reused-code' | null = passwordOk ? null : 'wrong-password';
    if (passwordOk && needsCode) {
      const check = await deps.mfa.in(trx).verifyTotp(user.userId, input.code);
      reason = check === 'ok' ? null : check === 'reused' ? 'reused-code' : 'wrong-code';
    }
    if (reason) {
      const why = reason === 'reused-code' ? 'code reused' : reason === 'wrong-code' ? 'wrong code' : 'wrong password';
      await recordOwnAccountEvent(trx, user, input.origin, { action: 'auth.reauthentication_failed', outcome: 'failure', reason: why });
      return { kind: 'refused', reason, needsCode };
    }
    await deps.sessions.in(trx).markReauthenticated(input.session);
    // as the provider's confirmation records it (sso/reauthentication.ts), with how it was proved
    await recordOwnAccountEvent(trx, user, input.origin, { action: 'auth.reauthenticated', outcome: 'success', details: { method: 'password', mfa: needsCode } });
    return { kind: 'confirmed' };
  });
  await (outcome.kind === 'confirmed' ? verdict.reservation.succeeded() : verdict.reservation.failed());
  return outcome;
}
