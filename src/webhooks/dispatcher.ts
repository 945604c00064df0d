/**
 * Sends what the outbox holds (outbox.ts): claims due deliveries with a lease, signs each body at the moment of
 * sending (signature.ts), POSTs it through the forgery-safe client (http-delivery.ts), and records the attempt.
 * A failure is retried with exponential backoff and jitter until the delivery's 24 hours are over, then it is
 * marked failed (an admin can redeliver it). Every process of a cluster runs one: a row is only ever held by one
 * of them, and a process that dies mid-attempt leaves a lease that runs out, so nothing is lost to a restart.
 */
import type { SecretBox } from '../auth/secret-box.ts';
import { withOrg, type Db } from '../db/connection.ts';
import { claimWebhookDeliveries, type ClaimedWebhookDelivery } from './outbox.ts';
import { sendWebhook, type DeliveryLimits, type Resolver, type SendOutcome } from './http-delivery.ts';
import { signatureHeader } from './signature.ts';

/** AES-GCM additional data of a sealed endpoint secret: such a value opens only as a webhook secret. */
export const WEBHOOK_SECRET_PURPOSE = 'webhook-secret';

/** How long a claimed delivery is held before another process may take it over (well above the total timeout). */
const LEASE_SECONDS = 60;
const BATCH = 20;
/** First retry after ~10 s, doubling, at most an hour apart. */
const BASE_DELAY_MS = 10_000;
const MAX_DELAY_MS = 60 * 60 * 1000;

/**
 * The wait after the n-th failed attempt: 10 s × 2^(n−1) capped at an hour, of which a random half is taken
 * off (jitter), so endpoints coming back from an outage are not hit by every retry at once.
 */
export function retryDelayMs(attempts: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.max(0, attempts - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export interface DispatcherLogger {
  error(details: object, message: string): void;
}

export interface WebhookDispatcherDeps {
  db: Db;
  box: SecretBox;
  /** Hosts whose addresses are not checked (WEBHOOK_ALLOWED_HOSTS). */
  allowedHosts?: ReadonlySet<string>;
  resolver?: Resolver;
  limits?: Partial<DeliveryLimits>;
  /** The clock of claims, signatures and retries (tests hold it). */
  now?: () => number;
  /** Jitter's source (tests fix it). */
  random?: () => number;
  /** Periodic work run with the retry loop (the overdue-acknowledgment scan). */
  periodic?: { everyMs: number; run(now: number): Promise<unknown> }[];
}

export class WebhookDispatcher {
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #lastRun = new Map<number, number>();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<number> | null = null;
  #again = false;
  logger: DispatcherLogger = {
    error(details, message) {
      process.stderr.write(`${JSON.stringify({ level: 'error', msg: message, ...details })}\n`);
    },
  };

  constructor(private readonly deps: WebhookDispatcherDeps) {}

  #now(): number {
    return (this.deps.now ?? Date.now)();
  }

  /** Sends every delivery due now (one round at a time per process); resolves with how many attempts were made. */
  deliverDue(): Promise<number> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    const round = (async () => {
      let handled = 0;
      do {
        this.#again = false;
        for (;;) {
          const claimed = await claimWebhookDeliveries(this.deps.db, new Date(this.#now()), BATCH, LEASE_SECONDS);
          await Promise.all(claimed.map((delivery) => this.#attempt(delivery)));
          handled += claimed.length;
          if (claimed.length < BATCH) break;
        }
      } while (this.#again);
      return handled;
    })();
    this.#running = round;
    const tracked = round.finally(() => (this.#running = null));
    this.#track(tracked);
    return tracked;
  }

  /** Sends soon, off the caller's path (after an event was enqueued or a delivery reset). */
  nudge(): void {
    void this.deliverDue().catch((error: unknown) => this.logger.error({ err: describe(error) }, 'webhook deliveries failed'));
  }

  /** Runs `deliverDue` (and the periodic work) every `intervalMs` until `stop`; the timer does not hold the process. */
  start(intervalMs = 2000): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      this.nudge();
      for (const [index, job] of (this.deps.periodic ?? []).entries()) {
        const now = this.#now();
        if (now - (this.#lastRun.get(index) ?? 0) < job.everyMs) continue;
        this.#lastRun.set(index, now);
        this.#track(job.run(now).catch((error: unknown) => this.logger.error({ err: describe(error) }, 'webhook periodic work failed')));
      }
    }, intervalMs);
    this.#timer.unref();
  }

  /** Stops the loop and waits for attempts in flight. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.idle();
  }

  /** Resolves when nothing is in flight. */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  #track(work: Promise<unknown>): void {
    const tracked = work.catch(() => undefined);
    this.#inFlight.add(tracked);
    void tracked.finally(() => this.#inFlight.delete(tracked));
  }

  async #attempt(claimed: ClaimedWebhookDelivery): Promise<void> {
    const { db, box } = this.deps;
    const row = await withOrg(db, claimed.orgId, (trx) =>
      trx
        .selectFrom('webhook_deliveries as d')
        .innerJoin('webhooks as w', 'w.id', 'd.webhook_id')
        .select(['d.id', 'd.body', 'd.event_id', 'd.event_type', 'd.give_up_at', 'w.url', 'w.secret_sealed', 'w.active'])
        .where('d.id', '=', claimed.id)
        .where('d.state', '=', 'pending')
        .executeTakeFirst(),
    );
    if (!row) return;
    if (!row.active) {
      await withOrg(db, claimed.orgId, (trx) =>
        trx.updateTable('webhook_deliveries').set({ state: 'failed', claimed_until: null, last_error: 'endpoint_disabled' }).where('id', '=', claimed.id).execute(),
      );
      return;
    }
    const startedAt = this.#now();
    let outcome: SendOutcome;
    try {
      const secret = box.open(row.secret_sealed, WEBHOOK_SECRET_PURPOSE).toString('utf8');
      const headers = {
        'user-agent': 'DocuCommit-Webhooks/1',
        'docucommit-event': row.event_type,
        'docucommit-event-id': row.event_id,
        'docucommit-delivery': row.id,
        'docucommit-signature': signatureHeader(secret, Math.floor(startedAt / 1000), row.body),
      };
      outcome = await sendWebhook(row.url, headers, row.body, { resolver: this.deps.resolver, allowedHosts: this.deps.allowedHosts, limits: this.deps.limits });
    } catch (error) {
      // a secret that no longer opens (keys rotated away): an error of this server, retried like any other
      this.logger.error({ delivery: claimed.id, err: describe(error) }, 'webhook delivery could not be prepared');
      outcome = { ok: false, status: null, durationMs: 0, errorClass: 'internal' };
    }
    const settledAt = this.#now();
    const nextAt = settledAt + retryDelayMs(claimed.attempts, this.deps.random);
    const givenUp = !outcome.ok && nextAt > new Date(row.give_up_at).getTime();
    await withOrg(db, claimed.orgId, async (trx) => {
      await trx
        .insertInto('webhook_attempts')
        .values({
          org_id: claimed.orgId,
          delivery_id: claimed.id,
          attempt: claimed.attempts,
          started_at: new Date(startedAt),
          duration_ms: Math.max(0, Math.min(outcome.durationMs, 2_147_483_647)),
          status_code: outcome.status,
          error_class: outcome.errorClass,
          ok: outcome.ok,
        })
        .execute();
      await trx
        .updateTable('webhook_deliveries')
        .set(
          outcome.ok
            ? { state: 'delivered', delivered_at: new Date(settledAt), claimed_until: null, last_status: outcome.status, last_error: null }
            : {
                state: givenUp ? 'failed' : 'pending',
                next_attempt_at: new Date(nextAt),
                claimed_until: null,
                last_status: outcome.status,
                last_error: outcome.errorClass,
              },
        )
        .where('id', '=', claimed.id)
        .where('state', '=', 'pending')
        .execute();
    });
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 300) : 'unknown error';
}
