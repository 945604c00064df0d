import { Worker } from 'node:worker_threads';

/**
 * Embedded PGlite on a thread of its own.
 *
 * PGlite is PostgreSQL compiled to WebAssembly and runs on the thread that calls it: parsing, planning,
 * executing and the flush of every commit. On the serving thread, a burst of audited reads (one commit each)
 * held every other request of the process, public pages and static files included. Here the serving thread
 * only posts messages; the database works on its own thread, and the event loop keeps answering.
 *
 * This class offers the part of PGlite's interface that our PGlite dialect uses (`PGliteSession` in
 * pglite-dialect.ts), so the dialect, the SQL and the tests stay the same.
 */
export class PGliteThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  #nextId = 1;
  #nextTransaction = 1;
  #closed = false;
  #ready = false;
  #failure: Error | null = null;
  readonly waitReady: Promise<void>;

  /**
   * `dataDir` null: in memory. `imageTarball`: an in-memory database starts from this dump of a prepared one
   * (database-image.ts).
   */
  constructor(options: { dataDir: string | null; sharedBuffers: string; imageTarball?: string | null }) {
    this.#worker = new Worker(new URL('./pglite-worker.mjs', import.meta.url), {
      workerData: options,
      // The thread's own JavaScript heap is small; PostgreSQL's memory is the WebAssembly instance's.
      resourceLimits: { maxYoungGenerationSizeMb: 16 },
    });
    // Like PGlite on the calling thread, an idle database keeps no process alive: the thread holds the event
    // loop only while a statement is in flight (see #call and #settle).
    this.#worker.unref();
    this.#worker.on('message', (message: Reply) => this.#settle(message));
    this.#worker.on('error', (error) => this.#fail(error));
    this.#worker.on('exit', (code) => this.#fail(new Error(`the database thread stopped (exit code ${code})`)));
    this.waitReady = this.#call({ op: 'ready' }).then(() => {
      this.#ready = true;
    });
  }

  get ready(): boolean {
    return this.#ready;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Messages sent to the database thread and not yet answered (metrics). */
  get inFlight(): number {
    return this.#pending.size;
  }

  async query<R>(sql: string, params?: unknown[], _options?: unknown): Promise<QueryResult<R>> {
    return (await this.#call({ op: 'query', sql, params: params ?? [] })) as QueryResult<R>;
  }

  /** Run `fn` in one transaction: committed when it returns, rolled back when it throws. */
  async transaction<T>(fn: (tx: Pick<PGliteThread, 'query'>) => Promise<T>): Promise<T> {
    const tx = this.#nextTransaction++;
    await this.#call({ op: 'begin', tx });
    let result: T;
    try {
      result = await fn({
        query: async <R>(sql: string, params?: unknown[]) => (await this.#call({ op: 'tx-query', tx, sql, params: params ?? [] })) as QueryResult<R>,
      });
    } catch (error) {
      await this.#call({ op: 'rollback', tx }).catch(() => {});
      throw error;
    }
    await this.#call({ op: 'commit', tx });
    return result;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#call({ op: 'close' });
    } finally {
      this.#closed = true;
      await this.#worker.terminate();
      // nothing sent before the close will be answered now
      for (const waiting of this.#pending.values()) waiting.reject(new Error('PGlite is closed'));
      this.#pending.clear();
    }
  }

  #call(message: Record<string, unknown>): Promise<unknown> {
    if (this.#failure) return Promise.reject(this.#failure);
    // a message to a terminated thread is never answered: fail at once (an owner of a transaction rolled back by close)
    if (this.#closed) return Promise.reject(new Error('PGlite is closed'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...message, id });
    });
  }

  #settle(reply: Reply): void {
    const waiting = this.#pending.get(reply.id);
    if (!waiting) return;
    this.#pending.delete(reply.id);
    if (this.#pending.size === 0) this.#worker.unref();
    if (reply.ok) waiting.resolve(reply.result);
    else waiting.reject(Object.assign(new Error(reply.error.message), reply.error));
  }

  /** The thread is gone: everything waiting and everything later fails (the app answers 503). */
  #fail(error: Error): void {
    if (this.#closed) return;
    this.#failure ??= error;
    for (const waiting of this.#pending.values()) waiting.reject(this.#failure);
    this.#pending.clear();
  }
}

interface QueryResult<R> {
  rows: R[];
  affectedRows?: number;
}

type Reply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { message: string; [field: string]: unknown } };
