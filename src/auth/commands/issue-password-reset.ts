import type { Actor } from '../../access/actor.ts';
import { authorize } from '../../access/authorize.ts';
import { NotFoundError } from '../../errors.ts';
import { issuePasswordReset as issueStoredReset } from '../password-resets.ts';
import type { AuthDeps, RequestOrigin } from './deps.ts';

/**
 * Issue a single-use password-reset link for a member of an organization. Refused like the members page
 * (outsiders 404, roles below admin 403); password-resets.ts then checks the membership rules with the roles the
 * database holds now (admin and above, never oneself, never someone ranked above) and writes the link and
 * `member.password_reset_issued` in one transaction. Returns the token, to show once.
 */
export async function issuePasswordReset(
  deps: AuthDeps,
  actor: Actor,
  input: { orgId: string; userId: string; origin: RequestOrigin; now?: number },
): Promise<{ token: string; expiresAt: Date; email: string }> {
  authorize(actor, 'manage', { kind: 'members', orgId: input.orgId });
  if (actor.kind !== 'user') throw new NotFoundError(); // authorize let a member through: never reached
  return issueStoredReset(deps.db, actor, input.orgId, input.userId, input.origin, input.now);
}
