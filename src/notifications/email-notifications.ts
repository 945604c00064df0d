import type { DocumentLookup } from '../access/access-requests.ts';
import { mfaSecretBox } from '../auth/mfa.ts';
import type { SecretBox } from '../auth/secret-box.ts';
import type { Config, EmailConfig } from '../config/config.ts';
import type { Db } from '../db/connection.ts';
import { runAuditFeed } from './audit-feed.ts';
import { EmailDispatcher, smtpTransport, type MailTransport } from './email-dispatcher.ts';
import { runDueFeed, type DueSources } from './due-feed.ts';

/** How often a process looks at due dates and waiting change requests. */
export const DUE_INTERVAL_MS = 5 * 60_000;

export interface EmailNotificationsOptions {
  db: Db;
  email: EmailConfig;
  mfaKeys: Config['mfaKeys'];
  baseUrl: string;
  lookup: DocumentLookup;
  /** What waits for people by date (acknowledgments, reviews, change requests); absent: not mailed. */
  due?: DueSources;
  transport?: MailTransport;
  now?: () => number;
  digestWindowMs?: number;
  log?: (message: string) => void;
}

/**
 * Email, when SMTP_URL is set (docs/email.md): the outbox's sealing key, the feeds that queue notifications
 * (the audit log's events, due dates) and the dispatcher that sends them. Without SMTP_URL there is no instance:
 * nothing is queued, and everything still shows in the product.
 */
export class EmailNotifications {
  readonly box: SecretBox;
  readonly dispatcher: EmailDispatcher;
  #baseUrl: string;
  #dueAt = 0;
  readonly #o: EmailNotificationsOptions;

  constructor(options: EmailNotificationsOptions) {
    this.#o = options;
    this.#baseUrl = options.baseUrl;
    this.box = mfaSecretBox(options.mfaKeys);
    this.dispatcher = new EmailDispatcher({
      db: options.db,
      transport: options.transport ?? smtpTransport(options.email.smtpUrl),
      box: this.box,
      from: options.email.from,
      baseUrl: options.baseUrl,
      ...(options.now ? { now: options.now } : {}),
      ...(options.digestWindowMs !== undefined ? { digestWindowMs: options.digestWindowMs } : options.email.digestWindowMs !== undefined ? { digestWindowMs: options.email.digestWindowMs } : {}),
      ...(options.log ? { log: options.log } : {}),
      beforePass: () => this.runFeeds().then(() => undefined),
    });
  }

  /** The product's address for links in emails. */
  get baseUrl(): string {
    return this.#baseUrl;
  }

  /**
   * Queue what the audit log and due dates call for. Returns how many emails were queued. The audit feed runs on
   * every pass; the due dates (a look at every member's lists) at most every DUE_INTERVAL_MS per process, or
   * when `due` is set.
   */
  async runFeeds(options: { due?: boolean } = {}): Promise<number> {
    const now = (this.#o.now ?? Date.now)();
    const common = { db: this.#o.db, box: this.box, baseUrl: this.#baseUrl, ...(this.#o.now ? { now: this.#o.now } : {}) };
    let queued = await runAuditFeed({ ...common, lookup: this.#o.lookup });
    if (this.#o.due && (options.due || now - this.#dueAt >= DUE_INTERVAL_MS)) {
      this.#dueAt = now;
      queued += await runDueFeed({ ...common, sources: this.#o.due });
    }
    return queued;
  }

  /** Feeds, then every batch due: what a timer does (tests call it directly). */
  runOnce(): Promise<number> {
    return this.dispatcher.runOnce();
  }

  start(intervalMs?: number): void {
    this.dispatcher.start(intervalMs);
  }

  stop(): Promise<void> {
    return this.dispatcher.stop();
  }
}
