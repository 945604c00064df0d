import type { Kysely } from 'kysely';
import { APP_ROLE } from './006-row-level-security.ts';
import { runStatements } from './run-statements.ts';

/**
 * A group commit's batch of audit events on a PostgreSQL server, in one round trip, chained by the database and
 * made durable without holding the chain's lock during the flush (audit/group-commit.ts, issue #18).
 *
 * With several server processes on one database, each process's writer chaining its batches itself (migration
 * 019) kept missing the head the other process had just written (one more round trip each, and a locked append
 * after three), and every batch held the chain's lock until its commit was flushed: one fsync at a time per chain,
 * whatever the number of processes. `CALL audit_append_durable(org, at, events)`:
 *
 * 1. scopes itself to the chain (row-level security, as `withAuditChain`), takes the chain's lock (the one every
 *    writer takes: class 0x41554454 "AUDT", hashtext of the organization id or 'system'), reads the head with a
 *    snapshot taken after the lock was granted, and chains the events after it: each hash is SHA-256 of the
 *    canonical text `eventHash` (audit/hash.ts) hashes, put together from the pieces the writer computed
 *    (`eventHashPieces`: the text before and after seq, time and previous hash) — so the stored rows are exactly
 *    those the writer would have chained, and `audit verify` checks them as it checks every other row. The time is
 *    the writer's, or the head's when that is later: within a chain, time never runs backwards against seq.
 * 2. COMMITs with synchronous_commit off (set for this transaction only): the lock is released once the rows are
 *    written, without waiting for the disk, so the next batch of the chain (this process's or another's) is
 *    written while this one is flushed.
 * 3. writes a transactional logical-decoding message (nothing any table holds) and commits that second
 *    transaction with the session's synchronous_commit: the CALL returns only once the write-ahead log is on disk
 *    up to that commit, which lies after the batch's. Concurrent flushes share one fsync.
 *
 * A crash of the database server between 2 and 3 may lose the batch, and with it every later transaction in the
 * log: a tail of the chain whose callers had not been answered, never an event in its middle. The procedure
 * answers the chain's new head and the end of the log at step 2 (`committed_lsn`, for tests of the flush).
 * A procedure that commits may not carry a SET clause, so every name is schema-qualified instead of pinning the
 * search path. It must be CALLed outside a transaction block (a COMMIT inside one is refused).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `CREATE PROCEDURE audit_append_durable(p_org_id uuid, p_occurred_at timestamptz, p_events jsonb,
      INOUT head_seq bigint DEFAULT NULL, INOUT head_hash text DEFAULT NULL, INOUT committed_lsn text DEFAULT NULL)
    LANGUAGE plpgsql AS $$
    DECLARE
      last_seq bigint;
      last_hash text;
      last_at timestamptz;
    BEGIN
      PERFORM pg_catalog.set_config('synchronous_commit', 'off', true);
      PERFORM pg_catalog.set_config('app.org_id', coalesce(p_org_id::text, ''), true);
      IF p_org_id IS NULL THEN
        PERFORM pg_catalog.set_config('app.audit_chain', 'system', true);
      END IF;
      PERFORM pg_catalog.pg_advisory_xact_lock(1096107092, pg_catalog.hashtext(coalesce(p_org_id::text, 'system')));
      SELECT h.seq, h.hash INTO last_seq, last_hash FROM public.audit_chain_head() h;
      IF last_seq IS NOT NULL AND p_org_id IS NULL THEN
        SELECT e.occurred_at INTO last_at FROM public.audit_events e WHERE e.org_id IS NULL AND e.seq = last_seq;
      ELSIF last_seq IS NOT NULL THEN
        SELECT e.occurred_at INTO last_at FROM public.audit_events e WHERE e.org_id = p_org_id AND e.seq = last_seq;
      END IF;
      WITH RECURSIVE
        input AS (
          SELECT * FROM pg_catalog.jsonb_to_recordset(p_events) AS i(ord int, opening text, middle text,
            actor_type text, actor_id text, actor_label text, action text, target_type text, target_id text,
            target_label text, reason text, outcome text, request_id text, ip text, details jsonb)
        ),
        head AS (
          SELECT coalesce(last_seq, 0) AS seq, coalesce(last_hash, repeat('0', 64)) AS hash,
            greatest(date_trunc('milliseconds', p_occurred_at), last_at) AS at
        ),
        stamp AS (SELECT at, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS iso FROM head),
        chain AS (
          SELECT 0 AS ord, seq, hash FROM head
          UNION ALL
          SELECT i.ord, c.seq + 1,
            encode(sha256(convert_to(i.opening || ',"' || (c.seq + 1)::text || '","' || s.iso || '",' || i.middle
              || ',"' || c.hash || '"]', 'UTF8')), 'hex')
          FROM chain c JOIN input i ON i.ord = c.ord + 1 CROSS JOIN stamp s
        ),
        inserted AS (
          INSERT INTO public.audit_events (org_id, seq, occurred_at, actor_type, actor_id, actor_label, action,
            target_type, target_id, target_label, reason, outcome, request_id, ip, details, prev_hash, hash)
          SELECT p_org_id, c.seq, s.at, i.actor_type, i.actor_id, i.actor_label, i.action, i.target_type, i.target_id,
            i.target_label, i.reason, i.outcome, i.request_id, i.ip, i.details, p.hash, c.hash
          FROM chain c JOIN input i ON i.ord = c.ord JOIN chain p ON p.ord = c.ord - 1 CROSS JOIN stamp s
          RETURNING seq, hash
        )
      SELECT n.seq, n.hash INTO head_seq, head_hash FROM inserted n ORDER BY n.seq DESC LIMIT 1;
      COMMIT;
      committed_lsn := pg_catalog.pg_current_wal_insert_lsn()::text;
      PERFORM pg_catalog.pg_logical_emit_message(true, 'docucommit.audit', '');
    END
    $$`,
    `REVOKE ALL ON PROCEDURE audit_append_durable(uuid, timestamptz, jsonb, bigint, text, text) FROM PUBLIC`,
    `GRANT EXECUTE ON PROCEDURE audit_append_durable(uuid, timestamptz, jsonb, bigint, text, text) TO ${APP_ROLE}`,
  ]);
}
