import type { Kysely } from 'kysely';
import { runStatements } from './run-statements.ts';

/**
 * Re-authentication through the identity provider (src/auth/sso/reauthentication.ts, docs/sso.md).
 *
 * A begun flow now has a `purpose`: `sign-in` (as before: bound to a browser by `browser_hash`) or
 * `reauthentication` (bound to the signed-in session that began it, `session_hash` = the session's `id_hash`, and
 * to its user). The CHECK keeps each kind's binding whole, so a row can never be bound to neither. A flow goes with
 * its session (ON DELETE CASCADE): signing out or revoking the session ends a confirmation begun in it. The callback
 * still finds a flow by its state alone and then judges it by its purpose.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `ALTER TABLE sso_sign_in_flows
    ADD COLUMN purpose text NOT NULL DEFAULT 'sign-in' CHECK (purpose IN ('sign-in', 'reauthentication')),
    ADD COLUMN session_hash text REFERENCES sessions(id_hash) ON DELETE CASCADE,
    ADD COLUMN user_id uuid REFERENCES users(id) ON DELETE CASCADE,
    ALTER COLUMN browser_hash DROP NOT NULL`,
    `ALTER TABLE sso_sign_in_flows ADD CONSTRAINT sso_sign_in_flows_binding CHECK (
      (purpose = 'sign-in' AND browser_hash IS NOT NULL AND session_hash IS NULL AND user_id IS NULL)
      OR (purpose = 'reauthentication' AND browser_hash IS NULL AND session_hash IS NOT NULL AND user_id IS NOT NULL))`,
    `CREATE INDEX sso_sign_in_flows_session ON sso_sign_in_flows (session_hash) WHERE session_hash IS NOT NULL`,
    `CREATE INDEX sso_sign_in_flows_user ON sso_sign_in_flows (user_id) WHERE user_id IS NOT NULL`,
  ]);
}
