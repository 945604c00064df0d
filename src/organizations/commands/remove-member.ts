import type { UserActor } from '../../access/actor.ts';
import { authorize } from '../../access/authorize.ts';
import { revokeGrantsOf } from '../../access/grants.ts';
import { recordAuditEvent } from '../../audit/audit-log.ts';
import { withOrg, withUser } from '../../db/connection.ts';
import { ConflictError, InvalidInputError } from '../../errors.ts';
import { auditUser, type OrganizationCommandDeps } from './deps.ts';
import { LAST_OWNER, lockMembership } from './membership-lock.ts';

export interface RemoveMemberInput {
  orgId: string;
  userId: string;
}

/**
 * Remove a member from an organization: their membership and access grants go at once, with `member.removed`
 * in the same transaction; when they belong to no other organization, every session of theirs ends too.
 */
export async function removeMember(deps: OrganizationCommandDeps, actor: UserActor, input: RemoveMemberInput): Promise<void> {
  const { orgId } = input;
  await withOrg(deps.db, orgId, async (trx) => {
    const { ownerCount, fresh, target } = await lockMembership(trx, actor, orgId, input.userId);
    const self = target.user_id === actor.userId;
    if (!self) {
      authorize(fresh, 'manage', { kind: 'membership', orgId, userId: target.user_id, role: target.role }, 'Your role does not allow you to remove this member.');
    }
    if (target.role === 'owner' && ownerCount <= 1) throw new ConflictError(LAST_OWNER);
    if (self) throw new InvalidInputError('You cannot remove yourself.');
    await trx.deleteFrom('memberships').where('org_id', '=', orgId).where('user_id', '=', target.user_id).execute();
    await revokeGrantsOf(trx, orgId, target.user_id);
    await recordAuditEvent(trx, {
      orgId,
      actor: auditUser(actor),
      action: 'member.removed',
      target: { type: 'user', id: target.user_id, label: target.email },
      outcome: 'success',
      details: { role: target.role },
    });
  });
  const others = await withUser(deps.db, input.userId, (trx) =>
    trx.selectFrom('memberships').select('org_id').where('user_id', '=', input.userId).limit(1).execute(),
  );
  if (others.length === 0) await deps.sessions.destroyAllFor(input.userId);
  else await deps.sessions.invalidateUser(input.userId);
}
