/**
 * An organization's review settings (issue #13): per classification, whether a change must be reviewed before it
 * reaches the published branch, how many approvals it needs, and the lowest role that counts. The floors are the
 * approval rules' (changes/approval-rules.ts): confidential is always reviewed (1 approval by a manager or above),
 * restricted keeps the two-person rule (2 approvals by admins or owners); public and internal publish directly
 * unless the organization turns review on for them. The change is the command commands/change-review-settings.ts.
 */
import { isRole, roleAtLeast } from '../access/roles.ts';
import { effectiveSettings, MAX_APPROVALS, reviewFloor, type ReviewSetting, type ReviewSettings } from '../changes/approval-rules.ts';
import { CLASSIFICATION_ORDER } from '../content/classification.ts';
import type { Classification } from '../content/types.ts';
import { withOrg, type Db } from '../db/connection.ts';
import { InvalidInputError } from '../errors.ts';

/** The settings in force for an organization (its rows over the defaults, never below the floors). */
export async function readReviewSettings(db: Db, orgId: string): Promise<ReviewSettings> {
  const rows = await withOrg(db, orgId, (trx) =>
    trx.selectFrom('organization_review_settings').select(['classification', 'approvals', 'minimum_role']).where('org_id', '=', orgId).execute(),
  );
  return effectiveSettings(Object.fromEntries(rows.map((r) => [r.classification, { approvals: r.approvals, minimumRole: r.minimum_role }])));
}

/** Field names of the form: `review_<classification>` (on/off), `approvals_<c>`, `role_<c>`. */
export type ReviewSettingsFormValues = Record<string, string>;

/** The form was read but some values are not acceptable: one message per classification. */
export class ReviewSettingsValidationError extends InvalidInputError {
  constructor(readonly fieldErrors: Partial<Record<Classification, string>>) {
    super('Some review settings are not valid. Correct the fields marked below.');
  }
}

/** The settings as the form shows them. */
export function reviewSettingsFormValues(settings: ReviewSettings): ReviewSettingsFormValues {
  const values: ReviewSettingsFormValues = {};
  for (const c of CLASSIFICATION_ORDER) {
    values[`review_${c}`] = settings[c].approvals > 0 ? 'on' : '';
    values[`approvals_${c}`] = String(Math.max(settings[c].approvals, 1));
    values[`role_${c}`] = settings[c].minimumRole;
  }
  return values;
}

/** What the form sent, as text (missing fields empty), for showing it again. */
export function submittedReviewSettings(body: unknown): ReviewSettingsFormValues {
  const source = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const values: ReviewSettingsFormValues = {};
  for (const c of CLASSIFICATION_ORDER) {
    for (const key of [`review_${c}`, `approvals_${c}`, `role_${c}`]) values[key] = typeof source[key] === 'string' ? (source[key]).slice(0, 20) : '';
  }
  return values;
}

/**
 * Validates the form. Review of confidential and restricted documents cannot be turned off, and no number or
 * role below their floor is accepted (the form says so rather than silently raising it).
 */
export function parseReviewSettingsForm(body: unknown): ReviewSettings {
  const values = submittedReviewSettings(body);
  const errors: Partial<Record<Classification, string>> = {};
  const chosen = {} as ReviewSettings;
  for (const c of CLASSIFICATION_ORDER) {
    const floor = reviewFloor(c);
    const on = floor !== null || values[`review_${c}`] === 'on';
    const role = values[`role_${c}`]!.trim();
    const count = /^\d{1,2}$/.test(values[`approvals_${c}`]!.trim()) ? Number(values[`approvals_${c}`]!.trim()) : NaN;
    if (!on) {
      chosen[c] = { approvals: 0, minimumRole: isRole(role) && role !== 'viewer' ? role : 'manager' };
      continue;
    }
    if (!Number.isInteger(count) || count < 1 || count > MAX_APPROVALS) {
      errors[c] = `Approvals must be a whole number from ${floor?.approvals ?? 1} to ${MAX_APPROVALS}.`;
      continue;
    }
    if (!isRole(role) || role === 'viewer') {
      errors[c] = 'Choose the lowest role whose approval counts.';
      continue;
    }
    const setting: ReviewSetting = { approvals: count, minimumRole: role };
    if (floor && (setting.approvals < floor.approvals || !roleAtLeast(setting.minimumRole, floor.minimumRole))) {
      errors[c] =
        c === 'restricted'
          ? `Restricted documents always need at least ${floor.approvals} approvals by ${floor.minimumRole}s or owners (the two-person rule).`
          : `${c[0]!.toUpperCase()}${c.slice(1)} documents always need at least ${floor.approvals} approval by a ${floor.minimumRole} or above.`;
      continue;
    }
    chosen[c] = setting;
  }
  if (Object.keys(errors).length > 0) throw new ReviewSettingsValidationError(errors);
  return chosen;
}
