import type { Actor } from '../../access/actor.ts';
import { authorizeOwnAccount } from '../../auth/commands/deps.ts';
import type { Session } from '../../auth/sessions.ts';
import type { EmailCommandDeps } from './deps.ts';

/**
 * Turn one's own email notifications off or on again. Off stops everything that is not about the account's
 * security (security notices and password resets still go); pending non-urgent emails are dropped at sending.
 */
export async function setEmailPreference(deps: Pick<EmailCommandDeps, 'db'>, actor: Actor, input: { session: Session; optOut: boolean }): Promise<void> {
  const user = authorizeOwnAccount(actor, input.session);
  await deps.db.updateTable('users').set({ email_opt_out: input.optOut }).where('id', '=', user.userId).execute();
}

/** Whether the user turned email notifications off. */
export async function emailOptedOut(deps: Pick<EmailCommandDeps, 'db'>, userId: string): Promise<boolean> {
  const row = await deps.db.selectFrom('users').select('email_opt_out').where('id', '=', userId).executeTakeFirst();
  return row?.email_opt_out ?? false;
}
