import type { Actor } from '../../access/actor.ts';
import { inTransaction } from '../../db/in-transaction.ts';
import { NotFoundError } from '../../errors.ts';
import type { Session } from '../sessions.ts';
import { authorizeOwnAccount, recordOwnAccountEvent, type AuthDeps, type RequestOrigin } from './deps.ts';

/**
 * End one of one's own sessions by its handle (the current one included). Someone else's session, or one that
 * no longer exists, is a NotFoundError. The deletion and `auth.session_revoked` are one transaction.
 * Returns whether it was the session the request came with (the caller then clears the cookie).
 */
export async function endSession(
  deps: AuthDeps,
  actor: Actor,
  input: { session: Session; handle: string; origin: RequestOrigin },
): Promise<{ endedCurrent: boolean }> {
  const user = authorizeOwnAccount(actor, input.session);
  await inTransaction(deps.db, async (trx) => {
    if (!(await deps.sessions.in(trx).revoke(input.handle, user.userId))) throw new NotFoundError();
    await recordOwnAccountEvent(trx, user, input.origin, {
      action: 'auth.session_revoked',
      outcome: 'success',
      details: { kind: 'one', revoked_count: 1 },
    });
  });
  deps.notices.forget(user.userId);
  return { endedCurrent: input.handle === input.session.idHash };
}
