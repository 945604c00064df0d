import type { Kysely } from 'kysely';
import { APP_ROLE } from './006-row-level-security.ts';
import { runStatements } from './run-statements.ts';

/** Days between an owner's deletion request and the purge (the grace period, in which an owner may cancel). */
export const DELETION_GRACE_DAYS = 30;

/**
 * Organization deletion (issue #17, docs/organization-export-and-deletion.md).
 *
 * - `organizations.deletion_requested_at` / `deletion_purge_after`: set together by an owner's request (the purge
 *   date is always the request plus the grace period: a CHECK holds it whatever the application writes), cleared
 *   together by a cancellation. While set, the organization is closed to its members.
 * - The organization's own audit chain goes with it. The append-only trigger still refuses every UPDATE, DELETE
 *   and TRUNCATE, with one more exception beside pruning (027): a DELETE made by the table's owner while
 *   `docucommit.audit_purge_org` names that event's chain. The only owner's code the application role can run that
 *   sets it is `audit_purge_organization(org)` (SECURITY DEFINER), which removes a chain only when its
 *   organization was scheduled for deletion, the grace period has passed by the database's clock, and nothing of
 *   the organization is left but its row (no project, no member): the purge job's last step before the row goes.
 *   It returns the removed chain's length and last hash, which the job records in the system chain.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `ALTER TABLE organizations ADD COLUMN deletion_requested_at timestamptz, ADD COLUMN deletion_purge_after timestamptz`,
    `ALTER TABLE organizations ADD CONSTRAINT organizations_deletion_dates CHECK (
      (deletion_requested_at IS NULL AND deletion_purge_after IS NULL)
      OR deletion_purge_after = deletion_requested_at + make_interval(hours => ${DELETION_GRACE_DAYS * 24}))`,
    `CREATE INDEX organizations_deletion_due ON organizations (deletion_purge_after) WHERE deletion_purge_after IS NOT NULL`,
    `CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE'
        AND current_user = (SELECT pg_get_userbyid(c.relowner) FROM pg_class c WHERE c.oid = TG_RELID)
        AND (
          (coalesce(current_setting('docucommit.audit_prune_through', true), '') <> ''
            AND OLD.org_id = nullif(current_setting('docucommit.audit_prune_org', true), '')::uuid
            AND OLD.seq <= current_setting('docucommit.audit_prune_through', true)::bigint)
          OR (OLD.org_id IS NOT NULL
            AND OLD.org_id = nullif(current_setting('docucommit.audit_purge_org', true), '')::uuid)
        )
      THEN
        RETURN OLD;
      END IF;
      RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END
    $$`,
    `CREATE FUNCTION audit_purge_organization(p_org_id uuid)
    RETURNS TABLE (removed bigint, last_seq bigint, last_hash text) LANGUAGE plpgsql VOLATILE
    SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    DECLARE
      due timestamptz;
    BEGIN
      IF p_org_id IS NULL THEN
        RAISE EXCEPTION 'audit_purge_organization: an organization is required' USING ERRCODE = 'invalid_parameter_value';
      END IF;
      -- the chain's append lock (audit-log.ts lockChain): no event is appended while the chain goes
      PERFORM pg_advisory_xact_lock(1096107092, hashtext(p_org_id::text));
      SELECT o.deletion_purge_after INTO due FROM public.organizations o WHERE o.id = p_org_id FOR UPDATE;
      IF due IS NULL OR due > now() THEN
        RAISE EXCEPTION 'audit_purge_organization: the organization is not due for deletion' USING ERRCODE = 'insufficient_privilege';
      END IF;
      IF EXISTS (SELECT 1 FROM public.projects p WHERE p.org_id = p_org_id)
        OR EXISTS (SELECT 1 FROM public.memberships m WHERE m.org_id = p_org_id) THEN
        RAISE EXCEPTION 'audit_purge_organization: the organization still has projects or members' USING ERRCODE = 'insufficient_privilege';
      END IF;
      SELECT e.seq, e.hash INTO last_seq, last_hash FROM public.audit_events e WHERE e.org_id = p_org_id ORDER BY e.seq DESC LIMIT 1;
      PERFORM set_config('docucommit.audit_purge_org', p_org_id::text, true);
      DELETE FROM public.audit_events e WHERE e.org_id = p_org_id;
      GET DIAGNOSTICS removed = ROW_COUNT;
      PERFORM set_config('docucommit.audit_purge_org', '', true);
      RETURN NEXT;
    END
    $$`,
    `REVOKE ALL ON FUNCTION audit_purge_organization(uuid) FROM PUBLIC`,
    `GRANT EXECUTE ON FUNCTION audit_purge_organization(uuid) TO ${APP_ROLE}`,
  ]);
}
