import type { Actor } from '../../access/actor.ts';
import { usePasswordReset as useStoredReset } from '../password-resets.ts';
import type { AuthDeps, RequestOrigin } from './deps.ts';

/**
 * Set a new password with a reset link an admin or owner issued. The token is the credential, so whoever holds
 * it may use it, signed in or not (nothing to authorize). The new password, the link marked used, the end of
 * every session of the member and `auth.password_reset_used` are one transaction (password-resets.ts). An
 * unusable link is a PasswordResetUnusableError (410), a weak password an InvalidInputError.
 */
export async function usePasswordReset(
  deps: AuthDeps,
  _actor: Actor,
  input: { token: string; password: string; origin: RequestOrigin },
): Promise<{ userId: string; email: string }> {
  const reset = await useStoredReset(deps.db, deps.sessions, input.token, input.password, input.origin);
  deps.notices.forget(reset.userId);
  return reset;
}
