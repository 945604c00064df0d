/**
 * Several server processes on one PostgreSQL database learn of each other's changes through PostgreSQL's
 * LISTEN/NOTIFY, on one channel with small typed messages (ids only: never a secret, a session id or a hash of
 * one, document text or a title). A message sent inside a transaction is delivered when that transaction
 * commits, and not at all when it rolls back.
 *
 * Notifications are not durable: a process whose listening connection dropped misses what was sent meanwhile.
 * So every (re)connection is followed by a catch-up (`{ t: 'all' }` delivered locally): the process forgets
 * every cached session, project and setting and brings each project's snapshot up to its branch head, read from
 * the shared repositories. The durable work (listener deliveries of branch moves) is claimed from the database
 * (move-dispatch.ts) and needs no message.
 *
 * The embedded PGlite database serves one process: its bus sends nothing.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import type { Db } from '../db/connection.ts';

/** The one channel every DocuCommit process of a database listens on. */
export const PROCESS_CHANNEL = 'docucommit';
/** The `application_name` of a listening connection starts with this, then the listener's id (who must confirm). */
export const LISTENER_NAME_PREFIX = 'docucommit-listener/';
/** How long a confirmed message waits for the processes that do not answer (a process stalled or just gone). */
const CONFIRM_TIMEOUT_MS = 2000;

/** What one process tells the others (ids only). */
export type ProcessMessage =
  /** A project's published branch was published at commit `c` (null: empty): follow it. */
  | { t: 'published'; o: string; p: string; c: string | null }
  /** Projects were created, renamed, deleted or restored: forget the catalog, drop deleted snapshots. */
  | { t: 'projects' }
  /** A user's sessions ended, their roles changed or their account was disabled: forget their sessions. */
  | { t: 'user'; u: string; n?: string }
  /** An organization's settings changed (image hosts, session limits): forget what depends on them. */
  | { t: 'org'; o: string; n?: string }
  /** Forget everything cached (a command ran in a server; or this process (re)connected: the catch-up). */
  | { t: 'all'; n?: string };

/**
 * A listening process applied the message whose `n` this names (`f`: that listener's id). Handled by the listener
 * itself, never delivered as a message.
 */
interface Confirmation {
  t: 'ack';
  n: string;
  f: string;
}

/** Messages that may ask for confirmation: what a revoked session, a disabled user or a changed setting sends. */
export type ConfirmedMessage = Extract<ProcessMessage, { t: 'user' | 'org' | 'all' }>;

/** Sends messages to the other processes of this database. */
export interface ProcessBus {
  /** Whether other processes may share the database (PostgreSQL). */
  readonly shared: boolean;
  /** Sends `message` through `db`; inside a transaction it is delivered when the transaction commits. */
  send(db: Db, message: ProcessMessage): Promise<void>;
  /**
   * Sends `message` (outside any transaction) and resolves once every process that was listening has applied
   * it: a session ended here is refused by the others from the moment this resolves, not a moment later. A
   * process that does not answer within two seconds is not waited for longer (it is stalled or gone; one that
   * reconnects catches up on everything). Without a listener of its own (a command run outside the server) it
   * only sends.
   */
  sendConfirmed(db: Db, message: ConfirmedMessage): Promise<void>;
}

/** The embedded database: one process, nothing to tell. */
export const SINGLE_PROCESS: ProcessBus = {
  shared: false,
  async send() {},
  async sendConfirmed() {},
};

/** PostgreSQL: NOTIFY on the shared channel. One per app context: its listener (cluster/join.ts) hears confirmations. */
export class PostgresBus implements ProcessBus {
  readonly shared = true;
  #listener: ProcessListener | null = null;
  readonly #confirmTimeoutMs: number;

  constructor(options: { confirmTimeoutMs?: number } = {}) {
    this.#confirmTimeoutMs = options.confirmTimeoutMs ?? CONFIRM_TIMEOUT_MS;
  }

  /** The listener of this process, which hears the confirmations `sendConfirmed` waits for (null: none any more). */
  attach(listener: ProcessListener | null): void {
    this.#listener = listener;
  }

  async send(db: Db, message: ProcessMessage): Promise<void> {
    await sql`select pg_notify(${PROCESS_CHANNEL}, ${JSON.stringify(message)})`.execute(db);
  }

  async sendConfirmed(db: Db, message: ConfirmedMessage): Promise<void> {
    const listener = this.#listener;
    if (!listener?.connected || db.isTransaction) return this.send(db, message);
    const nonce = randomBytes(12).toString('base64url');
    // who must answer: every connection listening now (a process that starts listening later catches up anyway)
    const { rows } = await sql<{ name: string }>`
      select application_name as name from pg_stat_activity
      where datname = current_database() and starts_with(application_name, ${LISTENER_NAME_PREFIX})`.execute(db);
    const expected = new Set(rows.map((r) => r.name.slice(LISTENER_NAME_PREFIX.length)).filter((id) => ID.test(id)));
    const confirmed = listener.confirmations(nonce, expected, this.#confirmTimeoutMs);
    try {
      await this.send(db, { ...message, n: nonce });
    } catch (error) {
      listener.forgetConfirmations(nonce);
      throw error;
    }
    await confirmed;
  }
}

/** A bus for sending only (tests, and commands that hold no listener). */
export const POSTGRES_BUS: ProcessBus = new PostgresBus();

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const COMMIT = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/** A received payload as a message, or null for anything that is not exactly one of ours. */
export function parseProcessMessage(payload: string): ProcessMessage | null {
  const parsed = parsePayload(payload);
  return parsed === null || parsed.t === 'ack' ? null : parsed;
}

function parsePayload(payload: string): ProcessMessage | Confirmation | null {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const m = value as Record<string, unknown>;
  const id = (v: unknown): v is string => typeof v === 'string' && ID.test(v);
  switch (m.t) {
    case 'published':
      return id(m.o) && id(m.p) && (m.c === null || (typeof m.c === 'string' && COMMIT.test(m.c))) ? { t: 'published', o: m.o, p: m.p, c: m.c } : null;
    case 'projects':
      return { t: 'projects' };
    case 'user':
      return id(m.u) && nonce(m.n) ? { t: 'user', u: m.u, ...withNonce(m.n) } : null;
    case 'org':
      return id(m.o) && nonce(m.n) ? { t: 'org', o: m.o, ...withNonce(m.n) } : null;
    case 'all':
      return nonce(m.n) ? { t: 'all', ...withNonce(m.n) } : null;
    case 'ack':
      return id(m.n) && id(m.f) ? { t: 'ack', n: m.n, f: m.f } : null;
    default:
      return null;
  }
}

/** An optional confirmation nonce: absent, or an id. */
const nonce = (value: unknown): value is string | undefined => value === undefined || (typeof value === 'string' && ID.test(value));
const withNonce = (value: string | undefined) => (value === undefined ? {} : { n: value });

export interface ListenerLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

/**
 * Listens on the channel over a connection of its own, reconnecting after a loss (0.25 s, doubling to 5 s).
 * After each connection — the first one too — `onMessage({ t: 'all' })` runs: the catch-up for whatever was
 * sent while this process was not listening. Messages are handed over synchronously, in the order received; one
 * that asks for confirmation (`n`) is confirmed once applied. The connection is named after the listener's id
 * (`LISTENER_NAME_PREFIX`), so a sender can see who must confirm.
 */
export class ProcessListener {
  /** This listener's id: in its connection's name and in its confirmations. */
  readonly id = randomBytes(9).toString('base64url');
  #client: pg.Client | null = null;
  #closed = false;
  #retry: NodeJS.Timeout | null = null;
  #delayMs = 250;
  /** Confirmations awaited by this process's senders, by nonce: who has yet to confirm. */
  readonly #awaiting = new Map<string, { missing: Set<string>; done(): void }>();
  /** Resolves once listening for the first time. */
  readonly ready: Promise<void>;
  #markReady!: () => void;

  constructor(
    private readonly url: string,
    private readonly onMessage: (message: ProcessMessage) => void,
    private readonly logger: ListenerLogger,
  ) {
    this.ready = new Promise((resolve) => (this.#markReady = resolve));
  }

  /** Connects (retrying until it succeeds or `close`); resolves when the first connection listens. */
  start(): Promise<void> {
    void this.#connect();
    return this.ready;
  }

  /** Whether the listening connection is up now. */
  get connected(): boolean {
    return this.#client !== null;
  }

  /**
   * Resolves once each listener of `expected` has confirmed the message with this nonce, or after `timeoutMs`
   * (register before sending the message).
   */
  confirmations(nonce: string, expected: ReadonlySet<string>, timeoutMs: number): Promise<void> {
    if (expected.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const left = this.#awaiting.get(nonce)?.missing.size ?? 0;
        this.logger.warn({ unconfirmed: left }, 'processes did not confirm a message in time; not waiting for them longer');
        done();
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#awaiting.delete(nonce);
        resolve();
      };
      this.#awaiting.set(nonce, { missing: new Set(expected), done });
    });
  }

  /** Stop waiting for the confirmations of a message that was not sent. */
  forgetConfirmations(nonce: string): void {
    this.#awaiting.get(nonce)?.done();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    for (const awaited of [...this.#awaiting.values()]) awaited.done();
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const client = new pg.Client({
      connectionString: this.url,
      keepAlive: true,
      connectionTimeoutMillis: 5000,
      application_name: `${LISTENER_NAME_PREFIX}${this.id}`,
    });
    let lost = false;
    const onLost = (error?: Error) => {
      if (lost) return;
      lost = true;
      if (this.#client === client) this.#client = null;
      client.removeAllListeners('notification');
      void client.end().catch(() => {});
      if (this.#closed) return;
      this.logger.warn({ err: error?.message ?? 'connection ended' }, 'lost the connection that listens to other processes; reconnecting');
      this.#schedule();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (notification) => {
      if (notification.channel !== PROCESS_CHANNEL || notification.payload === undefined) return;
      const message = parsePayload(notification.payload);
      if (message === null) return;
      if (message.t === 'ack') return this.#confirmed(message);
      this.#deliver(message);
      // applied (cache invalidation runs synchronously): tell the sender, on this same connection
      if ('n' in message && message.n !== undefined) {
        const confirmation: Confirmation = { t: 'ack', n: message.n, f: this.id };
        client.query('select pg_notify($1, $2)', [PROCESS_CHANNEL, JSON.stringify(confirmation)]).catch(() => {});
      }
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${PROCESS_CHANNEL}`);
    } catch (error) {
      onLost(error as Error);
      return;
    }
    if (this.#closed || lost) {
      void client.end().catch(() => {});
      return;
    }
    this.#client = client;
    this.#delayMs = 250;
    // listening first, then the catch-up: nothing sent from now on is missed, and what came before is reloaded
    this.#deliver({ t: 'all' });
    this.#markReady();
  }

  #confirmed(confirmation: Confirmation): void {
    const awaited = this.#awaiting.get(confirmation.n);
    if (!awaited) return;
    awaited.missing.delete(confirmation.f);
    if (awaited.missing.size === 0) awaited.done();
  }

  #deliver(message: ProcessMessage): void {
    try {
      this.onMessage(message);
    } catch (error) {
      this.logger.warn({ err: (error as Error).message, message: message.t }, 'a message from another process could not be applied');
    }
  }

  #schedule(): void {
    if (this.#retry || this.#closed) return;
    const delay = this.#delayMs;
    this.#delayMs = Math.min(5000, this.#delayMs * 2);
    this.#retry = setTimeout(() => {
      this.#retry = null;
      void this.#connect();
    }, delay);
    this.#retry.unref();
  }
}
