import type { Kysely } from 'kysely';
import { APP_ROLE } from './006-row-level-security.ts';
import { runStatements } from './run-statements.ts';

/**
 * Rate limits of the REST API (issue #16), one row per personal access token: the start of its current window
 * and the requests counted in it. A request takes its place with one `INSERT … ON CONFLICT DO UPDATE` (the row
 * lock serializes parallel requests of one token, in every process), so a burst of N + k requests lets exactly
 * N through. Tokens belong to users, not organizations: like `personal_access_tokens`, no row-level security.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `CREATE TABLE api_rate_limits (
      token_id uuid PRIMARY KEY REFERENCES personal_access_tokens(id) ON DELETE CASCADE,
      window_start timestamptz NOT NULL,
      used integer NOT NULL CHECK (used >= 0)
    )`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON api_rate_limits TO ${APP_ROLE}`,
  ]);
}
