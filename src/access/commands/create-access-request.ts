import { withOrg } from '../../db/connection.ts';
import { enqueueAccessRequestEvent } from '../../webhooks/domain-events.ts';
import { InvalidInputError, NotFoundError } from '../../errors.ts';
import {
  MAX_OPEN_REQUESTS,
  normalizeRequestPath,
  recordAccessRequestEvent,
  REQUEST_LIFETIME_MS,
  TooManyOpenRequestsError,
  type NewAccessRequest,
} from '../access-requests.ts';
import type { UserActor } from '../actor.ts';
import { authorize } from '../authorize.ts';
import type { AccessRequestCommandDeps } from './deps.ts';

export interface CreateAccessRequestInput extends NewAccessRequest {
  project: { id: string; orgId: string; orgSlug: string; slug: string };
}

/**
 * File a request to read one document. Stored whether or not a document exists at the path, so the answer
 * reveals nothing. The row and `access_request.created` commit together; a member has at most
 * MAX_OPEN_REQUESTS open at a time (counted under a lock on their membership). Returns the request's id.
 */
export async function createAccessRequest(deps: AccessRequestCommandDeps, actor: UserActor, input: CreateAccessRequestInput): Promise<string> {
  const { project } = input;
  authorize(actor, 'create', { kind: 'access_request', orgId: project.orgId }, { hidden: true });
  const path = normalizeRequestPath(input.path, project);
  const reason = input.reason.trim();
  const ticket = input.ticket?.trim() || null;
  if (reason.length < 5 || reason.length > 2000) throw new InvalidInputError('Give a reason of 5 to 2000 characters.');
  if (ticket !== null && ticket.length > 200) throw new InvalidInputError('The ticket reference is too long.');
  const now = deps.now();
  const id = await withOrg(deps.db, project.orgId, async (trx) => {
    // The member's row is locked so that requests sent at once are counted one after another.
    const member = await trx
      .selectFrom('memberships')
      .select('user_id')
      .where('org_id', '=', project.orgId)
      .where('user_id', '=', actor.userId)
      .forUpdate()
      .executeTakeFirst();
    if (!member) throw new NotFoundError();
    const open = await trx
      .selectFrom('access_requests')
      .select((e) => e.fn.countAll<string>().as('n'))
      .where('org_id', '=', project.orgId)
      .where('requester_id', '=', actor.userId)
      .where('status', '=', 'pending')
      .where('expires_at', '>', new Date(now))
      .executeTakeFirstOrThrow();
    if (Number(open.n) >= MAX_OPEN_REQUESTS) throw new TooManyOpenRequestsError();
    const row = await trx
      .insertInto('access_requests')
      .values({
        org_id: project.orgId,
        project_id: project.id,
        path,
        requester_id: actor.userId,
        reason,
        ticket,
        created_at: new Date(now),
        expires_at: new Date(now + REQUEST_LIFETIME_MS),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await recordAccessRequestEvent(trx, {
      orgId: project.orgId,
      actor,
      action: 'access_request.created',
      requestId: row.id,
      path,
      reason,
      outcome: 'success',
      details: { ticket },
    });
    await enqueueAccessRequestEvent(trx, 'access_request.created', { orgId: project.orgId, requestId: row.id, actor });
    return row.id;
  });
  // Every approver's count may have grown.
  deps.waiting?.forget();
  return id;
}
