import type { UserActor } from '../../access/actor.ts';
import { authorize } from '../../access/authorize.ts';
import { isRole } from '../../access/roles.ts';
import { recordAuditEvent } from '../../audit/audit-log.ts';
import { withOrg } from '../../db/connection.ts';
import { ConflictError, InvalidInputError } from '../../errors.ts';
import { auditUser, type OrganizationCommandDeps } from './deps.ts';
import { LAST_OWNER, lockMembership } from './membership-lock.ts';

export interface ChangeRoleInput {
  orgId: string;
  userId: string;
  /** As the form sent it: checked to be a role here. */
  role: unknown;
}

/**
 * Change a member's role. Owners may give any role, admins up to admin; nobody changes their own role or the
 * role of someone ranked above them; the last owner stays an owner (409). The change and `member.role_changed`
 * commit together; it takes effect on the member's next request (their cached sessions are dropped).
 */
export async function changeRole(deps: OrganizationCommandDeps, actor: UserActor, input: ChangeRoleInput): Promise<void> {
  const { orgId } = input;
  const newRole = input.role;
  if (!isRole(newRole)) throw new InvalidInputError('Choose one of the roles.');
  await withOrg(deps.db, orgId, async (trx) => {
    const { ownerCount, fresh, target } = await lockMembership(trx, actor, orgId, input.userId);
    const self = target.user_id === actor.userId;
    if (!self) {
      const message = `Your role does not allow you to make this member ${newRole === 'admin' || newRole === 'owner' ? 'an' : 'a'} ${newRole}.`;
      authorize(fresh, 'manage', { kind: 'membership', orgId, userId: target.user_id, role: target.role }, message);
      authorize(fresh, 'grant', { kind: 'role', orgId, role: newRole }, message);
    }
    if (target.role === 'owner' && newRole !== 'owner' && ownerCount <= 1) throw new ConflictError(LAST_OWNER);
    if (self) throw new InvalidInputError('You cannot change your own role.');
    if (target.role === newRole) return;
    await trx.updateTable('memberships').set({ role: newRole }).where('org_id', '=', orgId).where('user_id', '=', target.user_id).execute();
    await recordAuditEvent(trx, {
      orgId,
      actor: auditUser(actor),
      action: 'member.role_changed',
      target: { type: 'user', id: target.user_id, label: target.email },
      outcome: 'success',
      details: { from: target.role, to: newRole },
    });
  });
  await deps.sessions.invalidateUser(input.userId);
}
