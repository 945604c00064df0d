/** The webhook settings pages' reads and use cases, for one database and key box (routes hold no database handle). */
import type { UserActor } from '../access/actor.ts';
import type { SecretBox } from '../auth/secret-box.ts';
import { withOrg, type Db } from '../db/connection.ts';
import { NotFoundError } from '../errors.ts';
import { createWebhook, deleteWebhook, redeliverWebhook, updateWebhook, type AuditContext } from './commands.ts';
import { isWebhookEvent, type WebhookEventType } from './events.ts';
import { parseWebhookForm, type WebhookInput } from './webhook-form.ts';

export interface WebhookSummary {
  id: string;
  url: string;
  events: WebhookEventType[];
  active: boolean;
  createdAt: Date;
  /** Deliveries waiting or retrying, and given up. */
  pending: number;
  failed: number;
}

export interface WebhookAttemptView {
  attempt: number;
  startedAt: Date;
  durationMs: number;
  status: number | null;
  errorClass: string | null;
  ok: boolean;
}

export interface WebhookDeliveryView {
  id: string;
  eventId: string;
  eventType: string;
  state: 'pending' | 'delivered' | 'failed';
  createdAt: Date;
  nextAttemptAt: Date | null;
  attempts: WebhookAttemptView[];
}

/** Deliveries the log shows (newest first), and attempts per delivery. */
const LOG_DELIVERIES = 50;
const LOG_ATTEMPTS = 10;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class WebhookSettings {
  constructor(
    private readonly deps: {
      db: Db;
      box: SecretBox;
      allowedHosts?: ReadonlySet<string>;
      nudge?: () => void;
      now?: () => number;
    },
  ) {}

  /** Validates the endpoint form (throws WebhookValidationError). */
  parse(body: unknown): WebhookInput {
    return parseWebhookForm(body, this.deps.allowedHosts);
  }

  /** The organization's endpoints (the route opened the organization for an admin). */
  async list(orgId: string): Promise<WebhookSummary[]> {
    return withOrg(this.deps.db, orgId, async (trx) => {
      const rows = await trx
        .selectFrom('webhooks as w')
        .select((e) => [
          'w.id',
          'w.url',
          'w.events',
          'w.active',
          'w.created_at',
          e.selectFrom('webhook_deliveries as d').select((d) => d.fn.countAll<string>().as('n')).whereRef('d.webhook_id', '=', 'w.id').where('d.state', '=', 'pending').as('pending'),
          e.selectFrom('webhook_deliveries as d').select((d) => d.fn.countAll<string>().as('n')).whereRef('d.webhook_id', '=', 'w.id').where('d.state', '=', 'failed').as('failed'),
        ])
        .where('w.org_id', '=', orgId)
        .orderBy('w.created_at')
        .execute();
      return rows.map((r) => ({
        id: r.id,
        url: r.url,
        events: r.events.filter(isWebhookEvent),
        active: r.active,
        createdAt: new Date(r.created_at),
        pending: Number(r.pending ?? 0),
        failed: Number(r.failed ?? 0),
      }));
    });
  }

  /** One endpoint of the organization with its recent deliveries and their attempts; NotFoundError otherwise. */
  async detail(orgId: string, webhookId: string): Promise<{ webhook: WebhookSummary; deliveries: WebhookDeliveryView[] }> {
    if (!UUID.test(webhookId)) throw new NotFoundError();
    const webhook = (await this.list(orgId)).find((w) => w.id === webhookId);
    if (!webhook) throw new NotFoundError();
    return withOrg(this.deps.db, orgId, async (trx) => {
      const deliveries = await trx
        .selectFrom('webhook_deliveries')
        .select(['id', 'event_id', 'event_type', 'state', 'created_at', 'next_attempt_at'])
        .where('org_id', '=', orgId)
        .where('webhook_id', '=', webhookId)
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .limit(LOG_DELIVERIES)
        .execute();
      const ids = deliveries.map((d) => d.id);
      const attempts =
        ids.length === 0
          ? []
          : await trx
              .selectFrom('webhook_attempts')
              .select(['delivery_id', 'attempt', 'started_at', 'duration_ms', 'status_code', 'error_class', 'ok'])
              .where('org_id', '=', orgId)
              .where('delivery_id', 'in', ids)
              .orderBy('id', 'desc')
              .execute();
      const byDelivery = new Map<string, WebhookAttemptView[]>();
      for (const a of attempts) {
        const list = byDelivery.get(a.delivery_id) ?? [];
        if (list.length < LOG_ATTEMPTS) list.push({ attempt: a.attempt, startedAt: new Date(a.started_at), durationMs: a.duration_ms, status: a.status_code, errorClass: a.error_class, ok: a.ok });
        byDelivery.set(a.delivery_id, list);
      }
      return {
        webhook,
        deliveries: deliveries.map((d) => ({
          id: d.id,
          eventId: d.event_id,
          eventType: d.event_type,
          state: d.state,
          createdAt: new Date(d.created_at),
          nextAttemptAt: d.state === 'pending' ? new Date(d.next_attempt_at) : null,
          attempts: byDelivery.get(d.id) ?? [],
        })),
      };
    });
  }

  create(actor: UserActor, orgId: string, webhook: WebhookInput, audit: AuditContext): Promise<{ id: string; secret: string }> {
    return createWebhook(this.deps, actor, { orgId, webhook, audit });
  }

  update(actor: UserActor, orgId: string, webhookId: string, webhook: WebhookInput, audit: AuditContext): Promise<string[]> {
    return updateWebhook(this.deps, actor, { orgId, webhookId, webhook, audit });
  }

  remove(actor: UserActor, orgId: string, webhookId: string, audit: AuditContext): Promise<void> {
    return deleteWebhook(this.deps, actor, { orgId, webhookId, audit });
  }

  redeliver(actor: UserActor, orgId: string, webhookId: string, deliveryId: string, audit: AuditContext): Promise<void> {
    return redeliverWebhook(this.deps, actor, { orgId, webhookId, deliveryId, audit });
  }
}
