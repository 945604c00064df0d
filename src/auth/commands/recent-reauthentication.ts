import { REAUTH_MAX_AGE_MS, ReauthenticationRequiredError, reauthUrl } from '../reauth.ts';
import type { Session } from '../sessions.ts';

/**
 * Sensitive changes (a second factor, a credential, the sign-in address) need the password — and the code, when
 * enrolled — proved again within REAUTH_MAX_AGE_MS. Pages send the browser to the re-authentication page first;
 * this is the use case's own check, for a confirmation that aged while the form was open. `next` is where the
 * re-authentication page returns to.
 */
export function assertRecentReauthentication(session: Session, next: string, now = Date.now()): void {
  const at = session.reauthenticatedAt;
  if (at === null || now - at < 0 || now - at >= REAUTH_MAX_AGE_MS) throw new ReauthenticationRequiredError(reauthUrl(next));
}
