import type { Actor } from '../../access/actor.ts';
import { changeEmail as changeStoredEmail } from '../accounts.ts';
import type { Session } from '../sessions.ts';
import { authorizeOwnAccount, type AuthDeps, type RequestOrigin } from './deps.ts';
import { assertRecentReauthentication } from './recent-reauthentication.ts';

/**
 * Change the address one signs in with (after a recent re-authentication). The change and `auth.email_changed`
 * are one transaction (accounts.ts changeEmail); then every remembered session of the user is dropped so each
 * shows and records the new address from its next request. Returns null when the address was already the user's.
 * Invalid input is an InvalidInputError; an address of another account an EmailInUseError (409).
 */
export async function changeEmail(
  deps: AuthDeps,
  actor: Actor,
  input: { session: Session; email: string; origin: RequestOrigin },
): Promise<{ from: string; to: string } | null> {
  const user = authorizeOwnAccount(actor, input.session);
  assertRecentReauthentication(input.session, '/-/account/email');
  try {
    const changed = await changeStoredEmail(deps.db, { userId: user.userId, email: input.email, audit: input.origin });
    if (changed) await deps.sessions.invalidateUser(user.userId);
    return changed;
  } finally {
    deps.notices.forget(user.userId);
  }
}
