import type { Kysely } from 'kysely';
import { runStatements } from './run-statements.ts';

/**
 * MFA (TOTP secrets sealed with AES-256-GCM, hashed recovery codes), sign-in throttling counters, session
 * states (MFA pending, enrollment required, last re-authentication) and the organization's MFA and session
 * expiry settings.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `CREATE TABLE user_mfa (
    user_id uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    totp_secret text,
    totp_enrolled_at timestamptz,
    totp_last_step bigint,
    pending_secret text,
    pending_created_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE TABLE recovery_codes (
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    used_at timestamptz,
    PRIMARY KEY (user_id, code_hash)
    )`,
    // One row per failed attempt: every process counts the same rows, so limits hold across processes.
    `CREATE TABLE auth_failures (
    scope text NOT NULL CHECK (scope IN ('account', 'address', 'mfa')),
    subject_hash text NOT NULL,
    failed_at timestamptz NOT NULL
    )`,
    `CREATE INDEX auth_failures_subject ON auth_failures (scope, subject_hash, failed_at)`,
    `CREATE INDEX auth_failures_age ON auth_failures (failed_at)`,
    `ALTER TABLE sessions ADD COLUMN pending text CHECK (pending IN ('mfa', 'mfa-enrollment'))`,
    `ALTER TABLE sessions ADD COLUMN reauthenticated_at timestamptz`,
    `ALTER TABLE sessions ADD COLUMN idle_seconds integer CHECK (idle_seconds > 0)`,
    `ALTER TABLE organizations ADD COLUMN require_mfa text NOT NULL DEFAULT 'none'
    CHECK (require_mfa IN ('none', 'admins', 'everyone'))`,
    `ALTER TABLE organizations ADD COLUMN session_idle_minutes integer CHECK (session_idle_minutes BETWEEN 5 AND 10080)`,
    `ALTER TABLE organizations ADD COLUMN session_absolute_minutes integer
    CHECK (session_absolute_minutes BETWEEN 15 AND 43200)`,
  ]);
}
