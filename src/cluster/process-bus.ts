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
import { sql } from 'kysely';
import pg from 'pg';
import type { Db } from '../db/connection.ts';

/** The one channel every DocuCommit process of a database listens on. */
export const PROCESS_CHANNEL = 'docucommit';

/** What one process tells the others (ids only). */
export type ProcessMessage =
  /** A project's published branch was published at commit `c` (null: empty): follow it. */
  | { t: 'published'; o: string; p: string; c: string | null }
  /** Projects were created, renamed, deleted or restored: forget the catalog, drop deleted snapshots. */
  | { t: 'projects' }
  /** A user's sessions ended, their roles changed or their account was disabled: forget their sessions. */
  | { t: 'user'; u: string }
  /** An organization's settings changed (image hosts, session limits): forget what depends on them. */
  | { t: 'org'; o: string }
  /** Forget everything cached (a command ran in a server; or this process (re)connected: the catch-up). */
  | { t: 'all' };

/** Sends messages to the other processes of this database. */
export interface ProcessBus {
  /** Whether other processes may share the database (PostgreSQL). */
  readonly shared: boolean;
  /** Sends `message` through `db`; inside a transaction it is delivered when the transaction commits. */
  send(db: Db, message: ProcessMessage): Promise<void>;
}

/** The embedded database: one process, nothing to tell. */
export const SINGLE_PROCESS: ProcessBus = {
  shared: false,
  async send() {},
};

/** PostgreSQL: NOTIFY on the shared channel. */
export const POSTGRES_BUS: ProcessBus = {
  shared: true,
  async send(db, message) {
    await sql`select pg_notify(${PROCESS_CHANNEL}, ${JSON.stringify(message)})`.execute(db);
  },
};

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const COMMIT = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/** A received payload as a message, or null for anything that is not exactly one of ours. */
export function parseProcessMessage(payload: string): ProcessMessage | null {
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
      return id(m.u) ? { t: 'user', u: m.u } : null;
    case 'org':
      return id(m.o) ? { t: 'org', o: m.o } : null;
    case 'all':
      return { t: 'all' };
    default:
      return null;
  }
}

export interface ListenerLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

/**
 * Listens on the channel over a connection of its own, reconnecting after a loss (0.25 s, doubling to 5 s).
 * After each connection — the first one too — `onMessage({ t: 'all' })` runs: the catch-up for whatever was
 * sent while this process was not listening. Messages are handed over synchronously, in the order received.
 */
export class ProcessListener {
  #client: pg.Client | null = null;
  #closed = false;
  #retry: NodeJS.Timeout | null = null;
  #delayMs = 250;
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

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const client = new pg.Client({ connectionString: this.url, keepAlive: true, connectionTimeoutMillis: 5000 });
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
      const message = parseProcessMessage(notification.payload);
      if (message) this.#deliver(message);
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
