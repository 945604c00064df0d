import type { Kysely } from 'kysely';
import { APP_ROLE } from './006-row-level-security.ts';
import { runStatements } from './run-statements.ts';

/**
 * The same durable batch append (migration 041) for less of the database's CPU (issue #18).
 *
 * Profiled on a PostgreSQL server (`perf` on the backend of a client CALLing it in a loop), a batch of 8 events
 * cost ~0.8 ms of backend CPU, ~0.5 ms of it whatever the batch size:
 *
 * - `audit_chain_head()` is a SQL function with a SET clause, so it is never inlined and PostgreSQL parses and
 *   plans its body again at every call (~19 % of the backend's time), and the head's time was a second read.
 *   `audit_chain_tip()` answers both, in PL/pgSQL, which keeps its plans. Like `audit_chain_head()` it runs as its
 *   owner and reads only the chain the session is scoped to: read under row-level security, whose policy is an
 *   OR of the two chains, the planner chose (on stale statistics) a bitmap scan of the whole organization's
 *   events over the (org_id, seq) index — 0.8 s for a 400,000-event chain, seen in this benchmark.
 * - The hash columns' checks `~ '^[0-9a-f]{64}$'` ran a regular expression with a counted repetition for both
 *   columns of every row (~12 %). `octet_length(x) = 64 AND x !~ '[^0-9a-f]'` accepts exactly the same strings
 *   (64 characters, each a lower-case hexadecimal digit). The new constraints are added NOT VALID and then
 *   validated, which reads the table without blocking appends.
 * - The chain was a recursive query joined back to the input twice (hash joins, planned at every call): it is
 *   now a loop over the events that computes each hash from the previous one, and one INSERT that takes each
 *   row's seq, hash and previous hash from arrays indexed by the event's position.
 *
 * What the procedure stores, and when it returns, is unchanged: the same rows and hashes (the PostgreSQL tests of
 * audit/group-commit.ts verify the chain and compare it with `eventHash`), the lock released at the first COMMIT,
 * the return after the flush of the second.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `ALTER TABLE audit_events
      DROP CONSTRAINT audit_events_hash_check,
      DROP CONSTRAINT audit_events_prev_hash_check,
      ADD CONSTRAINT audit_events_hash_check CHECK (octet_length(hash) = 64 AND hash !~ '[^0-9a-f]') NOT VALID,
      ADD CONSTRAINT audit_events_prev_hash_check CHECK (octet_length(prev_hash) = 64 AND prev_hash !~ '[^0-9a-f]') NOT VALID`,
    `ALTER TABLE audit_events VALIDATE CONSTRAINT audit_events_hash_check`,
    `ALTER TABLE audit_events VALIDATE CONSTRAINT audit_events_prev_hash_check`,
    `CREATE FUNCTION audit_chain_tip() RETURNS TABLE (seq bigint, hash text, occurred_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    #variable_conflict use_column
    BEGIN
      IF nullif(current_setting('app.org_id', true), '') IS NOT NULL THEN
        RETURN QUERY SELECT e.seq, e.hash, e.occurred_at FROM public.audit_events e
          WHERE e.org_id = nullif(current_setting('app.org_id', true), '')::uuid ORDER BY e.seq DESC LIMIT 1;
      ELSIF current_setting('app.audit_chain', true) = 'system' THEN
        RETURN QUERY SELECT e.seq, e.hash, e.occurred_at FROM public.audit_events e
          WHERE e.org_id IS NULL ORDER BY e.seq DESC LIMIT 1;
      END IF;
    END
    $$`,
    `REVOKE ALL ON FUNCTION audit_chain_tip() FROM PUBLIC`,
    `GRANT EXECUTE ON FUNCTION audit_chain_tip() TO ${APP_ROLE}`,
    `CREATE OR REPLACE PROCEDURE audit_append_durable(p_org_id uuid, p_occurred_at timestamptz, p_events jsonb,
      INOUT head_seq bigint DEFAULT NULL, INOUT head_hash text DEFAULT NULL, INOUT committed_lsn text DEFAULT NULL)
    LANGUAGE plpgsql AS $$
    DECLARE
      last_seq bigint;
      last_hash text;
      last_at timestamptz;
      stamp timestamptz;
      iso text;
      event jsonb;
      seqs bigint[] := '{}';
      hashes text[] := '{}';
      prevs text[] := '{}';
    BEGIN
      PERFORM pg_catalog.set_config('synchronous_commit', 'off', true);
      PERFORM pg_catalog.set_config('app.org_id', coalesce(p_org_id::text, ''), true);
      IF p_org_id IS NULL THEN
        PERFORM pg_catalog.set_config('app.audit_chain', 'system', true);
      END IF;
      PERFORM pg_catalog.pg_advisory_xact_lock(1096107092, pg_catalog.hashtext(coalesce(p_org_id::text, 'system')));
      SELECT t.seq, t.hash, t.occurred_at INTO last_seq, last_hash, last_at FROM public.audit_chain_tip() t;
      head_seq := coalesce(last_seq, 0);
      head_hash := coalesce(last_hash, pg_catalog.repeat('0', 64));
      stamp := pg_catalog.date_trunc('milliseconds', p_occurred_at);
      IF last_at IS NOT NULL AND last_at > stamp THEN
        stamp := last_at;
      END IF;
      iso := pg_catalog.to_char(stamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
      -- the events in the order of their ord (1, 2, ...): the arrays below are indexed by it
      FOR event IN SELECT x.value FROM pg_catalog.jsonb_array_elements(p_events) AS x ORDER BY (x.value ->> 'ord')::int LOOP
        prevs := prevs || head_hash;
        head_seq := head_seq + 1;
        head_hash := pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(
          (event ->> 'opening') || ',"' || head_seq::text || '","' || iso || '",' || (event ->> 'middle')
            || ',"' || head_hash || '"]', 'UTF8')), 'hex');
        seqs := seqs || head_seq;
        hashes := hashes || head_hash;
      END LOOP;
      INSERT INTO public.audit_events (org_id, seq, occurred_at, actor_type, actor_id, actor_label, action,
        target_type, target_id, target_label, reason, outcome, request_id, ip, details, prev_hash, hash)
      SELECT p_org_id, seqs[i.ord], stamp, i.actor_type, i.actor_id, i.actor_label, i.action, i.target_type,
        i.target_id, i.target_label, i.reason, i.outcome, i.request_id, i.ip, i.details, prevs[i.ord], hashes[i.ord]
      FROM pg_catalog.jsonb_to_recordset(p_events) AS i(ord int, actor_type text, actor_id text, actor_label text,
        action text, target_type text, target_id text, target_label text, reason text, outcome text, request_id text,
        ip text, details jsonb);
      COMMIT;
      committed_lsn := pg_catalog.pg_current_wal_insert_lsn()::text;
      PERFORM pg_catalog.pg_logical_emit_message(true, 'docucommit.audit', '');
    END
    $$`,
  ]);
}
