import type { Actor } from '../../access/actor.ts';
import { inTransaction } from '../../db/in-transaction.ts';
import type { Session } from '../sessions.ts';
import { authorizeOwnAccount, recordOwnAccountEvent, type AuthDeps, type RequestOrigin } from './deps.ts';
import { assertRecentReauthentication } from './recent-reauthentication.ts';

/**
 * New recovery codes replace the old ones (after a recent re-authentication), with `auth.recovery_codes_regenerated`
 * in the same transaction. Returns the codes, to show once; null when no second factor is enrolled.
 */
export async function regenerateRecoveryCodes(
  deps: AuthDeps,
  actor: Actor,
  input: { session: Session; origin: RequestOrigin },
): Promise<string[] | null> {
  const user = authorizeOwnAccount(actor, input.session);
  assertRecentReauthentication(input.session, '/-/account/security');
  const codes = await inTransaction(deps.db, async (trx) => {
    const factors = deps.mfa.in(trx);
    if (!(await factors.isEnrolled(user.userId))) return null;
    const fresh = await factors.regenerateRecoveryCodes(user.userId);
    await recordOwnAccountEvent(trx, user, input.origin, { action: 'auth.recovery_codes_regenerated', outcome: 'success' });
    return fresh;
  });
  deps.notices.forget(user.userId);
  return codes;
}
