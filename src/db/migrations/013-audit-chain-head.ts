import type { Kysely } from 'kysely';
import { APP_ROLE } from './006-row-level-security.ts';
import { runStatements } from './run-statements.ts';

/**
 * The head of an audit chain in one index probe, whatever the chain's length.
 *
 * Under row-level security, "the last event of this organization" (`WHERE org_id = $1 ORDER BY seq DESC LIMIT 1`)
 * carries the policy's OR (organization chain or system chain), and PostgreSQL answered it with a bitmap scan of
 * every event of the organization and a sort: 5 ms at 10,000 events, growing with the log, on every append.
 * This function answers the same question for the chain the transaction is scoped to (the same settings the
 * policy reads: `app.org_id`, or `app.audit_chain` = 'system' with no organization), with its owner's rights,
 * so the (org_id, seq) indexes are used backwards: one probe. It shows nothing the policy would hide.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `CREATE FUNCTION audit_chain_head() RETURNS TABLE (seq bigint, hash text) LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, public AS $$
      (SELECT e.seq, e.hash FROM public.audit_events e
        WHERE e.org_id = nullif(current_setting('app.org_id', true), '')::uuid
        ORDER BY e.seq DESC LIMIT 1)
      UNION ALL
      (SELECT e.seq, e.hash FROM public.audit_events e
        WHERE e.org_id IS NULL
          AND nullif(current_setting('app.org_id', true), '') IS NULL
          AND current_setting('app.audit_chain', true) = 'system'
        ORDER BY e.seq DESC LIMIT 1)
    $$`,
    `REVOKE ALL ON FUNCTION audit_chain_head() FROM PUBLIC`,
    `GRANT EXECUTE ON FUNCTION audit_chain_head() TO ${APP_ROLE}`,
  ]);
}
