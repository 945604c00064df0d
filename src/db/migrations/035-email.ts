import type { Kysely } from 'kysely';
import { APP_ROLE } from './006-row-level-security.ts';
import { runStatements } from './run-statements.ts';

/**
 * Email notifications (issue #16, docs/email.md).
 *
 * - `users.email_opt_out`: the person asked for no email except security notices and password resets.
 * - `email_outbox`: one row per notification of one person, written in the transaction of what caused it (or by
 *   the audit feed, see below); claimed with `FOR UPDATE SKIP LOCKED` and a lease, so several processes share it
 *   and a crash mid-send only delays. Non-urgent rows of one person go out together as a digest. A password-reset
 *   link is the only secret an email carries: it is sealed (AES-GCM) in `sealed` and erased once sent.
 *   `dedupe_key` makes one event one email even when it is read twice (account events are written to every chain
 *   of the user's organizations; a due date is looked at on every pass).
 * - `email_feed_cursors`: how far the email feed has read each audit chain (the org id, or 'system').
 * - `email_feed_state`: when email was first turned on: older audit events are never sent.
 * - `email_rate_limits`: self-service password-reset requests per address and per client address, counted with one
 *   `INSERT … ON CONFLICT DO UPDATE` (the row lock serializes a parallel burst in every process).
 * - A trigger ends every unused password-reset link of a user whose password changes, however it changes.
 *
 * Outbox rows belong to people, not organizations (like personal access tokens): no row-level security; their
 * text was written for their recipient only.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `ALTER TABLE users ADD COLUMN IF NOT EXISTS email_opt_out boolean NOT NULL DEFAULT false`,
    `CREATE TABLE email_outbox (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      kind text NOT NULL,
      urgent boolean NOT NULL,
      subject text NOT NULL,
      body text NOT NULL,
      sealed text,
      dedupe_key text,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
      created_at timestamptz NOT NULL,
      next_attempt_at timestamptz NOT NULL,
      attempts integer NOT NULL DEFAULT 0,
      locked_until timestamptz,
      sent_at timestamptz,
      last_error text
    )`,
    `CREATE UNIQUE INDEX email_outbox_dedupe ON email_outbox (user_id, dedupe_key) WHERE dedupe_key IS NOT NULL`,
    `CREATE INDEX email_outbox_pending ON email_outbox (next_attempt_at) WHERE status = 'pending'`,
    `CREATE INDEX email_outbox_user_pending ON email_outbox (user_id) WHERE status = 'pending'`,
    `CREATE TABLE email_feed_cursors (
      chain text PRIMARY KEY,
      seq bigint NOT NULL
    )`,
    `CREATE TABLE email_feed_state (
      id boolean PRIMARY KEY DEFAULT true CHECK (id),
      started_at timestamptz NOT NULL
    )`,
    `CREATE TABLE email_rate_limits (
      key text PRIMARY KEY,
      window_start timestamptz NOT NULL,
      used integer NOT NULL CHECK (used >= 0)
    )`,
    `CREATE FUNCTION password_resets_end_on_password_change() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, public AS $$
    BEGIN
      DELETE FROM public.password_resets WHERE user_id = NEW.id AND used_at IS NULL;
      RETURN NEW;
    END $$`,
    `CREATE TRIGGER users_password_changed AFTER UPDATE OF password_hash ON users
    FOR EACH ROW WHEN (OLD.password_hash IS DISTINCT FROM NEW.password_hash)
    EXECUTE FUNCTION password_resets_end_on_password_change()`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON email_outbox, email_feed_cursors, email_feed_state, email_rate_limits TO ${APP_ROLE}`,
  ]);
}
