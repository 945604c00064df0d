/**
 * The webhook settings' use cases, one function each `(deps, actor, input)`: create an endpoint (its secret is
 * generated, sealed, and returned this once), change it, delete it, and redeliver one delivery. Each decides the
 * permission on the role the database holds now, writes in one transaction with its audit event (which names
 * the URL and events, never the secret), and answers 404 for an endpoint of another organization.
 */
import type { Transaction } from 'kysely';
import type { UserActor } from '../access/actor.ts';
import { authorize } from '../access/authorize.ts';
import { recordAuditEvent } from '../audit/audit-log.ts';
import type { SecretBox } from '../auth/secret-box.ts';
import { withOrg, type Db } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { WEBHOOK_SECRET_PURPOSE } from './dispatcher.ts';
import { RETRY_WINDOW_MS } from './outbox.ts';
import { newWebhookSecret } from './signature.ts';
import type { WebhookInput } from './webhook-form.ts';

export interface WebhookCommandDeps {
  db: Db;
  box: SecretBox;
  /** Sends what became due (the dispatcher's nudge); optional (a CLI or a test may send later). */
  nudge?: () => void;
  now?: () => number;
}

export interface AuditContext {
  requestId: string;
  ip: string;
}

/** Endpoints an organization may have. */
export const MAX_WEBHOOKS = 20;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The actor, with the role the database holds now, may manage the organization's webhooks (else 404). */
async function authorizeNow(trx: Transaction<Database>, actor: UserActor, orgId: string): Promise<void> {
  const membership = await trx.selectFrom('memberships').select('role').where('org_id', '=', orgId).where('user_id', '=', actor.userId).executeTakeFirst();
  authorize({ ...actor, memberships: new Map(membership ? [[orgId, membership.role]] : []) }, 'manage', { kind: 'webhooks', orgId }, { hidden: true });
}

async function audit(trx: Transaction<Database>, actor: UserActor, orgId: string, action: string, webhookId: string, details: Record<string, string | boolean | null>, ctx: AuditContext) {
  await recordAuditEvent(trx, {
    orgId,
    actor: { type: 'user', id: actor.userId, label: actor.email },
    action,
    target: { type: 'webhook', id: webhookId, label: null },
    outcome: 'success',
    requestId: ctx.requestId,
    ip: ctx.ip,
    details,
  });
}

/** Creates an endpoint; returns its id and its secret (shown once, never again). */
export async function createWebhook(deps: WebhookCommandDeps, actor: UserActor, input: { orgId: string; webhook: WebhookInput; audit: AuditContext }): Promise<{ id: string; secret: string }> {
  const { orgId, webhook } = input;
  const secret = newWebhookSecret();
  const id = await withOrg(deps.db, orgId, async (trx) => {
    await authorizeNow(trx, actor, orgId);
    // counted under the organization's row lock: two creations at once cannot both pass the limit
    await trx.selectFrom('organizations').select('id').where('id', '=', orgId).forUpdate().executeTakeFirst();
    const count = await trx.selectFrom('webhooks').select((e) => e.fn.countAll<string>().as('n')).where('org_id', '=', orgId).executeTakeFirstOrThrow();
    if (Number(count.n) >= MAX_WEBHOOKS) throw new ConflictError(`An organization has at most ${MAX_WEBHOOKS} webhooks. Delete one first.`);
    const row = await trx
      .insertInto('webhooks')
      .values({
        org_id: orgId,
        url: webhook.url,
        events: webhook.events,
        active: webhook.active,
        secret_sealed: deps.box.seal(Buffer.from(secret, 'utf8'), WEBHOOK_SECRET_PURPOSE),
        created_by: actor.userId,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await audit(trx, actor, orgId, 'webhook.created', row.id, { url: webhook.url, events: webhook.events.join(' '), active: webhook.active }, input.audit);
    return row.id;
  });
  return { id, secret };
}

/** Changes an endpoint's URL, events or on/off; returns the names of what changed. */
export async function updateWebhook(deps: WebhookCommandDeps, actor: UserActor, input: { orgId: string; webhookId: string; webhook: WebhookInput; audit: AuditContext }): Promise<string[]> {
  const { orgId, webhookId, webhook } = input;
  return withOrg(deps.db, orgId, async (trx) => {
    await authorizeNow(trx, actor, orgId);
    if (!UUID.test(webhookId)) throw new NotFoundError();
    const current = await trx.selectFrom('webhooks').select(['url', 'events', 'active']).where('org_id', '=', orgId).where('id', '=', webhookId).forUpdate().executeTakeFirst();
    if (!current) throw new NotFoundError();
    const changed: string[] = [];
    if (current.url !== webhook.url) changed.push('url');
    if (current.events.join(' ') !== webhook.events.join(' ')) changed.push('events');
    if (current.active !== webhook.active) changed.push('active');
    if (changed.length === 0) return changed;
    await trx.updateTable('webhooks').set({ url: webhook.url, events: webhook.events, active: webhook.active, updated_at: new Date() }).where('id', '=', webhookId).execute();
    await audit(trx, actor, orgId, 'webhook.updated', webhookId, { changed: changed.join(' '), url: webhook.url, events: webhook.events.join(' '), active: webhook.active }, input.audit);
    return changed;
  });
}

/** Deletes an endpoint with its outbox rows and delivery log. */
export async function deleteWebhook(deps: WebhookCommandDeps, actor: UserActor, input: { orgId: string; webhookId: string; audit: AuditContext }): Promise<void> {
  const { orgId, webhookId } = input;
  await withOrg(deps.db, orgId, async (trx) => {
    await authorizeNow(trx, actor, orgId);
    if (!UUID.test(webhookId)) throw new NotFoundError();
    const deleted = await trx.deleteFrom('webhooks').where('org_id', '=', orgId).where('id', '=', webhookId).returning('url').executeTakeFirst();
    if (!deleted) throw new NotFoundError();
    await audit(trx, actor, orgId, 'webhook.deleted', webhookId, { url: deleted.url }, input.audit);
  });
}

/**
 * Sends a delivery again (delivered, failed, or still retrying): it is due now with a fresh 24 hours of retries,
 * with the same body and event id (receivers deduplicate on it), signed anew.
 */
export async function redeliverWebhook(deps: WebhookCommandDeps, actor: UserActor, input: { orgId: string; webhookId: string; deliveryId: string; audit: AuditContext }): Promise<void> {
  const { orgId, webhookId, deliveryId } = input;
  const now = (deps.now ?? Date.now)();
  await withOrg(deps.db, orgId, async (trx) => {
    await authorizeNow(trx, actor, orgId);
    if (!UUID.test(webhookId) || !UUID.test(deliveryId)) throw new NotFoundError();
    const reset = await trx
      .updateTable('webhook_deliveries')
      .set({ state: 'pending', next_attempt_at: new Date(now), give_up_at: new Date(now + RETRY_WINDOW_MS), claimed_until: null })
      .where('org_id', '=', orgId)
      .where('webhook_id', '=', webhookId)
      .where('id', '=', deliveryId)
      .returning(['event_type', 'event_id'])
      .executeTakeFirst();
    if (!reset) throw new NotFoundError();
    await audit(trx, actor, orgId, 'webhook.redelivered', webhookId, { delivery: deliveryId, event: reset.event_type, event_id: reset.event_id }, input.audit);
  });
  deps.nudge?.();
}
