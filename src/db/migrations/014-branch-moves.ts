import type { Kysely } from 'kysely';
import { APP_ROLE } from './006-row-level-security.ts';
import { runStatements } from './run-statements.ts';

/**
 * The durable record of the branch-move protocol (changes/branch-moves.ts):
 * - `branch_moves`: one row per ref move of a project's repository, written in the same transaction as the
 *   move's audit events (so a move is recorded with its events or not at all); `journal_id` makes a replay by
 *   crash recovery idempotent.
 * - `branch_move_deliveries`: one row per move and listener registered when it was recorded; a listener's work
 *   is claimed with a lease (`claimed_until`) through `claim_branch_move_deliveries`, which skips rows another
 *   process holds (FOR UPDATE SKIP LOCKED), and is retried with backoff until `delivered_at` is set.
 * Both are tenant tables. The claim function runs with its owner's rights because the retry loop works across
 * organizations; it returns only keys (move id, organization, listener), never a row's content.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `CREATE TABLE branch_moves (
      id bigserial PRIMARY KEY,
      org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
      project_id uuid NOT NULL,
      ref text NOT NULL,
      old_commit text,
      new_commit text,
      kind text NOT NULL CHECK (kind IN ('save', 'create', 'move', 'delete', 'restore', 'push', 'merge', 'import', 'external')),
      actor jsonb NOT NULL,
      changed_paths jsonb NOT NULL,
      paths_truncated boolean NOT NULL,
      recovered boolean NOT NULL DEFAULT false,
      journal_id text,
      update_index integer,
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE UNIQUE INDEX branch_moves_journal ON branch_moves (journal_id, update_index) WHERE journal_id IS NOT NULL`,
    `CREATE INDEX branch_moves_project ON branch_moves (org_id, project_id, id)`,
    `CREATE TABLE branch_move_deliveries (
      move_id bigint NOT NULL REFERENCES branch_moves(id) ON DELETE CASCADE,
      org_id uuid NOT NULL,
      listener text NOT NULL,
      attempts integer NOT NULL DEFAULT 0,
      next_attempt_at timestamptz NOT NULL DEFAULT now(),
      claimed_until timestamptz,
      last_error text,
      delivered_at timestamptz,
      PRIMARY KEY (move_id, listener)
    )`,
    `CREATE INDEX branch_move_deliveries_due ON branch_move_deliveries (next_attempt_at) WHERE delivered_at IS NULL`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON branch_moves, branch_move_deliveries TO ${APP_ROLE}`,
    `GRANT USAGE ON SEQUENCE branch_moves_id_seq TO ${APP_ROLE}`,
    ...['branch_moves', 'branch_move_deliveries'].flatMap((table) => [
      `ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`,
      `CREATE POLICY tenant_isolation ON ${table} USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id())`,
    ]),
    // Claims deliveries that are due (or, with p_move_ids, those of the given moves) for the listeners named,
    // for p_lease_seconds: a claimed row is not handed out again until its lease ends or it is settled.
    `CREATE FUNCTION claim_branch_move_deliveries(p_move_ids bigint[], p_listeners text[], p_limit integer, p_lease_seconds integer)
    RETURNS TABLE (move_id bigint, org_id uuid, listener text, attempts integer)
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
      UPDATE public.branch_move_deliveries d
         SET claimed_until = now() + make_interval(secs => p_lease_seconds), attempts = d.attempts + 1
       WHERE (d.move_id, d.listener) IN (
         SELECT c.move_id, c.listener FROM public.branch_move_deliveries c
          WHERE c.delivered_at IS NULL
            AND c.listener = ANY (p_listeners)
            AND (c.claimed_until IS NULL OR c.claimed_until < now())
            AND (CASE WHEN p_move_ids IS NULL THEN c.next_attempt_at <= now() ELSE c.move_id = ANY (p_move_ids) END)
          ORDER BY c.move_id
          LIMIT p_limit
          FOR UPDATE SKIP LOCKED)
      RETURNING d.move_id, d.org_id, d.listener, d.attempts
    $$`,
    `REVOKE ALL ON FUNCTION claim_branch_move_deliveries(bigint[], text[], integer, integer) FROM PUBLIC`,
    `GRANT EXECUTE ON FUNCTION claim_branch_move_deliveries(bigint[], text[], integer, integer) TO ${APP_ROLE}`,
  ]);
}
