import type { Kysely } from 'kysely';
import { APP_ROLE } from './006-row-level-security.ts';
import { runStatements } from './run-statements.ts';

/** Fewest days an organization keeps its audit events (the setting may be longer, never shorter). */
export const MIN_AUDIT_RETENTION_DAYS = 90;

/**
 * Audit retention and the evidence pack's signing key (issue #14).
 *
 * - `organizations.audit_retention_days` (default 90, never less: the CHECK holds whatever the application says).
 * - Pruning: the append-only trigger of 002 still refuses every UPDATE, DELETE and TRUNCATE, with one exception:
 *   a DELETE made by the table's owner while `docucommit.audit_prune_org` / `_through` name that event's chain and
 *   a sequence number at or after it. The only owner's code the application role can run that sets them is
 *   `audit_prune(org, through_seq)` (SECURITY DEFINER), which deletes a chain's prefix only when every event in it
 *   is older than the organization's retention and a checkpoint event (`audit.pruned`, written by the caller in
 *   the same transaction, after them in the chain) names the exact sequence number and hash of the last one
 *   removed. So the application role cannot delete arbitrary audit rows: only events older than 90 days at the
 *   very least, always leaving a checkpoint from which `audit verify` continues.
 * - `evidence_public_key` / `evidence_private_key`: the organization's Ed25519 key that signs evidence manifests,
 *   created on first use; the private key sealed like TOTP secrets (auth/secret-box.ts).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `ALTER TABLE organizations ADD COLUMN audit_retention_days integer NOT NULL DEFAULT ${MIN_AUDIT_RETENTION_DAYS}
      CHECK (audit_retention_days BETWEEN ${MIN_AUDIT_RETENTION_DAYS} AND 36500)`,
    `ALTER TABLE organizations ADD COLUMN evidence_public_key text, ADD COLUMN evidence_private_key text`,
    `CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE'
        AND coalesce(current_setting('docucommit.audit_prune_through', true), '') <> ''
        AND OLD.org_id = nullif(current_setting('docucommit.audit_prune_org', true), '')::uuid
        AND OLD.seq <= current_setting('docucommit.audit_prune_through', true)::bigint
        AND current_user = (SELECT pg_get_userbyid(c.relowner) FROM pg_class c WHERE c.oid = TG_RELID)
      THEN
        RETURN OLD;
      END IF;
      RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END
    $$`,
    `CREATE FUNCTION audit_prune(p_org_id uuid, p_through_seq bigint) RETURNS bigint LANGUAGE plpgsql VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    DECLARE
      retention integer;
      last_hash text;
      removed bigint;
    BEGIN
      IF p_org_id IS NULL OR p_through_seq IS NULL OR p_through_seq < 1 THEN
        RAISE EXCEPTION 'audit_prune: an organization and a sequence number are required' USING ERRCODE = 'invalid_parameter_value';
      END IF;
      PERFORM pg_advisory_xact_lock(1096107092, hashtext(p_org_id::text));
      SELECT o.audit_retention_days INTO retention FROM public.organizations o WHERE o.id = p_org_id;
      IF retention IS NULL THEN
        RAISE EXCEPTION 'audit_prune: no such organization' USING ERRCODE = 'invalid_parameter_value';
      END IF;
      SELECT e.hash INTO last_hash FROM public.audit_events e WHERE e.org_id = p_org_id AND e.seq = p_through_seq;
      IF last_hash IS NULL THEN
        RAISE EXCEPTION 'audit_prune: no event % in the chain', p_through_seq USING ERRCODE = 'invalid_parameter_value';
      END IF;
      IF EXISTS (SELECT 1 FROM public.audit_events e WHERE e.org_id = p_org_id AND e.seq <= p_through_seq
          AND e.occurred_at >= now() - make_interval(days => greatest(retention, ${MIN_AUDIT_RETENTION_DAYS}))) THEN
        RAISE EXCEPTION 'audit_prune: events through % are not all older than the retention period', p_through_seq
          USING ERRCODE = 'insufficient_privilege';
      END IF;
      IF NOT EXISTS (SELECT 1 FROM public.audit_events e WHERE e.org_id = p_org_id AND e.seq > p_through_seq
          AND e.action = 'audit.pruned' AND e.details ->> 'through_seq' = p_through_seq::text
          AND e.details ->> 'through_hash' = last_hash) THEN
        RAISE EXCEPTION 'audit_prune: no checkpoint names event % and its hash', p_through_seq USING ERRCODE = 'insufficient_privilege';
      END IF;
      PERFORM set_config('docucommit.audit_prune_org', p_org_id::text, true);
      PERFORM set_config('docucommit.audit_prune_through', p_through_seq::text, true);
      DELETE FROM public.audit_events e WHERE e.org_id = p_org_id AND e.seq <= p_through_seq;
      GET DIAGNOSTICS removed = ROW_COUNT;
      PERFORM set_config('docucommit.audit_prune_org', '', true);
      PERFORM set_config('docucommit.audit_prune_through', '', true);
      RETURN removed;
    END
    $$`,
    `REVOKE ALL ON FUNCTION audit_prune(uuid, bigint) FROM PUBLIC`,
    `GRANT EXECUTE ON FUNCTION audit_prune(uuid, bigint) TO ${APP_ROLE}`,
  ]);
}
