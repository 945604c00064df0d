import type { Kysely } from 'kysely';
import { APP_ROLE } from './006-row-level-security.ts';
import { runStatements } from './run-statements.ts';

/**
 * A group commit's batch of audit events in one statement, hence one round trip and one transaction of its own.
 *
 * Appending a batch used to be six round trips (begin, scope, lock, read the head, insert, commit). On the
 * embedded database each is a message to the database thread and back, and each answer waited its turn on the
 * busy serving thread: a batch took ~11 ms of which ~5 ms were the database's work. The writer (AuditGroupCommit)
 * now chains the events in memory after the head it expects, usually the one it wrote last, and this function
 * appends them only if that is still the chain's head, under the same lock as every other writer of the chain
 * (`appendToChain`, lock class 0x41554454 "AUDT" and hashtext of the organization id, or 'system'). Otherwise it
 * appends nothing and answers the actual head, and the writer chains the events again after it.
 *
 * The function is VOLATILE, so the head is read with a snapshot taken after the lock was granted: every event a
 * previous holder of the lock wrote is visible. It runs with the caller's rights: row-level security applies to
 * the insert, for the chain it scopes itself to (as `withAuditChain` does); the caller's scope is restored
 * before it returns. The rows are exactly those `appendToChain` writes.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `CREATE FUNCTION audit_append_batch(p_org_id text, p_expected_seq bigint, p_expected_hash text, p_events jsonb)
    RETURNS TABLE (appended boolean, head_seq bigint, head_hash text) LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, public AS $$
    DECLARE
      previous_org text := coalesce(current_setting('app.org_id', true), '');
      previous_chain text := coalesce(current_setting('app.audit_chain', true), '');
      head_row record;
      current_seq bigint;
      current_hash text;
    BEGIN
      PERFORM set_config('app.org_id', coalesce(p_org_id, ''), true);
      IF p_org_id IS NULL THEN
        PERFORM set_config('app.audit_chain', 'system', true);
      END IF;
      PERFORM pg_advisory_xact_lock(1096107092, hashtext(coalesce(p_org_id, 'system')));
      SELECT h.seq, h.hash INTO head_row FROM public.audit_chain_head() h;
      current_seq := coalesce(head_row.seq, 0);
      current_hash := coalesce(head_row.hash, repeat('0', 64));
      IF current_seq = p_expected_seq AND current_hash = p_expected_hash THEN
        INSERT INTO public.audit_events (org_id, seq, occurred_at, actor_type, actor_id, actor_label, action, target_type,
          target_id, target_label, reason, outcome, request_id, ip, details, prev_hash, hash)
        SELECT e.org_id, e.seq, e.occurred_at, e.actor_type, e.actor_id, e.actor_label, e.action, e.target_type,
          e.target_id, e.target_label, e.reason, e.outcome, e.request_id, e.ip, e.details, e.prev_hash, e.hash
        FROM jsonb_to_recordset(p_events) AS e(org_id uuid, seq bigint, occurred_at timestamptz, actor_type text,
          actor_id text, actor_label text, action text, target_type text, target_id text, target_label text,
          reason text, outcome text, request_id text, ip text, details jsonb, prev_hash text, hash text);
        appended := true;
        head_seq := (p_events -> -1 ->> 'seq')::bigint;
        head_hash := p_events -> -1 ->> 'hash';
      ELSE
        appended := false;
        head_seq := current_seq;
        head_hash := current_hash;
      END IF;
      PERFORM set_config('app.org_id', previous_org, true);
      PERFORM set_config('app.audit_chain', previous_chain, true);
      RETURN NEXT;
    END
    $$`,
    `REVOKE ALL ON FUNCTION audit_append_batch(text, bigint, text, jsonb) FROM PUBLIC`,
    `GRANT EXECUTE ON FUNCTION audit_append_batch(text, bigint, text, jsonb) TO ${APP_ROLE}`,
  ]);
}
