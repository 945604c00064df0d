import type { UserActor } from '../../access/actor.ts';
import { authorize } from '../../access/authorize.ts';
import { recordAuditEvent } from '../../audit/audit-log.ts';
import { assertRecentReauthentication } from '../../auth/commands/recent-reauthentication.ts';
import type { Session } from '../../auth/sessions.ts';
import { withOrg } from '../../db/connection.ts';
import { InvalidInputError, NotFoundError } from '../../errors.ts';
import { DELETION_GRACE_MS, type ScheduledDeletion } from '../deletion.ts';
import { auditUser, type OrganizationCommandDeps } from './deps.ts';
import { freshActor } from './membership-lock.ts';

export interface ScheduleDeletionInput {
  orgId: string;
  /** What the owner typed to confirm: must be the organization's slug exactly. */
  confirmSlug: string;
  /** The owner's browser session: the deletion needs a recent re-authentication in it. */
  session: Session;
  /** Where the re-authentication page returns to. */
  next: string;
  audit: { requestId: string; ip: string };
}

/**
 * Schedule an organization's deletion (owners only, re-authenticated, confirmed by typing its slug): from now the
 * organization is closed to its members, and `DELETION_GRACE_MS` later the purge job removes it. Recorded as
 * `organization.deletion_scheduled` in the organization's chain. Scheduling again changes nothing.
 */
export async function scheduleDeletion(deps: OrganizationCommandDeps, actor: UserActor, input: ScheduleDeletionInput): Promise<ScheduledDeletion> {
  const now = deps.now?.() ?? Date.now();
  const { orgId } = input;
  const result = await withOrg(deps.db, orgId, async (trx) => {
    const org = await trx
      .selectFrom('organizations')
      .select(['id', 'slug', 'name', 'deletion_requested_at', 'deletion_purge_after'])
      .where('id', '=', orgId)
      .forUpdate()
      .executeTakeFirst();
    if (!org) throw new NotFoundError();
    authorize(await freshActor(trx, actor, orgId), 'delete', { kind: 'organization-data', orgId }, { hidden: true });
    // re-authentication is timed by the sessions' clock, the grace period by the deletion's
    assertRecentReauthentication(input.session, input.next);
    if (input.confirmSlug.trim() !== org.slug) {
      throw new InvalidInputError(`To confirm, type the organization's short name exactly: ${org.slug}`);
    }
    if (org.deletion_requested_at && org.deletion_purge_after) {
      return { scheduled: { orgId, slug: org.slug, name: org.name, requestedAt: new Date(org.deletion_requested_at), purgeAfter: new Date(org.deletion_purge_after) }, members: [] as string[] };
    }
    const requestedAt = new Date(now);
    const purgeAfter = new Date(now + DELETION_GRACE_MS);
    await trx.updateTable('organizations').set({ deletion_requested_at: requestedAt, deletion_purge_after: purgeAfter }).where('id', '=', orgId).execute();
    await recordAuditEvent(trx, {
      orgId,
      actor: auditUser(actor),
      action: 'organization.deletion_scheduled',
      target: { type: 'organization', id: orgId, label: org.slug },
      outcome: 'success',
      requestId: input.audit.requestId,
      ip: input.audit.ip,
      details: { purge_after: purgeAfter.toISOString() },
    });
    const members = (await trx.selectFrom('memberships').select('user_id').where('org_id', '=', orgId).execute()).map((m) => m.user_id);
    return { scheduled: { orgId, slug: org.slug, name: org.name, requestedAt, purgeAfter }, members };
  });
  // members' cached sessions still list the organization: every process forgets them now
  for (const userId of result.members) await deps.sessions.invalidateUser(userId);
  if (result.members.length > 0) await deps.sessions.organizationChanged(orgId);
  return result.scheduled;
}

export interface CancelDeletionInput {
  orgId: string;
  audit: { requestId: string; ip: string };
}

/**
 * Cancel a scheduled deletion (owners only) before the purge: the organization opens to its members again as it
 * was. Recorded as `organization.deletion_cancelled`. Returns false when no deletion was scheduled.
 */
export async function cancelDeletion(deps: OrganizationCommandDeps, actor: UserActor, input: CancelDeletionInput): Promise<boolean> {
  const { orgId } = input;
  const result = await withOrg(deps.db, orgId, async (trx) => {
    const org = await trx.selectFrom('organizations').select(['slug', 'deletion_purge_after']).where('id', '=', orgId).forUpdate().executeTakeFirst();
    if (!org) throw new NotFoundError();
    authorize(await freshActor(trx, actor, orgId), 'delete', { kind: 'organization-data', orgId }, { hidden: true });
    if (!org.deletion_purge_after) return null;
    await trx.updateTable('organizations').set({ deletion_requested_at: null, deletion_purge_after: null }).where('id', '=', orgId).execute();
    await recordAuditEvent(trx, {
      orgId,
      actor: auditUser(actor),
      action: 'organization.deletion_cancelled',
      target: { type: 'organization', id: orgId, label: org.slug },
      outcome: 'success',
      requestId: input.audit.requestId,
      ip: input.audit.ip,
      details: { purge_after: new Date(org.deletion_purge_after).toISOString() },
    });
    return (await trx.selectFrom('memberships').select('user_id').where('org_id', '=', orgId).execute()).map((m) => m.user_id);
  });
  if (result === null) return false;
  for (const userId of result) await deps.sessions.invalidateUser(userId);
  await deps.sessions.organizationChanged(orgId);
  return true;
}
