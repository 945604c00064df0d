import { z } from 'zod';
import { mfaRequiredBy } from '../access/account-policy.ts';
import { isRole } from '../access/roles.ts';
import { MAX_AUDIT_RETENTION_DAYS, MIN_AUDIT_RETENTION_DAYS } from '../audit/retention.ts';
import { READER_SESSION_ABSOLUTE_MS, READER_SESSION_IDLE_MS } from '../auth/sessions.ts';
import type { Db } from '../db/connection.ts';
import type { RequireMfa } from '../db/schema.ts';
import { InvalidInputError, NotFoundError } from '../errors.ts';

/**
 * An organization's security settings: who must use MFA, how long its members' sessions last, and how long an
 * access grant may last. Admins and owners change them (policy: 'manage' on 'org-settings'; the change is the
 * command commands/change-settings.ts).
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
  /**
   * Days audit events are kept (at least 90; audit/retention.ts prunes older ones, leaving a checkpoint). In a
   * submitted form, null: unchanged (a page without the field never shortens the retention).
   */
  auditRetentionDays: number | null;
  /** Refuse pushes and editor saves that add broken links, missing images or unknown anchors (projects/link-gate.ts). */
  refuseBrokenLinks: boolean;
}

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
  auditRetention: { min: MIN_AUDIT_RETENTION_DAYS, max: MAX_AUDIT_RETENTION_DAYS },
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
  | 'ack_due_days'
  | 'audit_retention_days'
  | 'refuse_broken_links';

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
    // empty: unchanged (an older page without the field); shorter than the minimum is refused, never raised
    audit_retention_days: z
      .string()
      .max(20)
      .transform((value, ctx) => {
        const trimmed = value.trim();
        if (trimmed === '') return null;
        const n = /^\d{1,6}$/.test(trimmed) ? Number(trimmed) : NaN;
        const { min, max } = SETTINGS_LIMITS.auditRetention;
        if (!Number.isInteger(n) || n < min || n > max) {
          ctx.addIssue({ code: 'custom', message: `Days to keep audit events must be a whole number of days from ${min} to ${max}.` });
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
    audit_retention_days: text('audit_retention_days'),
    refuse_broken_links: text('refuse_broken_links'),
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
    auditRetentionDays: parsed.data.audit_retention_days,
    // a checkbox: sent as "yes" when ticked, absent otherwise
    refuseBrokenLinks: values.refuse_broken_links === 'yes',
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
    audit_retention_days: settings.auditRetentionDays === null ? '' : String(settings.auditRetentionDays),
    refuse_broken_links: settings.refuseBrokenLinks ? 'yes' : '',
  };
}

/** An organization's current settings. */
export async function readSettings(db: Db, orgId: string): Promise<OrgSettings> {
  const row = await db
    .selectFrom('organizations')
    .select(['require_mfa', 'session_idle_minutes', 'session_absolute_minutes', 'access_grant_max_minutes', 'image_hosts', 'ack_due_days', 'audit_retention_days', 'refuse_broken_links'])
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
    auditRetentionDays: row.audit_retention_days,
    refuseBrokenLinks: row.refuse_broken_links,
  };
}

/** Whether this user is affected by the organization's MFA requirement but has not enrolled yet. */
export async function mustEnrollAtNextSignIn(db: Db, settings: OrgSettings, userId: string, role: string): Promise<boolean> {
  // the policy's rule (account-policy.ts mfaRequiredBy)
  const affected = isRole(role) ? mfaRequiredBy(settings.requireMfa, role) : settings.requireMfa === 'everyone';
  if (!affected) return false;
  const row = await db.selectFrom('user_mfa').select('totp_enrolled_at').where('user_id', '=', userId).executeTakeFirst();
  return !row?.totp_enrolled_at;
}

/** Whether the organization refuses changes that add broken links (projects/link-gate.ts). */
export async function refusesBrokenLinks(db: Db, orgId: string): Promise<boolean> {
  const row = await db.selectFrom('organizations').select('refuse_broken_links').where('id', '=', orgId).executeTakeFirst();
  return row?.refuse_broken_links === true;
}
