import type { Actor } from '../../access/actor.ts';
import { inTransaction } from '../../db/in-transaction.ts';
import { ConflictError } from '../../errors.ts';
import { mfaRequiredFor } from '../mfa.ts';
import type { Session } from '../sessions.ts';
import { authorizeOwnAccount, recordOwnAccountEvent, type AuthDeps, type RequestOrigin } from './deps.ts';
import { assertRecentReauthentication } from './recent-reauthentication.ts';

/**
 * Turn two-step verification off (after a recent re-authentication): refused with a ConflictError while an
 * organization of the user requires it of their role; else the key and recovery codes go and `auth.mfa_disabled`
 * is recorded, in one transaction.
 */
export async function disableMfa(deps: AuthDeps, actor: Actor, input: { session: Session; origin: RequestOrigin }): Promise<void> {
  const user = authorizeOwnAccount(actor, input.session);
  assertRecentReauthentication(input.session, '/-/account/security');
  await inTransaction(deps.db, async (trx) => {
    if (await mfaRequiredFor(trx, user.userId)) {
      throw new ConflictError('Your organization requires two-step verification, so it cannot be turned off.');
    }
    await deps.mfa.in(trx).disable(user.userId);
    await recordOwnAccountEvent(trx, user, input.origin, { action: 'auth.mfa_disabled', outcome: 'success' });
  });
  deps.notices.forget(user.userId);
}
