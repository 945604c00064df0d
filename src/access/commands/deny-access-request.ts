import { withOrg } from '../../db/connection.ts';
import { enqueueAccessRequestEvent } from '../../webhooks/domain-events.ts';
import { ConflictError } from '../../errors.ts';
import { effectiveClassification, recordAccessRequestEvent } from '../access-requests.ts';
import type { UserActor } from '../actor.ts';
import type { DecideAccessRequestInput } from './approve-access-request.ts';
import { assertMayDecide, lockForDecision } from './decision-lock.ts';
import type { AccessRequestCommandDeps } from './deps.ts';

/** Deny a request (any eligible approver): the decision and `access_request.denied` commit together. */
export async function denyAccessRequest(deps: AccessRequestCommandDeps, actor: UserActor, input: DecideAccessRequestInput): Promise<void> {
  const { orgId, requestId } = input;
  const now = deps.now();
  await withOrg(deps.db, orgId, async (trx) => {
    const { request, fresh } = await lockForDecision(trx, actor, orgId, requestId);
    const doc = deps.lookup(request.project_id, request.path);
    assertMayDecide(fresh, orgId, effectiveClassification(doc?.classification ?? null), request.requester_id);
    if (request.status !== 'pending') throw new ConflictError(`This request is already ${request.status}.`);
    await trx
      .updateTable('access_requests')
      .set({ status: 'denied', decided_at: new Date(now), decided_by: actor.userId })
      .where('id', '=', request.id)
      .where('org_id', '=', orgId)
      .execute();
    await recordAccessRequestEvent(trx, { orgId, actor, action: 'access_request.denied', requestId: request.id, path: request.path, outcome: 'success' });
    await enqueueAccessRequestEvent(trx, 'access_request.decided', { orgId, requestId: request.id, actor, decision: 'denied' });
  });
  deps.waiting?.forget(actor.userId);
}
