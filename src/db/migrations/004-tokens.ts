import type { Kysely } from 'kysely';
import { runStatements } from './run-statements.ts';

/**
 * Personal access tokens. Only the SHA-256 of a token is stored: tokens carry 256 random bits, so a fast hash
 * is enough (there is nothing to brute-force, unlike a password) and lets a request find its row by an index
 * lookup instead of comparing secrets. Tokens belong to a user, not an organization: what one may do is
 * decided per organization by the owner's role there, narrowed by the token's scopes.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `CREATE TABLE personal_access_tokens (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    prefix text NOT NULL,
    token_hash text NOT NULL UNIQUE,
    scopes text[] NOT NULL CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['read', 'write']::text[]),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at timestamptz,
    CHECK (expires_at > created_at AND expires_at <= created_at + interval '366 days')
    )`,
    `CREATE INDEX personal_access_tokens_user ON personal_access_tokens (user_id)`,
  ]);
}
