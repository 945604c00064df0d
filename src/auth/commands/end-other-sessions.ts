import type { Actor } from '../../access/actor.ts';
import { inTransaction } from '../../db/in-transaction.ts';
import type { Session } from '../sessions.ts';
import { authorizeOwnAccount, recordOwnAccountEvent, type AuthDeps, type RequestOrigin } from './deps.ts';

/** End every session of one's own but the current one, with one `auth.session_revoked` (all_others) in the same transaction. */
export async function endOtherSessions(
  deps: AuthDeps,
  actor: Actor,
  input: { session: Session; origin: RequestOrigin },
): Promise<{ count: number }> {
  const user = authorizeOwnAccount(actor, input.session);
  const count = await inTransaction(deps.db, async (trx) => {
    const sessions = deps.sessions.in(trx);
    let ended = 0;
    for (const other of await sessions.listFor(user.userId)) {
      if (other.idHash !== input.session.idHash && (await sessions.revoke(other.idHash, user.userId))) ended++;
    }
    await recordOwnAccountEvent(trx, user, input.origin, {
      action: 'auth.session_revoked',
      outcome: 'success',
      details: { kind: 'all_others', revoked_count: ended },
    });
    return ended;
  });
  deps.notices.forget(user.userId);
  return { count };
}
