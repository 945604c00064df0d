import nodemailer from 'nodemailer';
import type { SecretBox } from '../auth/secret-box.ts';
import type { Db } from '../db/connection.ts';
import { claimBatch, finishRows, pruneOutbox, retryRows, SEALED_PURPOSE, SECRET_LINK_MARK, type ClaimedBatch } from './email-outbox.ts';

/** How often a process deletes what the outbox no longer needs (email-outbox.ts pruneOutbox). */
const PRUNE_EVERY_MS = 3600_000;

/** Sends one message; nodemailer's SMTP transport in production, anything with the same shape in tests. */
export interface MailTransport {
  sendMail(message: { from: string; to: string; subject: string; text: string; headers?: Record<string, string> }): Promise<unknown>;
  close?(): void;
}

/** A nodemailer SMTP transport for `smtpUrl` (smtp:// or smtps://; credentials in the URL, never logged). */
export function smtpTransport(smtpUrl: string): MailTransport {
  return nodemailer.createTransport(smtpUrl, { disableFileAccess: true, disableUrlAccess: true });
}

/** How a batch's sending ended. */
export type SendOutcome = 'sent' | 'retry' | 'failed' | 'skipped';

export interface EmailDispatcherOptions {
  db: Db;
  transport: MailTransport;
  box: SecretBox;
  from: string;
  /** The product's address, for links (config.publicUrl, else the listening address). */
  baseUrl: string;
  now?: () => number;
  /** How long non-urgent notifications of one person wait to go out together (default 10 minutes). */
  digestWindowMs?: number;
  /** How long a claimed batch is this process's (default 2 minutes). */
  leaseMs?: number;
  /** Attempts before a message is given up (default 12: about a day with the backoff below). */
  maxAttempts?: number;
  /** Something to do before each pass (the audit feed, due dates); its failures are reported, not thrown. */
  beforePass?: () => Promise<void>;
  /** Reports a failed pass or attempt without secrets (the error code, never the message or the address). */
  log?: (message: string) => void;
}

/** Backoff after the n-th failed attempt: 30 s doubling, at most 4 hours, with up to 20 % jitter. */
export function retryDelayMs(attempts: number, random: () => number = Math.random): number {
  const base = Math.min(30_000 * 2 ** Math.max(0, attempts - 1), 4 * 3600_000);
  return Math.round(base * (1 + 0.2 * random()));
}

/** What the SMTP server's answer means: 5xx is permanent, anything else (4xx, connection) worth another try. */
function classify(error: unknown): { permanent: boolean; code: string } {
  const e = error as { responseCode?: number; code?: string };
  if (typeof e?.responseCode === 'number') return { permanent: e.responseCode >= 500, code: `smtp ${e.responseCode}` };
  return { permanent: false, code: typeof e?.code === 'string' ? e.code.slice(0, 40) : 'error' };
}

/**
 * Sends the outbox: claims a batch (email-outbox.ts), writes one message for it (a digest when it holds several
 * notifications), sends it and records the outcome. Runs in every process; `FOR UPDATE SKIP LOCKED` and leases
 * keep them from sending one row twice while they live.
 */
export class EmailDispatcher {
  readonly #o: Required<Omit<EmailDispatcherOptions, 'beforePass' | 'log'>> & Pick<EmailDispatcherOptions, 'beforePass' | 'log'>;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #stopped = false;
  #prunedAt = -Infinity;

  /** Where failed passes and attempts are reported (codes only): the server's logger once it exists. */
  set logger(log: (message: string) => void) {
    this.#o.log = log;
  }

  constructor(options: EmailDispatcherOptions) {
    this.#o = { now: Date.now, digestWindowMs: 10 * 60_000, leaseMs: 120_000, maxAttempts: 12, ...options };
  }

  /** One pass: the feeds, then every batch due now. Returns how many batches were handled. */
  async runOnce(): Promise<number> {
    if (this.#o.beforePass) {
      try {
        await this.#o.beforePass();
      } catch (error) {
        this.#o.log?.(`email: feed pass failed (${(error as { code?: string }).code ?? (error as Error).name})`);
      }
    }
    if (this.#o.now() - this.#prunedAt >= PRUNE_EVERY_MS) {
      this.#prunedAt = this.#o.now();
      await pruneOutbox(this.#o.db, this.#prunedAt).catch((error: unknown) => this.#o.log?.(`email: pruning failed (${(error as Error).name})`));
    }
    let handled = 0;
    for (;;) {
      const batch = await claimBatch(this.#o.db, { now: this.#o.now(), leaseMs: this.#o.leaseMs, digestWindowMs: this.#o.digestWindowMs });
      if (!batch) return handled;
      await this.#send(batch);
      handled += 1;
      if (this.#stopped) return handled;
    }
  }

  /** Run a pass every `intervalMs` until stopped. */
  start(intervalMs = 15_000): void {
    if (this.#timer) return;
    this.#stopped = false;
    const tick = () => {
      if (this.#running) return;
      this.#running = this.runOnce()
        .then(() => undefined)
        .catch((error: unknown) => this.#o.log?.(`email: pass failed (${(error as Error).name})`))
        .finally(() => {
          this.#running = null;
        });
    };
    this.#timer = setInterval(tick, intervalMs);
    this.#timer.unref();
    tick();
  }

  /** Stop passing and wait for the current one. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
    this.#o.transport.close?.();
  }

  async #send(batch: ClaimedBatch): Promise<SendOutcome> {
    const { db } = this.#o;
    const now = this.#o.now();
    // Opted out since they were queued: only what is urgent still goes.
    const dropped = batch.rows.filter((r) => batch.disabled || (batch.optedOut && !r.urgent));
    await finishRows(db, dropped.map((r) => r.id), 'skipped', now);
    const rows = batch.rows.filter((r) => !dropped.includes(r));
    if (rows.length === 0) return 'skipped';
    let message: { subject: string; text: string };
    try {
      message = this.#compose(rows);
    } catch {
      // a sealed link that no configured key opens: it can never be sent
      await finishRows(db, rows.map((r) => r.id), 'failed', now, 'sealed link unreadable');
      return 'failed';
    }
    const ids = rows.map((r) => r.id);
    try {
      await this.#o.transport.sendMail({ from: this.#o.from, to: batch.to, subject: message.subject, text: message.text, headers: { 'Auto-Submitted': 'auto-generated' } });
    } catch (error) {
      const { permanent, code } = classify(error);
      const attempts = Math.max(...rows.map((r) => r.attempts));
      if (permanent || attempts >= this.#o.maxAttempts) {
        await finishRows(db, ids, 'failed', this.#o.now(), code);
        this.#o.log?.(`email: gave up on a message (${code}, ${attempts} attempts)`);
        return 'failed';
      }
      await retryRows(db, ids, this.#o.now() + retryDelayMs(attempts), code);
      this.#o.log?.(`email: will retry a message (${code})`);
      return 'retry';
    }
    await finishRows(db, ids, 'sent', this.#o.now());
    return 'sent';
  }

  #compose(rows: ClaimedBatch['rows']): { subject: string; text: string } {
    const base = this.#o.baseUrl.replace(/\/+$/, '');
    const bodyOf = (row: ClaimedBatch['rows'][number]) =>
      row.sealed === null ? row.body : row.body.replace(SECRET_LINK_MARK, this.#o.box.open(row.sealed, SEALED_PURPOSE).toString('utf8'));
    const urgent = rows.every((r) => r.urgent);
    const footer = urgent
      ? `\n\n-- \nThis is a security message about your DocuCommit account (${base}/-/account/security).\n`
      : `\n\n-- \nYou can turn off these emails on your account page: ${base}/-/account#email\n`;
    if (rows.length === 1) {
      const only = rows[0]!;
      return { subject: only.subject, text: bodyOf(only) + footer };
    }
    const parts = rows.map((row) => `* ${row.subject}\n\n${bodyOf(row)}`);
    return { subject: `DocuCommit: ${rows.length} things wait for you`, text: `${parts.join('\n\n')}${footer}` };
  }
}
