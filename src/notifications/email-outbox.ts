import { sql, type Kysely } from 'kysely';
import type { SecretBox } from '../auth/secret-box.ts';
import type { Database } from '../db/schema.ts';

/**
 * The durable email outbox (migration 035, docs/email.md): one row per notification of one person. Rows are
 * written in the transaction of what caused them; the dispatcher (email-dispatcher.ts) claims and sends them.
 */

/** What an email is about. Security notices and password resets are urgent: sent at once, never opted out of. */
export type EmailKind =
  | 'security'
  | 'password_reset'
  | 'access_request'
  | 'access_decision'
  | 'change_request_review'
  | 'acknowledgment_due'
  | 'review_due';

const URGENT: ReadonlySet<EmailKind> = new Set(['security', 'password_reset']);

/** Whether a kind goes out at once, alone, and even to people who opted out. */
export const isUrgent = (kind: EmailKind): boolean => URGENT.has(kind);

/** In a body, where the sealed link goes when the message is sent. */
export const SECRET_LINK_MARK = '{{secret-link}}';
/** The purpose the sealed link is bound to (secret-box.ts). */
export const SEALED_PURPOSE = 'email-outbox-link';

export interface EmailNotification {
  userId: string;
  kind: EmailKind;
  /** One line: the subject of a single email, and the heading of the item in a digest. */
  subject: string;
  /** Plain text, written for this recipient only (never a title or path they may not read). */
  body: string;
  /** The same key for the same person is queued once (ON CONFLICT DO NOTHING). */
  dedupeKey?: string | null;
  /** A secret link (password reset): sealed at rest, put in place of SECRET_LINK_MARK at sending, then erased. */
  secretLink?: string;
}

/**
 * Queue a notification in the caller's transaction. Not queued: a non-urgent one for someone who opted out, or
 * for a disabled account; a repeated dedupe key. Returns whether a row was written.
 */
export async function enqueueEmail(
  trx: Kysely<Database>,
  notification: EmailNotification,
  options: { box: SecretBox; now: number },
): Promise<boolean> {
  const user = await trx.selectFrom('users').select(['email_opt_out', 'disabled_at']).where('id', '=', notification.userId).executeTakeFirst();
  if (!user || user.disabled_at) return false;
  const urgent = isUrgent(notification.kind);
  if (!urgent && user.email_opt_out) return false;
  if (notification.secretLink !== undefined && !notification.body.includes(SECRET_LINK_MARK)) {
    throw new Error('email outbox: a secret link needs its mark in the body');
  }
  const at = new Date(options.now);
  const result = await trx
    .insertInto('email_outbox')
    .values({
      user_id: notification.userId,
      kind: notification.kind,
      urgent,
      subject: notification.subject.replace(/[\r\n]+/g, ' ').slice(0, 200),
      body: notification.body,
      sealed: notification.secretLink === undefined ? null : options.box.seal(Buffer.from(notification.secretLink), SEALED_PURPOSE),
      dedupe_key: notification.dedupeKey ?? null,
      created_at: at,
      next_attempt_at: at,
    })
    .onConflict((oc) => oc.columns(['user_id', 'dedupe_key']).where('dedupe_key', 'is not', null).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** A claimed row, ready to send. */
export interface ClaimedEmail {
  id: string;
  userId: string;
  kind: EmailKind;
  urgent: boolean;
  subject: string;
  body: string;
  sealed: string | null;
  attempts: number;
  createdAt: Date;
}

/** A batch claimed for one person: one urgent message, or every pending non-urgent one (a digest). */
export interface ClaimedBatch {
  userId: string;
  to: string;
  optedOut: boolean;
  disabled: boolean;
  rows: ClaimedEmail[];
}

/**
 * Claim the next batch due at `now` for this process, for `leaseMs` (another process skips it; a crash lets it
 * go again when the lease ends). Due: an urgent row whose attempt time came, or a person whose oldest pending
 * non-urgent row waited `digestWindowMs` (their other pending non-urgent rows join it). Rows are locked
 * `FOR UPDATE SKIP LOCKED` while the lease is written, so two processes never claim the same row.
 */
export async function claimBatch(
  db: Kysely<Database>,
  options: { now: number; leaseMs: number; digestWindowMs: number },
): Promise<ClaimedBatch | null> {
  const now = new Date(options.now);
  const digestDue = new Date(options.now - options.digestWindowMs);
  return db.transaction().execute(async (trx) => {
    const first = await trx
      .selectFrom('email_outbox')
      .select(['id', 'user_id', 'urgent'])
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
      .where((eb) => eb.or([eb('urgent', '=', true), eb('created_at', '<=', digestDue)]))
      .orderBy('urgent', 'desc')
      .orderBy('next_attempt_at')
      .limit(1)
      .forUpdate()
      .skipLocked()
      .executeTakeFirst();
    if (!first) return null;
    let ids = [first.id];
    if (!first.urgent) {
      const rows = await trx
        .selectFrom('email_outbox')
        .select('id')
        .where('user_id', '=', first.user_id)
        .where('status', '=', 'pending')
        .where('urgent', '=', false)
        .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
        .orderBy('created_at')
        .limit(200)
        .forUpdate()
        .skipLocked()
        .execute();
      ids = [...new Set([first.id, ...rows.map((r) => r.id)])];
    }
    const claimed = await trx
      .updateTable('email_outbox')
      .set({ locked_until: new Date(options.now + options.leaseMs), attempts: sql`attempts + 1` })
      .where('id', 'in', ids)
      .returning(['id', 'user_id', 'kind', 'urgent', 'subject', 'body', 'sealed', 'attempts', 'created_at'])
      .execute();
    const user = await trx
      .selectFrom('users')
      .select(['email', 'email_opt_out', 'disabled_at'])
      .where('id', '=', first.user_id)
      .executeTakeFirstOrThrow();
    return {
      userId: first.user_id,
      to: user.email,
      optedOut: user.email_opt_out,
      disabled: user.disabled_at !== null,
      rows: claimed
        .map((r) => ({
          id: r.id,
          userId: r.user_id,
          kind: r.kind as EmailKind,
          urgent: r.urgent,
          subject: r.subject,
          body: r.body,
          sealed: r.sealed,
          attempts: r.attempts,
          createdAt: new Date(r.created_at),
        }))
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime()),
    };
  });
}

/** The rows went out (or were dropped as `skipped`): done, and the sealed link erased. */
export async function finishRows(db: Kysely<Database>, ids: string[], status: 'sent' | 'skipped' | 'failed', now: number, error?: string): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('email_outbox')
    .set({ status, sent_at: status === 'sent' ? new Date(now) : null, sealed: null, locked_until: null, last_error: error ?? null })
    .where('id', 'in', ids)
    .execute();
}

/** The server refused for now: try again at `retryAt`. */
export async function retryRows(db: Kysely<Database>, ids: string[], retryAt: number, error: string): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('email_outbox')
    .set({ locked_until: null, next_attempt_at: new Date(retryAt), last_error: error })
    .where('id', 'in', ids)
    .execute();
}

/** How long sent, skipped and failed messages stay in the outbox (the delivery record for support), then go. */
export const FINISHED_RETENTION_MS = 30 * 24 * 3600_000;
/** Rate-limit windows are an hour at most (commands/deps.ts): a row idle for a day counts nothing any more. */
export const RATE_LIMIT_RETENTION_MS = 24 * 3600_000;

/**
 * Deletes finished outbox rows older than the retention (their text is a notification, kept no longer than
 * needed) and rate-limit rows whose window ended long ago (they hold a client address). Returns the counts.
 */
export async function pruneOutbox(db: Kysely<Database>, now: number): Promise<{ messages: number; limits: number }> {
  const messages = await db
    .deleteFrom('email_outbox')
    .where('status', '!=', 'pending')
    .where('created_at', '<', new Date(now - FINISHED_RETENTION_MS))
    .executeTakeFirst();
  const limits = await db.deleteFrom('email_rate_limits').where('window_start', '<', new Date(now - RATE_LIMIT_RETENTION_MS)).executeTakeFirst();
  return { messages: Number(messages.numDeletedRows), limits: Number(limits.numDeletedRows) };
}
