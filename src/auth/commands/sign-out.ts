import type { Actor } from '../../access/actor.ts';
import { inTransaction } from '../../db/in-transaction.ts';
import type { Session } from '../sessions.ts';
import { recordAccountEvent } from '../../audit/account-events.ts';
import type { AuthDeps, RequestOrigin } from './deps.ts';

/**
 * Sign out: end the session the browser holds. Whoever holds a session cookie may end it (nothing to authorize);
 * a live session's end is recorded as `auth.sign_out` in the same transaction.
 */
export async function signOut(
  deps: AuthDeps,
  _actor: Actor,
  input: { sessionId: string | undefined; session: Session | null; origin: RequestOrigin },
): Promise<void> {
  await inTransaction(deps.db, async (trx) => {
    if (input.sessionId) await deps.sessions.in(trx).destroy(input.sessionId);
    if (input.session) {
      const { userId, email } = input.session.actor;
      await recordAccountEvent(trx, userId, {
        actor: { type: 'user', id: userId, label: email },
        action: 'auth.sign_out',
        outcome: 'success',
        requestId: input.origin.requestId,
        ip: input.origin.ip,
      });
    }
  });
}
