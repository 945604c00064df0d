import type { Kysely } from 'kysely';
import { runStatements } from './run-statements.ts';

/**
 * `audit_chain_head()` without its own planning at every call (issue #18), with the same signature and answers.
 *
 * As a SQL function with a SET clause and SECURITY DEFINER it is never inlined, so PostgreSQL parsed and planned its
 * body again at every call (migration 042 found that to be ~19 % of a batch append's backend time and gave the
 * durable append `audit_chain_tip()`, PL/pgSQL, whose plans are kept for the session). Every other writer still
 * called it: each event appended inside its change's transaction (`appendToChain`), the embedded database's batch
 * append (`audit_append_batch`, the group commit of audited reads on PGlite) and retention.
 *
 * It is now `audit_chain_tip()` without the time: a plain SQL function (no SET clause, not SECURITY DEFINER) that
 * PostgreSQL inlines into the calling statement, so the head is read in one place. `audit_chain_tip()` runs as its
 * owner and reads only the chain the session is scoped to (`app.org_id`, or the system chain when `app.audit_chain`
 * is 'system' and no organization), else nothing: the answers are those of migration 013's function.
 *
 * Measured on PostgreSQL (`pgbench`, a scoped transaction that reads the head, 100,000 events, alternated): 0.32–0.34 ms
 * before, 0.23–0.25 ms after. On PGlite, batch appends of 20 events differ by less than the noise (1.03–1.22 ms a
 * batch before, 1.01–1.14 after).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `CREATE OR REPLACE FUNCTION audit_chain_head() RETURNS TABLE (seq bigint, hash text)
    LANGUAGE sql STABLE SECURITY INVOKER AS $$
      SELECT t.seq, t.hash FROM public.audit_chain_tip() t
    $$`,
  ]);
}
