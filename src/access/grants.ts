import type { Kysely } from 'kysely';
import type { Db } from '../db/connection.ts';
import { withOrg } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
import { grantKey } from './policy.ts';

/** The longest any access grant lasts (DESIGN.md); an organization may set shorter. */
export const GRANT_MAX_MS = 24 * 60 * 60 * 1000;

/**
 * Keys (`projectId:path`) of the documents of one project that a user holds a live grant for. Asked on every
 * request that needs it (no cache), so an approval opens the document at once and an expiry closes it at once.
 */
export async function liveGrantKeys(
  db: Db,
  scope: { orgId: string; projectId: string; userId: string },
  nowMs: number,
): Promise<ReadonlySet<string>> {
  const rows = await withOrg(db, scope.orgId, (trx) =>
    trx
      .selectFrom('access_grants')
      .select(['project_id', 'path'])
      .where('org_id', '=', scope.orgId)
      .where('project_id', '=', scope.projectId)
      .where('user_id', '=', scope.userId)
      .where('expires_at', '>', new Date(nowMs))
      .execute(),
  );
  return new Set(rows.map((r) => grantKey(r.project_id, r.path)));
}

/** Record the grant an approved request produces; lasts the organization's maximum, at most 24 hours. */
export async function insertGrant(
  trx: Kysely<Database>,
  grant: { orgId: string; projectId: string; path: string; userId: string; requestId: string },
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
