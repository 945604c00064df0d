import type { Actor } from '../../access/actor.ts';
import { issuePasswordReset as issueMemberPasswordReset } from '../../organizations/commands/issue-password-reset.ts';
import type { AuthDeps, RequestOrigin } from './deps.ts';

/**
 * Issue a single-use password-reset link for a member of an organization: the organization command
 * (organizations/commands/issue-password-reset.ts), bound to the account services. Refused like the members
 * page (outsiders 404, roles below admin 403), then by the membership rules with the roles the database holds
 * now; the link and `member.password_reset_issued` commit together. Returns the token, to show once.
 */
export async function issuePasswordReset(
  deps: AuthDeps,
  actor: Actor,
  input: { orgId: string; userId: string; origin: RequestOrigin; now?: number },
): Promise<{ token: string; expiresAt: Date; email: string }> {
  return issueMemberPasswordReset(deps, actor, { orgId: input.orgId, userId: input.userId, ...input.origin, now: input.now });
}
