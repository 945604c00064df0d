import type { Actor } from '../../access/actor.ts';
import { authorize } from '../../access/authorize.ts';
import { recordAuditEvent } from '../../audit/audit-log.ts';
import { storePasswordReset } from '../../auth/password-resets.ts';
import type { Db } from '../../db/connection.ts';
import { withOrg } from '../../db/connection.ts';
import { NotFoundError } from '../../errors.ts';
import { auditUser } from './deps.ts';

const REFUSED = 'Your role does not allow you to reset this member’s password.';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface IssuePasswordResetInput {
  orgId: string;
  userId: string;
  requestId?: string;
  ip?: string;
  now?: number;
}

/**
 * Issue a single-use password-reset link for a member (members page). Refused like the members page
 * (outsiders 404, roles below admin 403), then, with the roles the database holds now and both memberships
 * locked, by the rules of a role change (admin and above, never oneself, never someone ranked above the
 * issuer). The link (replacing the member's earlier unused ones) and `member.password_reset_issued` commit
 * together. Returns the token, shown once; only its hash is stored.
 */
export async function issuePasswordReset(
  deps: { db: Db },
  actor: Actor,
  input: IssuePasswordResetInput,
): Promise<{ token: string; expiresAt: Date; email: string }> {
  const { orgId } = input;
  authorize(actor, 'manage', { kind: 'members', orgId }, REFUSED);
  if (actor.kind !== 'user' || !UUID.test(input.userId)) throw new NotFoundError();
  const now = input.now ?? Date.now();
  return withOrg(deps.db, orgId, async (trx) => {
    // both memberships locked: a concurrent role change of either waits for this decision
    const rows = await trx
      .selectFrom('memberships as m')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select(['m.user_id', 'm.role', 'u.email'])
      .where('m.org_id', '=', orgId)
      .where('m.user_id', 'in', [actor.userId, input.userId])
      .forUpdate()
      .execute();
    const actorRow = rows.find((r) => r.user_id === actor.userId);
    const target = rows.find((r) => r.user_id === input.userId);
    if (!actorRow || !target) throw new NotFoundError();
    const fresh = { ...actor, memberships: new Map([[orgId, actorRow.role]]) };
    authorize(fresh, 'manage', { kind: 'membership', orgId, userId: target.user_id, role: target.role }, REFUSED);
    const reset = await storePasswordReset(trx, { orgId, userId: target.user_id, issuedBy: actor.userId, now });
    await recordAuditEvent(trx, {
      orgId,
      actor: auditUser(actor),
      action: 'member.password_reset_issued',
      target: { type: 'user', id: target.user_id, label: target.email },
      outcome: 'success',
      requestId: input.requestId,
      ip: input.ip,
      details: { reset_id: reset.id, expires_at: reset.expiresAt.toISOString() },
    });
    return { token: reset.token, expiresAt: reset.expiresAt, email: target.email };
  });
}
