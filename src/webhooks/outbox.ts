/**
 * The webhook outbox (migration 034): events are written here in the caller's transaction, one row per
 * endpoint that wants them; the dispatcher (dispatcher.ts) claims due rows with a lease (FOR UPDATE SKIP LOCKED,
 * so two processes never send the same row at once) and settles each attempt.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { withOrg, type Db } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
import type { WebhookActor, WebhookEnvelope, WebhookEventType } from './events.ts';

/** How long an event is retried before its delivery is marked failed. */
export const RETRY_WINDOW_MS = 24 * 60 * 60 * 1000;

/** An event to enqueue. */
export interface WebhookEventInput {
  orgId: string;
  type: WebhookEventType;
  actor: WebhookActor | null;
  data: Record<string, unknown>;
  /** What caused it, for at-least-once callers (a listener): the same key enqueues once per endpoint. */
  sourceKey?: string;
  /** When it happened (default now). */
  at?: Date;
}

/**
 * Writes the event for every active endpoint of the organization that chose its type, in the caller's
 * transaction (or a new one), and returns how many deliveries were enqueued. The organization's scope is taken
 * for the statement and restored after (withOrg inside a transaction).
 */
export async function enqueueWebhookEvent(db: Kysely<Database>, event: WebhookEventInput): Promise<number> {
  return withOrg(db, event.orgId, async (trx) => {
    const hooks = await trx
      .selectFrom('webhooks')
      .select('id')
      .where('org_id', '=', event.orgId)
      .where('active', '=', true)
      .where(sql<boolean>`${event.type} = ANY (events)`)
      .execute();
    if (hooks.length === 0) return 0;
    const org = await trx.selectFrom('organizations').select('slug').where('id', '=', event.orgId).executeTakeFirst();
    if (!org) return 0;
    const at = event.at ?? new Date();
    const envelope: WebhookEnvelope = {
      id: randomUUID(),
      type: event.type,
      created_at: at.toISOString(),
      organization: { id: event.orgId, slug: org.slug },
      actor: event.actor,
      data: event.data,
    };
    const body = JSON.stringify(envelope);
    const inserted = await trx
      .insertInto('webhook_deliveries')
      .values(
        hooks.map((hook) => ({
          org_id: event.orgId,
          webhook_id: hook.id,
          event_id: envelope.id,
          event_type: event.type,
          source_key: event.sourceKey ?? null,
          body,
          next_attempt_at: at,
          give_up_at: new Date(at.getTime() + RETRY_WINDOW_MS),
          created_at: at,
        })),
      )
      .onConflict((oc) => oc.columns(['webhook_id', 'source_key']).where('source_key', 'is not', null).doNothing())
      .returning('id')
      .execute();
    return inserted.length;
  });
}

/** One claimed delivery. */
export interface ClaimedWebhookDelivery {
  id: string;
  orgId: string;
  /** Attempts including this one. */
  attempts: number;
}

/** Claims up to `limit` deliveries due at `now` for `leaseSeconds` (across organizations; keys only). */
export async function claimWebhookDeliveries(db: Db, now: Date, limit: number, leaseSeconds: number): Promise<ClaimedWebhookDelivery[]> {
  const { rows } = await sql<{ id: string; org_id: string; attempts: number }>`
    select id, org_id, attempts from claim_webhook_deliveries(${now.toISOString()}::timestamptz, ${limit}::integer, ${leaseSeconds}::integer)`.execute(db);
  return rows.map((r) => ({ id: r.id, orgId: r.org_id, attempts: Number(r.attempts) }));
}

/** Deliveries waiting, retrying after a failure, and given up, across every organization (for /metrics). */
export async function webhookBacklog(db: Db): Promise<{ pending: number; retrying: number; failed: number }> {
  const { rows } = await sql<{ pending: string; retrying: string; failed: string }>`select pending, retrying, failed from webhook_backlog()`.execute(db);
  const row = rows[0];
  return { pending: Number(row?.pending ?? 0), retrying: Number(row?.retrying ?? 0), failed: Number(row?.failed ?? 0) };
}

/** Organizations with an active endpoint for `type` (keys only: the scanner then works in each one's scope). */
export async function organizationsWanting(db: Db, type: WebhookEventType): Promise<string[]> {
  const { rows } = await sql<{ org_id: string }>`select org_id from webhook_orgs_for_event(${type})`.execute(db);
  return rows.map((r) => r.org_id);
}
