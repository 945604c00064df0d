import type { Kysely } from 'kysely';
import type { Classification } from '../../content/types.ts';
import type { Database } from '../../db/schema.ts';
import { NotFoundError } from '../../errors.ts';
import { recordAccessRequestEvent } from '../access-requests.ts';
import type { UserActor } from '../actor.ts';
import { authorize } from '../authorize.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Lock a request for a decision in the caller's transaction, with the approver's role as the database holds it
 * now (a role lost since sign-in counts). Unknown requests and non-members: the one 404.
 */
export async function lockForDecision(trx: Kysely<Database>, actor: UserActor, orgId: string, requestId: string) {
  if (!UUID.test(requestId)) throw new NotFoundError();
  const membership = await trx
    .selectFrom('memberships')
    .select('role')
    .where('org_id', '=', orgId)
    .where('user_id', '=', actor.userId)
    .forShare()
    .executeTakeFirst();
  if (!membership) throw new NotFoundError();
  const request = await trx
    .selectFrom('access_requests')
    .selectAll()
    .where('id', '=', requestId)
    .where('org_id', '=', orgId)
    .forUpdate()
    .executeTakeFirst();
  if (!request) throw new NotFoundError();
  const fresh: UserActor = { ...actor, memberships: new Map([[orgId, membership.role]]) };
  return { request, fresh };
}

/** Refuse (403) an approver who may not decide this request: their own, or a document their role does not cover. */
export function assertMayDecide(fresh: UserActor, orgId: string, classification: Classification, requesterId: string): void {
  const message = fresh.userId === requesterId ? 'You cannot decide your own access request.' : 'Your role does not allow you to decide this request.';
  authorize(fresh, 'approve', { kind: 'access_request', orgId, classification, requesterId }, message);
}

/** Mark one request expired (its deadline passed), with `access_request.expired`, in the caller's transaction. */
export async function markExpired(trx: Kysely<Database>, orgId: string, requestId: string, now: number): Promise<void> {
  const row = await trx
    .updateTable('access_requests')
    .set({ status: 'expired', decided_at: new Date(now) })
    .where('id', '=', requestId)
    .where('org_id', '=', orgId)
    .returning('path')
    .executeTakeFirstOrThrow();
  await recordAccessRequestEvent(trx, { orgId, actor: null, action: 'access_request.expired', requestId, path: row.path, outcome: 'success' });
}
