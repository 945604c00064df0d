import type { Kysely } from 'kysely';
import { runStatements } from './run-statements.ts';

/**
 * `audit_chain_head()` in PL/pgSQL (issue #18), with the same signature, answers and rights.
 *
 * As a SQL function with a SET clause it is never inlined, so PostgreSQL parsed and planned its body again at every
 * call (migration 042 found that to be ~19 % of a batch append's backend time and gave the durable append
 * `audit_chain_tip()` instead). Every other writer still called it: each event appended inside its change's
 * transaction (`appendToChain`), the embedded database's batch append (`audit_append_batch`, the group commit of
 * audited reads on PGlite) and retention. PL/pgSQL keeps the plans of its statements for the session. Measured on
 * PGlite, batches of 20 events: ~1.23–1.34 ms a batch before, ~1.10–1.17 ms after.
 *
 * Answers are unchanged: the head of the organization the session is scoped to (`app.org_id`), or of the system
 * chain when scoped to it (`app.audit_chain` = 'system' and no organization), else nothing. It still runs as its
 * owner and reads only that chain.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `CREATE OR REPLACE FUNCTION audit_chain_head() RETURNS TABLE (seq bigint, hash text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    #variable_conflict use_column
    BEGIN
      IF nullif(current_setting('app.org_id', true), '') IS NOT NULL THEN
        RETURN QUERY SELECT e.seq, e.hash FROM public.audit_events e
          WHERE e.org_id = nullif(current_setting('app.org_id', true), '')::uuid ORDER BY e.seq DESC LIMIT 1;
      ELSIF current_setting('app.audit_chain', true) = 'system' THEN
        RETURN QUERY SELECT e.seq, e.hash FROM public.audit_events e
          WHERE e.org_id IS NULL ORDER BY e.seq DESC LIMIT 1;
      END IF;
    END
    $$`,
  ]);
}
