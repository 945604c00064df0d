/**
 * Webhook events of change requests and access requests, enqueued by their commands inside the transaction of
 * the change (outbox.ts): the event exists exactly when the change does. Payloads name things by id, number and
 * path, with commit ids and actors; no titles, descriptions, reasons or comments (free text that may quote a
 * document that is not public).
 */
import type { Kysely } from 'kysely';
import type { UserActor } from '../access/actor.ts';
import type { Database } from '../db/schema.ts';
import type { WebhookActor } from './events.ts';
import { enqueueWebhookEvent } from './outbox.ts';

/** A signed-in user as webhook payloads name them. */
export const webhookActorOf = (actor: UserActor | null): WebhookActor | null => (actor ? { type: 'user', id: actor.userId, label: actor.email } : null);

/** A change request's event: opened, approved, merged or closed. */
export async function enqueueChangeRequestEvent(
  trx: Kysely<Database>,
  type: 'change_request.opened' | 'change_request.approved' | 'change_request.merged' | 'change_request.closed',
  input: { orgId: string; changeRequestId: string; actor: WebhookActor | null; extra?: Record<string, unknown> },
): Promise<void> {
  const row = await trx
    .selectFrom('change_requests as c')
    .innerJoin('projects as p', 'p.id', 'c.project_id')
    .select(['c.id', 'c.number', 'c.branch', 'c.head_commit', 'c.merge_commit', 'c.author_id', 'c.state', 'p.id as project_id', 'p.slug as project_slug'])
    .where('c.org_id', '=', input.orgId)
    .where('c.id', '=', input.changeRequestId)
    .executeTakeFirst();
  if (!row) return;
  await enqueueWebhookEvent(trx, {
    orgId: input.orgId,
    type,
    actor: input.actor,
    data: {
      project: { id: row.project_id, slug: row.project_slug },
      change_request: {
        id: row.id,
        number: row.number,
        state: row.state,
        branch: row.branch,
        head: row.head_commit,
        merge_commit: row.merge_commit ?? null,
        author_id: row.author_id,
      },
      ...input.extra,
    },
  });
}

/** An access request's event: created, or decided (approved with a grant, or denied). */
export async function enqueueAccessRequestEvent(
  trx: Kysely<Database>,
  type: 'access_request.created' | 'access_request.decided',
  input: { orgId: string; requestId: string; actor: UserActor | null; decision?: 'approved' | 'denied'; grantExpiresAt?: Date },
): Promise<void> {
  const row = await trx
    .selectFrom('access_requests as r')
    .innerJoin('projects as p', 'p.id', 'r.project_id')
    .select(['r.id', 'r.path', 'r.requester_id', 'r.status', 'r.created_at', 'r.expires_at', 'p.id as project_id', 'p.slug as project_slug'])
    .where('r.org_id', '=', input.orgId)
    .where('r.id', '=', input.requestId)
    .executeTakeFirst();
  if (!row) return;
  await enqueueWebhookEvent(trx, {
    orgId: input.orgId,
    type,
    actor: webhookActorOf(input.actor),
    data: {
      project: { id: row.project_id, slug: row.project_slug },
      access_request: {
        id: row.id,
        path: row.path,
        requester_id: row.requester_id,
        status: row.status,
        created_at: new Date(row.created_at).toISOString(),
        expires_at: new Date(row.expires_at).toISOString(),
      },
      ...(input.decision ? { decision: input.decision } : {}),
      ...(input.grantExpiresAt ? { grant_expires_at: input.grantExpiresAt.toISOString() } : {}),
    },
  });
}
