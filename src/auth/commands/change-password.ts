import type { Actor } from '../../access/actor.ts';
import { inTransaction } from '../../db/in-transaction.ts';
import { authenticate } from '../accounts.ts';
import { hashPassword } from '../passwords.ts';
import type { Session } from '../sessions.ts';
import { authorizeOwnAccount, cookieLifetime, recordOwnAccountEvent, type AuthDeps, type IssuedSession, type RequestOrigin } from './deps.ts';

export interface ChangePasswordInput {
  session: Session;
  current: string;
  password: string;
  origin: RequestOrigin;
}

export type ChangePasswordResult =
  | { kind: 'changed'; session: IssuedSession }
  | { kind: 'throttled'; retryAfterSeconds: number }
  | { kind: 'wrong-current-password' };

/**
 * Change one's password, proving the current one (throttled like a sign-in). A weak new password is an
 * InvalidInputError. The new hash, the end of every session of the user, a fresh session for this browser and
 * `auth.password_changed` are one transaction.
 */
export async function changePassword(deps: AuthDeps, actor: Actor, input: ChangePasswordInput): Promise<ChangePasswordResult> {
  const user = authorizeOwnAccount(actor, input.session);
  const verdict = await deps.throttle.attempt({ account: user.email, address: input.origin.ip });
  if (verdict.blocked) return { kind: 'throttled', retryAfterSeconds: verdict.retryAfterSeconds };
  const proved = await authenticate(deps.db, user.email, input.current);
  if (!proved || proved.id !== user.userId) {
    await verdict.reservation.failed();
    return { kind: 'wrong-current-password' };
  }
  await verdict.reservation.succeeded();
  const hash = await hashPassword(input.password);
  const issued = await inTransaction(deps.db, async (trx) => {
    await trx.updateTable('users').set({ password_hash: hash }).where('id', '=', user.userId).execute();
    // Every other session ends; this browser continues in a fresh one.
    const sessions = deps.sessions.in(trx);
    await sessions.destroyAllFor(user.userId);
    const { id, session } = await sessions.create(user.userId, { reauthenticated: true });
    await recordOwnAccountEvent(trx, user, input.origin, { action: 'auth.password_changed', outcome: 'success' });
    return { id, maxAgeSeconds: cookieLifetime(session) };
  });
  deps.notices.forget(user.userId);
  return { kind: 'changed', session: issued };
}
