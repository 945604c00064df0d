import type { UserActor } from '../../access/actor.ts';
import { authorize } from '../../access/authorize.ts';
import { recordAuditEvent } from '../../audit/audit-log.ts';
import { withOrg } from '../../db/connection.ts';
import { auditUser, type OrganizationCommandDeps } from './deps.ts';
import { freshActor } from './membership-lock.ts';

export interface WithdrawInvitationInput {
  orgId: string;
  invitationId: string;
}

/**
 * Withdraw an invitation before it is used, with `member.invitation_withdrawn` in the same transaction. An
 * unknown, used or already withdrawn invitation changes nothing.
 */
export async function withdrawInvitation(
  deps: Pick<OrganizationCommandDeps, 'db'>,
  actor: UserActor,
  input: WithdrawInvitationInput,
  now: number = Date.now(),
): Promise<void> {
  const { orgId, invitationId } = input;
  authorize(actor, 'manage', { kind: 'members', orgId });
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(invitationId)) return;
  await withOrg(deps.db, orgId, async (trx) => {
    // Decided again with the role the database holds now (the session may remember an older one).
    authorize(await freshActor(trx, actor, orgId), 'manage', { kind: 'members', orgId });
    const withdrawn = await trx
      .updateTable('invitations')
      .set({ revoked_at: new Date(now) })
      .where('org_id', '=', orgId)
      .where('id', '=', invitationId)
      .where('accepted_at', 'is', null)
      .where('revoked_at', 'is', null)
      .returning(['id', 'email', 'role'])
      .executeTakeFirst();
    if (!withdrawn) return;
    await recordAuditEvent(trx, {
      orgId,
      actor: auditUser(actor),
      action: 'member.invitation_withdrawn',
      target: { type: 'invitation', id: withdrawn.id, label: withdrawn.email },
      outcome: 'success',
      details: { role: withdrawn.role },
    });
  });
}
