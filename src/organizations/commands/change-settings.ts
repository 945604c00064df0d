import { sql } from 'kysely';
import type { UserActor } from '../../access/actor.ts';
import { authorize } from '../../access/authorize.ts';
import { recordAuditEvent } from '../../audit/audit-log.ts';
import { SESSION_IDLE_MS } from '../../auth/sessions.ts';
import { withOrg } from '../../db/connection.ts';
import { NotFoundError } from '../../errors.ts';
import { forgetImageHosts } from '../image-hosts.ts';
import type { OrgSettings } from '../settings.ts';
import { auditUser, type OrganizationCommandDeps } from './deps.ts';
import { freshActor } from './membership-lock.ts';

export interface ChangeSettingsInput {
  orgId: string;
  /** The whole new settings, as parsed from the form (settings.ts parseSettingsForm). */
  settings: OrgSettings;
  audit: SettingsAuditContext;
}

export interface SettingsAuditContext {
  requestId: string;
  ip: string;
}

/** Names of changed settings in audit details: `<name>_from` / `<name>_to` (no key may look like a secret). */
const AUDIT_NAMES: Record<keyof OrgSettings, string> = {
  requireMfa: 'require_mfa',
  sessionIdleMinutes: 'idle_minutes',
  sessionAbsoluteMinutes: 'absolute_minutes',
  accessGrantMaxMinutes: 'grant_max_minutes',
  imageHosts: 'image_hosts',
  ackDueDays: 'ack_due_days',
  auditRetentionDays: 'audit_retention_days',
  refuseBrokenLinks: 'refuse_broken_links',
};

/** A setting's value as compared and recorded (host lists as one space-separated string). */
const auditValue = (value: OrgSettings[keyof OrgSettings]): string | number | null =>
  Array.isArray(value) ? value.join(' ') : typeof value === 'boolean' ? (value ? 'on' : 'off') : value;

/**
 * Save an organization's settings, with the permission decided on the role the database holds now. In one
 * transaction: the organization row (locked), the audit event `settings.changed` with old and new values, and
 * the tightening of what already exists — live sessions of members are shortened to the new limits (never
 * lengthened), and live access grants end no later than the new maximum after they were granted.
 * The MFA requirement applies from each affected member's next sign-in. Returns the names of changed settings.
 */
export async function changeSettings(
  deps: OrganizationCommandDeps,
  actor: UserActor,
  input: ChangeSettingsInput,
): Promise<(keyof OrgSettings)[]> {
  const { orgId, audit } = input;
  const result = await withOrg(deps.db, orgId, async (trx) => {
    const org = await trx
      .selectFrom('organizations')
      .select(['slug', 'require_mfa', 'session_idle_minutes', 'session_absolute_minutes', 'access_grant_max_minutes', 'image_hosts', 'ack_due_days', 'audit_retention_days', 'refuse_broken_links'])
      .where('id', '=', orgId)
      .forUpdate()
      .executeTakeFirst();
    if (!org) throw new NotFoundError();
    // Not (or no longer) an admin here: the same answer as for an organization that does not exist.
    authorize(await freshActor(trx, actor, orgId), 'manage', { kind: 'org-settings', orgId }, { hidden: true });

    const previous: OrgSettings = {
      requireMfa: org.require_mfa,
      sessionIdleMinutes: org.session_idle_minutes,
      sessionAbsoluteMinutes: org.session_absolute_minutes,
      accessGrantMaxMinutes: org.access_grant_max_minutes,
      imageHosts: org.image_hosts,
      ackDueDays: org.ack_due_days,
      auditRetentionDays: org.audit_retention_days,
      refuseBrokenLinks: org.refuse_broken_links,
    };
    // a form without the retention field leaves it as it is
    const next: OrgSettings = { ...input.settings, auditRetentionDays: input.settings.auditRetentionDays ?? previous.auditRetentionDays };
    const changed = (Object.keys(AUDIT_NAMES) as (keyof OrgSettings)[]).filter((key) => auditValue(previous[key]) !== auditValue(next[key]));
    if (changed.length === 0) return { changed, members: [] as string[] };

    await trx
      .updateTable('organizations')
      .set({
        require_mfa: next.requireMfa,
        session_idle_minutes: next.sessionIdleMinutes,
        session_absolute_minutes: next.sessionAbsoluteMinutes,
        access_grant_max_minutes: next.accessGrantMaxMinutes,
        image_hosts: next.imageHosts,
        ack_due_days: next.ackDueDays,
        audit_retention_days: next.auditRetentionDays ?? org.audit_retention_days,
        refuse_broken_links: next.refuseBrokenLinks,
      })
      .where('id', '=', orgId)
      .execute();

    const members = (await trx.selectFrom('memberships').select('user_id').where('org_id', '=', orgId).execute()).map((m) => m.user_id);
    const now = new Date();
    if (members.length > 0 && (next.sessionIdleMinutes !== null || next.sessionAbsoluteMinutes !== null)) {
      // Existing sessions only ever get shorter here; new sessions take the strictest limit of all the
      // person's organizations at sign-in (SessionStore.limitsFor).
      await trx
        .updateTable('sessions')
        .set({
          ...(next.sessionAbsoluteMinutes !== null
            ? { expires_at: sql<Date>`least(expires_at, created_at + make_interval(mins => ${next.sessionAbsoluteMinutes}))` }
            : {}),
          ...(next.sessionIdleMinutes !== null
            ? { idle_seconds: sql<number>`least(coalesce(idle_seconds, ${SESSION_IDLE_MS / 1000}), ${next.sessionIdleMinutes * 60})` }
            : {}),
        })
        .where('user_id', 'in', trx.selectFrom('memberships').select('user_id').where('org_id', '=', orgId))
        .where('pending', 'is', null)
        .where('expires_at', '>', now)
        .execute();
    }
    if (next.accessGrantMaxMinutes < previous.accessGrantMaxMinutes) {
      await trx
        .updateTable('access_grants')
        .set({ expires_at: sql<Date>`least(expires_at, granted_at + make_interval(mins => ${next.accessGrantMaxMinutes}))` })
        .where('org_id', '=', orgId)
        .where('expires_at', '>', now)
        .execute();
    }

    const details: Record<string, string | number | null> = { changed: changed.map((key) => AUDIT_NAMES[key]).join(' ') };
    for (const key of changed) {
      details[`${AUDIT_NAMES[key]}_from`] = auditValue(previous[key]);
      details[`${AUDIT_NAMES[key]}_to`] = auditValue(next[key]);
    }
    await recordAuditEvent(trx, {
      orgId,
      actor: auditUser(actor),
      action: 'settings.changed',
      target: { type: 'organization', id: orgId, label: org.slug },
      outcome: 'success',
      requestId: audit.requestId,
      ip: audit.ip,
      details,
    });
    return { changed, members };
  });
  // Sessions cached by this process pick up shortened limits at once (other processes within seconds); so do
  // the image hosts of the organization's pages.
  for (const userId of result.members) deps.sessions.dropUser(userId);
  if (result.changed.includes('imageHosts')) forgetImageHosts(deps.db);
  if (result.changed.length > 0) await deps.sessions.organizationChanged(orgId);
  return result.changed;
}
