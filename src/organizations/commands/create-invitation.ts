import { randomBytes } from 'node:crypto';
import type { UserActor } from '../../access/actor.ts';
import { authorize } from '../../access/authorize.ts';
import { isRole } from '../../access/roles.ts';
import { recordAuditEvent } from '../../audit/audit-log.ts';
import { normalizeEmail } from '../../auth/accounts.ts';
import { withOrg } from '../../db/connection.ts';
import { ConflictError, InvalidInputError } from '../../errors.ts';
import { hashInvitationToken, INVITATION_LIFETIME_MS } from '../invitations.ts';
import { auditUser, type OrganizationCommandDeps } from './deps.ts';
import { freshActor } from './membership-lock.ts';

export interface CreateInvitationInput {
  orgId: string;
  email: string;
  /** As the form sent it: checked to be a role here. */
  role: unknown;
}

/**
 * Invite someone by email with a role the inviter may hand out (decided with the inviter's role as the database
 * holds it now). Returns the link token, shown once to the inviter: only its hash is stored, with
 * `member.invited` in the same transaction (there is no email sending).
 */
export async function createInvitation(
  deps: Pick<OrganizationCommandDeps, 'db'>,
  actor: UserActor,
  input: CreateInvitationInput,
  now: number = Date.now(),
): Promise<{ token: string; email: string; expiresAt: Date }> {
  const { orgId } = input;
  const email = normalizeEmail(input.email);
  if (!isRole(input.role)) throw new InvalidInputError('Choose one of the roles.');
  const role = input.role;
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now + INVITATION_LIFETIME_MS);
  await withOrg(deps.db, orgId, async (trx) => {
    const fresh = await freshActor(trx, actor, orgId);
    const message = `Your role does not allow you to invite ${role === 'admin' || role === 'owner' ? 'an' : 'a'} ${role}.`;
    authorize(fresh, 'manage', { kind: 'members', orgId }, message);
    authorize(fresh, 'grant', { kind: 'role', orgId, role }, message);
    const already = await trx
      .selectFrom('memberships as m')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select('u.id')
      .where('m.org_id', '=', orgId)
      .where('u.email', '=', email)
      .executeTakeFirst();
    if (already) throw new ConflictError(`${email} is already a member.`);
    const row = await trx
      .insertInto('invitations')
      .values({ org_id: orgId, email, role, token_hash: hashInvitationToken(token), invited_by: actor.userId, created_at: new Date(now), expires_at: expiresAt })
      .returning('id')
      .executeTakeFirstOrThrow();
    await recordAuditEvent(trx, {
      orgId,
      actor: auditUser(actor),
      action: 'member.invited',
      target: { type: 'invitation', id: row.id, label: email },
      outcome: 'success',
      details: { role },
    });
  });
  return { token, email, expiresAt };
}
