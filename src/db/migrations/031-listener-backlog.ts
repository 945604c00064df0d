import type { Kysely } from 'kysely';
import { APP_ROLE } from './006-row-level-security.ts';
import { runStatements } from './run-statements.ts';

/**
 * The listener backlog for `/metrics`: how many branch-move deliveries wait, and how many of them failed at least
 * once, across every organization. Row-level security shows the application one organization at a time, so the
 * count is a SECURITY DEFINER function that answers two numbers and nothing that names an organization.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `CREATE FUNCTION branch_move_backlog()
    RETURNS TABLE (listener text, pending bigint, failing bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
      SELECT d.listener, count(*), count(*) FILTER (WHERE d.attempts > 0 AND (d.claimed_until IS NULL OR d.claimed_until < now()))
        FROM public.branch_move_deliveries d
       WHERE d.delivered_at IS NULL
       GROUP BY d.listener
    $$`,
    `REVOKE ALL ON FUNCTION branch_move_backlog() FROM PUBLIC`,
    `GRANT EXECUTE ON FUNCTION branch_move_backlog() TO ${APP_ROLE}`,
  ]);
}
