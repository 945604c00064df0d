import type { Kysely } from 'kysely';
import type { Classification } from '../content/types.ts';
import type { Db } from '../db/connection.ts';
import { withOrg } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
import { grantKey, type Grants } from './policy.ts';

/** The longest any access grant lasts (DESIGN.md); an organization may set shorter. */
export const GRANT_MAX_MS = 24 * 60 * 60 * 1000;

/** The classifications a grant approved for `approved` opens: that one and any less strict one that needs a grant. */
const coveredBy = (approved: GrantClassification): GrantClassification[] =>
  approved === 'restricted' ? ['confidential', 'restricted'] : ['confidential'];

/** The classifications an access grant is approved for (the others need no grant). */
export type GrantClassification = Extract<Classification, 'confidential' | 'restricted'>;

/**
 * Keys (policy.ts `grantKey`: classification, project, path) of the documents of one project that a user holds a
 * live grant for. A grant opens its document only at the classification it was approved for or a lower one: once
 * the document is reclassified stricter (confidential → restricted, which needs two approvers) the grant no
 * longer matches, and the member can ask again. Asked on every request that needs it (no cache), so an approval
 * opens the document at once and an expiry or a reclassification closes it at once.
 */
export async function liveGrantKeys(
  db: Db,
  scope: { orgId: string; projectId: string; userId: string },
  nowMs: number,
): Promise<Grants> {
  const rows = await withOrg(db, scope.orgId, (trx) =>
    trx
      .selectFrom('access_grants')
      .select(['project_id', 'path', 'classification'])
      .where('org_id', '=', scope.orgId)
      .where('project_id', '=', scope.projectId)
      .where('user_id', '=', scope.userId)
      .where('expires_at', '>', new Date(nowMs))
      .execute(),
  );
  return new Set(rows.flatMap((r) => coveredBy(r.classification).map((c) => grantKey(r.project_id, r.path, c))));
}

/**
 * The live grants of an organization's members (or of one, `userId`), as policy keys per user: for services that
 * ask about many people at once (who must acknowledge a document: evidence/acknowledgments.ts).
 */
export async function liveGrantKeysByUser(db: Db, orgId: string, userId: string | null, nowMs: number): Promise<Map<string, Grants>> {
  const rows = await withOrg(db, orgId, (trx) => {
    let query = trx
      .selectFrom('access_grants')
      .select(['user_id', 'project_id', 'path', 'classification'])
      .where('org_id', '=', orgId)
      .where('expires_at', '>', new Date(nowMs));
    if (userId !== null) query = query.where('user_id', '=', userId);
    return query.execute();
  });
  const byUser = new Map<string, Set<string>>();
  for (const row of rows) {
    const keys = byUser.get(row.user_id) ?? new Set<string>();
    for (const classification of coveredBy(row.classification)) keys.add(grantKey(row.project_id, row.path, classification));
    byUser.set(row.user_id, keys);
  }
  return byUser;
}

/**
 * Record the grant an approved request produces, for the document's classification at approval; lasts the
 * organization's maximum, at most 24 hours.
 */
export async function insertGrant(
  trx: Kysely<Database>,
  grant: { orgId: string; projectId: string; path: string; userId: string; requestId: string; classification: GrantClassification },
  nowMs: number,
): Promise<Date> {
  const org = await trx
    .selectFrom('organizations')
    .select('access_grant_max_minutes')
    .where('id', '=', grant.orgId)
    .executeTakeFirstOrThrow();
  const expiresAt = new Date(nowMs + Math.min(GRANT_MAX_MS, org.access_grant_max_minutes * 60_000));
  await trx
    .insertInto('access_grants')
    .values({
      org_id: grant.orgId,
      project_id: grant.projectId,
      path: grant.path,
      user_id: grant.userId,
      request_id: grant.requestId,
      classification: grant.classification,
      granted_at: new Date(nowMs),
      expires_at: expiresAt,
    })
    .execute();
  return expiresAt;
}

/** End every grant a user holds in an organization (on removal from it). */
export async function revokeGrantsOf(trx: Kysely<Database>, orgId: string, userId: string): Promise<void> {
  await trx.deleteFrom('access_grants').where('org_id', '=', orgId).where('user_id', '=', userId).execute();
}
