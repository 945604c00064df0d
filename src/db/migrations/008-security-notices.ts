import type { Kysely } from 'kysely';
import { runStatements } from './run-statements.ts';

/**
 * In-app security notices (audit/security-notices.ts): when each user last looked at their security activity,
 * and an index over the account-security events of each chain by time, so listing one user's recent events
 * does not read every document read of their organizations. The action list is frozen here; the query names
 * the same actions as literals so the planner can use the partial index.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `ALTER TABLE users ADD COLUMN IF NOT EXISTS security_seen_at timestamptz`,
    `CREATE INDEX IF NOT EXISTS audit_events_security_time ON audit_events (org_id, occurred_at)
    WHERE action IN ('auth.sign_in', 'auth.sign_in_throttled', 'auth.mfa_failed', 'auth.mfa_enrolled', 'auth.mfa_disabled',
      'auth.recovery_code_used', 'auth.recovery_codes_regenerated', 'auth.reauthentication_failed', 'auth.password_changed',
      'auth.email_changed', 'auth.session_revoked', 'token.created', 'token.revoked')`,
  ]);
}
