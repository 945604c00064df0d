import type { UserActor } from '../../access/actor.ts';
import { authorize } from '../../access/authorize.ts';
import { recordAuditEvent } from '../../audit/audit-log.ts';
import { effectiveSettings, type ReviewSettings } from '../../changes/approval-rules.ts';
import { CLASSIFICATION_ORDER } from '../../content/classification.ts';
import { withOrg } from '../../db/connection.ts';
import { NotFoundError } from '../../errors.ts';
import { auditUser, type OrganizationCommandDeps } from './deps.ts';
import { freshActor } from './membership-lock.ts';
import type { SettingsAuditContext } from './change-settings.ts';

const describe = (setting: ReviewSettings[keyof ReviewSettings]) => (setting.approvals === 0 ? 'off' : `${setting.approvals} ${setting.minimumRole}`);

/**
 * Save an organization's review settings (admins and owners, decided on the role the database holds now). In one
 * transaction: a row per classification, and the audit event `settings.review_changed` naming each changed
 * classification with its old and new setting ("off", or "<approvals> <lowest role>"). The floors of the
 * approval rules apply whatever is asked (the form refuses lower values first). Returns the changed classifications.
 */
export async function changeReviewSettings(
  deps: OrganizationCommandDeps,
  actor: UserActor,
  input: { orgId: string; settings: ReviewSettings; audit: SettingsAuditContext },
): Promise<string[]> {
  const { orgId, audit } = input;
  const next = effectiveSettings(input.settings);
  return withOrg(deps.db, orgId, async (trx) => {
    const org = await trx.selectFrom('organizations').select('slug').where('id', '=', orgId).forUpdate().executeTakeFirst();
    if (!org) throw new NotFoundError();
    authorize(await freshActor(trx, actor, orgId), 'manage', { kind: 'org-settings', orgId }, { hidden: true });
    const rows = await trx.selectFrom('organization_review_settings').select(['classification', 'approvals', 'minimum_role']).where('org_id', '=', orgId).execute();
    const previous = effectiveSettings(Object.fromEntries(rows.map((r) => [r.classification, { approvals: r.approvals, minimumRole: r.minimum_role }])));
    const changed = CLASSIFICATION_ORDER.filter((c) => describe(previous[c]) !== describe(next[c]));
    if (changed.length === 0) return [];
    for (const classification of changed) {
      const setting = next[classification];
      const values = { approvals: setting.approvals, minimum_role: setting.minimumRole === 'viewer' ? 'member' as const : setting.minimumRole, updated_at: new Date() };
      await trx
        .insertInto('organization_review_settings')
        .values({ org_id: orgId, classification, ...values })
        .onConflict((oc) => oc.columns(['org_id', 'classification']).doUpdateSet(values))
        .execute();
    }
    // what open change requests need changed with the settings: their stored summaries are brought up to date
    // when next listed or shown (change-requests.ts; 'stale' matches no main commit)
    await trx.updateTable('change_requests').set({ summary_main: 'stale' }).where('org_id', '=', orgId).where('state', '=', 'open').where('summary_head', 'is not', null).execute();
    const details: Record<string, string> = { changed: changed.join(' ') };
    for (const c of changed) {
      details[`${c}_from`] = describe(previous[c]);
      details[`${c}_to`] = describe(next[c]);
    }
    await recordAuditEvent(trx, {
      orgId,
      actor: auditUser(actor),
      action: 'settings.review_changed',
      target: { type: 'organization', id: orgId, label: org.slug },
      outcome: 'success',
      requestId: audit.requestId,
      ip: audit.ip,
      details,
    });
    return changed;
  });
}
