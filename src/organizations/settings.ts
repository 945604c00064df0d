import { sql } from 'kysely';
import { z } from 'zod';
import type { UserActor } from '../access/actor.ts';
import { can } from '../access/policy.ts';
import { recordAuditEvent } from '../audit/audit-log.ts';
import type { SessionStore } from '../auth/sessions.ts';
import { READER_SESSION_ABSOLUTE_MS, READER_SESSION_IDLE_MS, SESSION_IDLE_MS } from '../auth/sessions.ts';
import type { Db } from '../db/connection.ts';
import { withOrg } from '../db/connection.ts';
import type { RequireMfa } from '../db/schema.ts';
import { InvalidInputError, NotFoundError } from '../errors.ts';
import { forgetImageHosts } from './image-hosts.ts';

/**
 * An organization's security settings: who must use MFA, how long its members' sessions last, and how long an
 * access grant may last. Admins and owners change them (policy: 'manage' on 'org-settings').
 */
export interface OrgSettings {
  requireMfa: RequireMfa;
  /** null: the role defaults (sessions.ts). */
  sessionIdleMinutes: number | null;
  sessionAbsoluteMinutes: number | null;
  accessGrantMaxMinutes: number;
  /** Further https hosts the organization's pages may show images from (none: only this server and data: URLs). */
  imageHosts: string[];
  /** Days people have to acknowledge a newly published version (evidence/acknowledgments.ts). */
  ackDueDays: number;
}

export const REQUIRE_MFA_CHOICES: readonly RequireMfa[] = ['none', 'admins', 'everyone'];

/**
 * Accepted ranges. Session limits never exceed the longest any session lives anyway (4 hours idle, 24 hours
 * absolute: sessionLimitsFor starts from those), so a larger number would be a setting without effect.
 * The database's CHECK constraints are wider; these are the ones the form enforces.
 */
export const SETTINGS_LIMITS = {
  idle: { min: 5, max: READER_SESSION_IDLE_MS / 60_000 },
  absolute: { min: 15, max: READER_SESSION_ABSOLUTE_MS / 60_000 },
  grant: { min: 1, max: 1440 },
  ackDays: { min: 1, max: 365 },
} as const;

/** Days to acknowledge when the organization never chose (migration 015's default). */
export const DEFAULT_ACK_DUE_DAYS = 14;

/** Field names of the settings form (and keys of the per-field errors). */
export type SettingsField =
  | 'require_mfa'
  | 'session_idle_minutes'
  | 'session_absolute_minutes'
  | 'access_grant_max_minutes'
  | 'image_hosts'
  | 'ack_due_days';

/** At most this many image hosts. */
export const MAX_IMAGE_HOSTS = 20;
/** A DNS host name with at least two labels (`images.example.com`): nothing a Content-Security-Policy would read
 *  as more than one host (no spaces, quotes, semicolons, schemes, paths or wildcards). */
const HOST_NAME = /^(?=.{4,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** The image hosts field: host names separated by spaces, commas or new lines, lower-cased, without repeats. */
function imageHosts(text: string): { hosts: string[] } | { error: string } {
  const hosts = [...new Set(text.toLowerCase().split(/[\s,]+/).filter(Boolean))];
  const bad = hosts.find((host) => !HOST_NAME.test(host));
  if (bad !== undefined) {
    return { error: `“${bad.slice(0, 100)}” is not a host name. Enter host names only, like images.example.com (no https://, paths or wildcards).` };
  }
  if (hosts.length > MAX_IMAGE_HOSTS) return { error: `Enter at most ${MAX_IMAGE_HOSTS} image hosts.` };
  return { hosts };
}

/** What the form sent, as text, to show again next to the errors. */
export type SettingsFormValues = Record<SettingsField, string>;

/** The form was read but some values are not acceptable: one message per field. */
export class SettingsValidationError extends InvalidInputError {
  constructor(readonly fieldErrors: Partial<Record<SettingsField, string>>) {
    super('Some settings are not valid. Correct the fields marked below.');
  }
}

/** Whole minutes within [min, max]; `optional`: an empty field means "use the defaults" (null). */
function minutes(label: string, range: { min: number; max: number }, optional: boolean) {
  const message = `${label} must be a whole number of minutes from ${range.min} to ${range.max}${optional ? ', or empty for the default' : ''}.`;
  return z
    .string({ error: message })
    .max(20, message)
    .transform((value, ctx) => {
      const trimmed = value.trim();
      if (trimmed === '') {
        if (optional) return null;
        ctx.addIssue({ code: 'custom', message: `${label} is required.` });
        return z.NEVER;
      }
      const n = /^\d{1,6}$/.test(trimmed) ? Number(trimmed) : NaN;
      if (!Number.isInteger(n) || n < range.min || n > range.max) {
        ctx.addIssue({ code: 'custom', message });
        return z.NEVER;
      }
      return n;
    });
}

const settingsForm = z
  .object({
    require_mfa: z.enum(['none', 'admins', 'everyone'], { error: 'Choose who must use two-step verification.' }),
    session_idle_minutes: minutes('Idle timeout', SETTINGS_LIMITS.idle, true),
    session_absolute_minutes: minutes('Maximum session length', SETTINGS_LIMITS.absolute, true),
    access_grant_max_minutes: minutes('Longest access grant', SETTINGS_LIMITS.grant, false),
    // empty: the default (an older page without the field)
    ack_due_days: z
      .string()
      .max(20)
      .transform((value, ctx) => {
        const trimmed = value.trim();
        if (trimmed === '') return DEFAULT_ACK_DUE_DAYS;
        const n = /^\d{1,4}$/.test(trimmed) ? Number(trimmed) : NaN;
        const { min, max } = SETTINGS_LIMITS.ackDays;
        if (!Number.isInteger(n) || n < min || n > max) {
          ctx.addIssue({ code: 'custom', message: `Days to acknowledge must be a whole number of days from ${min} to ${max}.` });
          return z.NEVER;
        }
        return n;
      }),
  })
  .superRefine((form, ctx) => {
    if (form.session_idle_minutes !== null && form.session_absolute_minutes !== null && form.session_idle_minutes > form.session_absolute_minutes) {
      ctx.addIssue({
        code: 'custom',
        path: ['session_idle_minutes'],
        message: 'The idle timeout cannot be longer than the maximum session length.',
      });
    }
  });

/** The submitted form as text (missing fields are empty), for showing it again. */
export function settingsFormValues(body: unknown): SettingsFormValues {
  const source = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const text = (key: SettingsField, max = 20) => (typeof source[key] === 'string' ? (source[key]).slice(0, max) : '');
  return {
    require_mfa: text('require_mfa'),
    session_idle_minutes: text('session_idle_minutes'),
    session_absolute_minutes: text('session_absolute_minutes'),
    access_grant_max_minutes: text('access_grant_max_minutes'),
    image_hosts: text('image_hosts', 6000),
    ack_due_days: text('ack_due_days'),
  };
}

/** Validate the settings form; throws SettingsValidationError with a message per wrong field. */
export function parseSettingsForm(body: unknown): OrgSettings {
  const values = settingsFormValues(body);
  const parsed = settingsForm.safeParse(values);
  const hosts = imageHosts(values.image_hosts);
  if (!parsed.success || 'error' in hosts) {
    const fieldErrors: Partial<Record<SettingsField, string>> = {};
    for (const issue of parsed.success ? [] : parsed.error.issues) {
      const field = issue.path[0] as SettingsField | undefined;
      if (field && !fieldErrors[field]) fieldErrors[field] = issue.message;
    }
    if ('error' in hosts) fieldErrors.image_hosts = hosts.error;
    throw new SettingsValidationError(fieldErrors);
  }
  const grant = parsed.data.access_grant_max_minutes;
  if (grant === null) throw new SettingsValidationError({ access_grant_max_minutes: 'Longest access grant is required.' });
  return {
    requireMfa: parsed.data.require_mfa,
    sessionIdleMinutes: parsed.data.session_idle_minutes,
    sessionAbsoluteMinutes: parsed.data.session_absolute_minutes,
    accessGrantMaxMinutes: grant,
    imageHosts: hosts.hosts,
    ackDueDays: parsed.data.ack_due_days,
  };
}

/** The settings as the form shows them. */
export function settingsAsFormValues(settings: OrgSettings): SettingsFormValues {
  return {
    require_mfa: settings.requireMfa,
    session_idle_minutes: settings.sessionIdleMinutes === null ? '' : String(settings.sessionIdleMinutes),
    session_absolute_minutes: settings.sessionAbsoluteMinutes === null ? '' : String(settings.sessionAbsoluteMinutes),
    access_grant_max_minutes: String(settings.accessGrantMaxMinutes),
    image_hosts: settings.imageHosts.join('\n'),
    ack_due_days: String(settings.ackDueDays),
  };
}

/** An organization's current settings. */
export async function readSettings(db: Db, orgId: string): Promise<OrgSettings> {
  const row = await db
    .selectFrom('organizations')
    .select(['require_mfa', 'session_idle_minutes', 'session_absolute_minutes', 'access_grant_max_minutes', 'image_hosts', 'ack_due_days'])
    .where('id', '=', orgId)
    .executeTakeFirst();
  if (!row) throw new NotFoundError();
  return {
    requireMfa: row.require_mfa,
    sessionIdleMinutes: row.session_idle_minutes,
    sessionAbsoluteMinutes: row.session_absolute_minutes,
    accessGrantMaxMinutes: row.access_grant_max_minutes,
    imageHosts: row.image_hosts,
    ackDueDays: row.ack_due_days,
  };
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
};

/** A setting's value as compared and recorded (host lists as one space-separated string). */
const auditValue = (value: OrgSettings[keyof OrgSettings]): string | number | null => (Array.isArray(value) ? value.join(' ') : value);

/**
 * Save an organization's settings, with the permission decided on the role the database holds now. In one
 * transaction: the organization row (locked), the audit event `settings.changed` with old and new values, and
 * the tightening of what already exists — live sessions of members are shortened to the new limits (never
 * lengthened), and live access grants end no later than the new maximum after they were granted.
 * The MFA requirement applies from each affected member's next sign-in. Returns the names of changed settings.
 */
export async function updateSettings(
  db: Db,
  sessions: SessionStore,
  actor: UserActor,
  orgId: string,
  next: OrgSettings,
  audit: SettingsAuditContext,
): Promise<(keyof OrgSettings)[]> {
  const result = await withOrg(db, orgId, async (trx) => {
    const org = await trx
      .selectFrom('organizations')
      .select(['slug', 'require_mfa', 'session_idle_minutes', 'session_absolute_minutes', 'access_grant_max_minutes', 'image_hosts', 'ack_due_days'])
      .where('id', '=', orgId)
      .forUpdate()
      .executeTakeFirst();
    if (!org) throw new NotFoundError();
    const membership = await trx
      .selectFrom('memberships')
      .select('role')
      .where('org_id', '=', orgId)
      .where('user_id', '=', actor.userId)
      .executeTakeFirst();
    const fresh: UserActor = { ...actor, memberships: new Map(membership ? [[orgId, membership.role]] : []) };
    // Not (or no longer) an admin here: the same answer as for an organization that does not exist.
    if (!can(fresh, 'manage', { kind: 'org-settings', orgId })) throw new NotFoundError();

    const previous: OrgSettings = {
      requireMfa: org.require_mfa,
      sessionIdleMinutes: org.session_idle_minutes,
      sessionAbsoluteMinutes: org.session_absolute_minutes,
      accessGrantMaxMinutes: org.access_grant_max_minutes,
      imageHosts: org.image_hosts,
      ackDueDays: org.ack_due_days,
    };
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
      actor: { type: 'user', id: actor.userId, label: actor.email },
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
  for (const userId of result.members) sessions.invalidateUser(userId);
  if (result.changed.includes('imageHosts')) forgetImageHosts(db);
  return result.changed;
}

/** Whether this user is affected by the organization's MFA requirement but has not enrolled yet. */
export async function mustEnrollAtNextSignIn(db: Db, settings: OrgSettings, userId: string, role: string): Promise<boolean> {
  const affected = settings.requireMfa === 'everyone' || (settings.requireMfa === 'admins' && (role === 'owner' || role === 'admin'));
  if (!affected) return false;
  const row = await db.selectFrom('user_mfa').select('totp_enrolled_at').where('user_id', '=', userId).executeTakeFirst();
  return !row?.totp_enrolled_at;
}
