import type { UserActor } from '../actor.ts';
import { withOrg } from '../../db/connection.ts';
import { enqueueAccessRequestEvent } from '../../webhooks/domain-events.ts';
import { ConflictError } from '../../errors.ts';
import {
  approvalsNeeded,
  effectiveClassification,
  recordAccessRequestEvent,
  RequestExpiredError,
  type ApprovalOutcome,
} from '../access-requests.ts';
import { insertGrant } from '../grants.ts';
import { approverRoles } from '../policy.ts';
import { assertMayDecide, lockForDecision, markExpired } from './decision-lock.ts';
import type { AccessRequestCommandDeps } from './deps.ts';

export interface DecideAccessRequestInput {
  orgId: string;
  requestId: string;
}

/**
 * Approve a request. Runs in one transaction holding the request's row lock, re-reading the approver's role
 * from the database (a role lost since sign-in counts), so two concurrent approvals give exactly one grant.
 * The approval, the decision, the grant and `access_request.approved` commit together. Only approvals by people
 * who still hold a role the policy lets approve count (policy.ts approverRoles).
 */
export async function approveAccessRequest(deps: AccessRequestCommandDeps, actor: UserActor, input: DecideAccessRequestInput): Promise<ApprovalOutcome> {
  const { orgId, requestId } = input;
  const now = deps.now();
  const result = await withOrg(deps.db, orgId, async (trx) => {
    const { request, fresh } = await lockForDecision(trx, actor, orgId, requestId);
    const doc = deps.lookup(request.project_id, request.path);
    const classification = effectiveClassification(doc?.classification ?? null);
    assertMayDecide(fresh, orgId, classification, request.requester_id);
    if (request.status === 'expired') return 'expired' as const;
    if (request.status !== 'pending') throw new ConflictError(`This request is already ${request.status}.`);
    if (new Date(request.expires_at).getTime() < now) {
      await markExpired(trx, orgId, request.id, now);
      return 'expired' as const;
    }
    if (doc === null || (doc.classification !== 'confidential' && doc.classification !== 'restricted')) {
      throw new ConflictError('There is no confidential or restricted document at this path. Deny the request instead.');
    }
    const inserted = await trx
      .insertInto('access_request_approvals')
      .values({ org_id: orgId, request_id: request.id, approver_id: actor.userId, created_at: new Date(now) })
      .onConflict((oc) => oc.columns(['request_id', 'approver_id']).doNothing())
      .returning('approver_id')
      .executeTakeFirst();
    if (!inserted) {
      throw new ConflictError('You have already approved this request. A second person must approve it.');
    }
    // Only approvals by people who still hold the needed role count.
    const needed = approverRoles(classification);
    const counted = await trx
      .selectFrom('access_request_approvals as a')
      .innerJoin('memberships as m', (j) => j.onRef('m.user_id', '=', 'a.approver_id').onRef('m.org_id', '=', 'a.org_id'))
      .select((e) => e.fn.countAll<string>().as('n'))
      .where('a.request_id', '=', request.id)
      .where('m.role', 'in', needed)
      .executeTakeFirstOrThrow();
    const approvals = Number(counted.n);
    const required = approvalsNeeded(classification);
    if (approvals < required) {
      await recordAccessRequestEvent(trx, {
        orgId,
        actor,
        action: 'access_request.approved',
        requestId: request.id,
        path: request.path,
        outcome: 'success',
        details: { approvals, approvals_needed: required, granted: false },
      });
      return { status: 'pending' as const, approvals, approvalsNeeded: required };
    }
    await trx
      .updateTable('access_requests')
      .set({ status: 'approved', decided_at: new Date(now), decided_by: actor.userId })
      .where('id', '=', request.id)
      .where('org_id', '=', orgId)
      .execute();
    const grantExpiresAt = await insertGrant(
      trx,
      {
        orgId,
        projectId: request.project_id,
        path: request.path,
        userId: request.requester_id,
        requestId: request.id,
        classification: doc.classification,
      },
      now,
    );
    await recordAccessRequestEvent(trx, {
      orgId,
      actor,
      action: 'access_request.approved',
      requestId: request.id,
      path: request.path,
      outcome: 'success',
      details: { approvals, approvals_needed: required, granted: true, grant_expires_at: grantExpiresAt.toISOString() },
    });
    await enqueueAccessRequestEvent(trx, 'access_request.decided', { orgId, requestId: request.id, actor, decision: 'approved', grantExpiresAt });
    return { status: 'approved' as const, grantExpiresAt };
  });
  deps.waiting?.forget(actor.userId);
  if (result === 'expired') throw new RequestExpiredError();
  return result;
}
