import { recordAccountEvent } from '../audit/account-events.ts';
import type { Db } from '../db/connection.ts';
import { NotFoundError } from '../errors.ts';
import { normalizeEmail } from './accounts.ts';
import type { SessionStore } from './sessions.ts';

/**
 * Disable or re-enable an account (an operator's action: accounts span organizations). Disabling ends every
 * session in the database at once; personal access tokens stop working on their next use (token checks read
 * `disabled_at` every time). Both the change and its audit event (`auth.account_disabled` /
 * `auth.account_enabled`, in every organization of the user) are written in one transaction.
 * `sessions`: the session store of this process, whose memory of the user's sessions is dropped once the change
 * is committed, so the very next request of a disabled user is refused.
 * Returns whether anything changed.
 */
export async function setAccountDisabled(
  db: Db,
  input: { email: string; disabled: boolean; actorLabel: string; reason?: string | null },
  sessions?: SessionStore,
): Promise<{ userId: string; changed: boolean }> {
  const email = normalizeEmail(input.email);
  const result = await db.transaction().execute(async (trx) => {
    const user = await trx.selectFrom('users').select(['id', 'disabled_at']).where('email', '=', email).forUpdate().executeTakeFirst();
    if (!user) throw new NotFoundError(`No account has the email ${email}.`);
    if ((user.disabled_at !== null) === input.disabled) return { userId: user.id, changed: false };
    await trx
      .updateTable('users')
      .set({ disabled_at: input.disabled ? new Date() : null })
      .where('id', '=', user.id)
      .execute();
    if (input.disabled) await trx.deleteFrom('sessions').where('user_id', '=', user.id).execute();
    await recordAccountEvent(trx, user.id, {
      actor: { type: 'system', id: null, label: input.actorLabel },
      action: input.disabled ? 'auth.account_disabled' : 'auth.account_enabled',
      target: { type: 'user', id: user.id, label: email },
      reason: input.reason ?? null,
      outcome: 'success',
    });
    return { userId: user.id, changed: true };
  });
  if (result.changed) await sessions?.invalidateUser(result.userId);
  return result;
}
