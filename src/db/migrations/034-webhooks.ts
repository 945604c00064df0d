import type { Kysely } from 'kysely';
import { APP_ROLE } from './006-row-level-security.ts';
import { runStatements } from './run-statements.ts';

/**
 * Webhooks (src/webhooks/): an organization's endpoints, and the durable outbox their deliveries go through.
 *
 * - `webhooks`: one endpoint of an organization (URL, the events it receives, its signing secret sealed like
 *   TOTP secrets, on or off).
 * - `webhook_deliveries`: the outbox. One row per event and endpoint, written in the transaction of what caused it
 *   where possible (a change request's command, an access request's decision) or by an idempotent listener
 *   (`source_key`: a branch move delivered twice enqueues once). The exact body is stored, so a retry or a
 *   redelivery sends the same bytes (signed anew). A row is claimed with a lease through
 *   `claim_webhook_deliveries` (FOR UPDATE SKIP LOCKED: processes never share one), retried with backoff until
 *   `give_up_at`, then `failed`.
 * - `webhook_attempts`: one row per attempt (status code, duration, error class), for the delivery log.
 * All three are tenant tables. The claim, the backlog count (for /metrics) and the organizations to scan for
 * overdue acknowledgments run with their owner's rights across organizations and return keys and counts only.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `CREATE TABLE webhooks (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    url text NOT NULL,
    events text[] NOT NULL,
    secret_sealed text NOT NULL,
    active boolean NOT NULL DEFAULT true,
    created_by uuid REFERENCES users(id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, id)
    )`,
    `CREATE INDEX webhooks_org ON webhooks (org_id)`,
    `CREATE TABLE webhook_deliveries (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL,
    webhook_id uuid NOT NULL,
    event_id uuid NOT NULL,
    event_type text NOT NULL,
    source_key text,
    body text NOT NULL,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    give_up_at timestamptz NOT NULL,
    claimed_until timestamptz,
    last_status integer,
    last_error text,
    created_at timestamptz NOT NULL,
    delivered_at timestamptz,
    FOREIGN KEY (org_id, webhook_id) REFERENCES webhooks (org_id, id) ON DELETE CASCADE
    )`,
    `CREATE UNIQUE INDEX webhook_deliveries_source ON webhook_deliveries (webhook_id, source_key) WHERE source_key IS NOT NULL`,
    `CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending'`,
    `CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, created_at DESC)`,
    `CREATE TABLE webhook_attempts (
    id bigserial PRIMARY KEY,
    org_id uuid NOT NULL,
    delivery_id uuid NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt integer NOT NULL,
    started_at timestamptz NOT NULL,
    duration_ms integer NOT NULL,
    status_code integer,
    error_class text,
    ok boolean NOT NULL
    )`,
    `CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id)`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON webhooks, webhook_deliveries, webhook_attempts TO ${APP_ROLE}`,
    `GRANT USAGE ON SEQUENCE webhook_attempts_id_seq TO ${APP_ROLE}`,
    ...['webhooks', 'webhook_deliveries', 'webhook_attempts'].flatMap((table) => [
      `ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`,
      `CREATE POLICY tenant_isolation ON ${table} USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id())`,
    ]),
    // Claims up to p_limit deliveries due at p_now (the caller's clock, so tests can hold it) for p_lease_seconds;
    // a claimed row is not handed out again until its lease ends or it is settled.
    `CREATE FUNCTION claim_webhook_deliveries(p_now timestamptz, p_limit integer, p_lease_seconds integer)
    RETURNS TABLE (id uuid, org_id uuid, attempts integer)
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
      UPDATE public.webhook_deliveries d
         SET claimed_until = p_now + make_interval(secs => p_lease_seconds), attempts = d.attempts + 1
       WHERE d.id IN (
         SELECT c.id FROM public.webhook_deliveries c
          WHERE c.state = 'pending'
            AND c.next_attempt_at <= p_now
            AND (c.claimed_until IS NULL OR c.claimed_until < p_now)
          ORDER BY c.next_attempt_at
          LIMIT p_limit
          FOR UPDATE SKIP LOCKED)
      RETURNING d.id, d.org_id, d.attempts
    $$`,
    `CREATE FUNCTION webhook_backlog()
    RETURNS TABLE (pending bigint, retrying bigint, failed bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
      SELECT count(*) FILTER (WHERE state = 'pending'),
             count(*) FILTER (WHERE state = 'pending' AND attempts > 0 AND (claimed_until IS NULL OR claimed_until < now())),
             count(*) FILTER (WHERE state = 'failed')
        FROM public.webhook_deliveries
    $$`,
    `CREATE FUNCTION webhook_orgs_for_event(p_event text)
    RETURNS TABLE (org_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
      SELECT DISTINCT w.org_id FROM public.webhooks w WHERE w.active AND p_event = ANY (w.events)
    $$`,
    ...['claim_webhook_deliveries(timestamptz, integer, integer)', 'webhook_backlog()', 'webhook_orgs_for_event(text)'].flatMap((fn) => [
      `REVOKE ALL ON FUNCTION ${fn} FROM PUBLIC`,
      `GRANT EXECUTE ON FUNCTION ${fn} TO ${APP_ROLE}`,
    ]),
  ]);
}
