import type { Kysely } from 'kysely';
import { runStatements } from './run-statements.ts';

/** Failed git (smart HTTP) authentications are counted per client address: a fourth throttle scope. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `ALTER TABLE auth_failures DROP CONSTRAINT IF EXISTS auth_failures_scope_check`,
    `ALTER TABLE auth_failures ADD CONSTRAINT auth_failures_scope_check
    CHECK (scope IN ('account', 'address', 'mfa', 'git-address'))`,
  ]);
}
