import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
} from 'kysely';

/** What the dialect needs of PGlite: PGlite itself, or PGliteThread (pglite-thread.ts, PGlite on its own thread). */
export interface PGliteSession {
  readonly waitReady: Promise<void>;
  readonly closed: boolean;
  query<R>(sql: string, params?: unknown[], options?: { rowMode?: 'object' }): Promise<{ rows: R[]; affectedRows?: number }>;
  transaction<T>(fn: (tx: PGliteTransaction) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

type PGliteTransaction = Pick<PGliteSession, 'query'>;

/**
 * Kysely over embedded PGlite. Kysely ships a PGlite dialect only from 0.29, which requires Node 22; this is the
 * same design for 0.28 (after kysely 0.29's MIT-licensed `dialect/pglite`): one connection, lent to one user
 * at a time, and transactions run through PGlite's own exclusive `transaction()`.
 */
export class PGliteDialect implements Dialect {
  constructor(private readonly config: { pglite: PGliteSession }) {}

  createAdapter() {
    return new PGliteAdapter();
  }

  createDriver(): Driver {
    return new PGliteDriver(this.config.pglite);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's Dialect interface takes Kysely<any>
  createIntrospector(db: Kysely<any>) {
    return new PostgresIntrospector(db);
  }

  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
}

class PGliteAdapter extends PostgresAdapter {
  // PGlite has one connection, and the migrator holds it from taking the lock until releasing it.
  override async acquireMigrationLock(): Promise<void> {}
  override async releaseMigrationLock(): Promise<void> {}
}

class PGliteDriver implements Driver {
  private readonly connection: PGliteConnection;
  private readonly lock = new ConnectionLock();

  constructor(private readonly pglite: PGliteSession) {
    this.connection = new PGliteConnection(pglite);
  }

  async init(): Promise<void> {
    await this.pglite.waitReady;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.lock.acquire();
    return this.connection;
  }

  async releaseConnection(): Promise<void> {
    this.lock.release();
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as PGliteConnection).begin();
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as PGliteConnection).commit();
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as PGliteConnection).rollback();
  }

  async destroy(): Promise<void> {
    if (!this.pglite.closed) await this.pglite.close();
  }
}

/** Waiters are served in arrival order. */
class ConnectionLock {
  private held = false;
  private readonly waiting: Array<() => void> = [];

  acquire(): Promise<void> {
    if (!this.held) {
      this.held = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.held = false;
  }
}

class PGliteConnection implements DatabaseConnection {
  private transaction: PGliteTransaction | undefined;
  private finish: { commit(): void; rollback(error: Error): void } | undefined;
  private closed: Promise<unknown> | undefined;

  constructor(private readonly pglite: PGliteSession) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const { affectedRows, rows } = await (this.transaction ?? this.pglite).query<R>(compiled.sql, compiled.parameters as unknown[], {
      rowMode: 'object',
    });
    return { numAffectedRows: affectedRows != null ? BigInt(affectedRows) : undefined, rows: rows ?? [] };
  }

   
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('Streaming is not supported by PGlite.');
  }

  async begin(): Promise<void> {
    let begun!: () => void;
    const started = new Promise<void>((resolve) => (begun = resolve));
    const outcome = new Promise<void>((commit, rollback) => (this.finish = { commit: () => commit(), rollback }));
    this.closed = this.pglite.transaction(async (tx) => {
      this.transaction = tx;
      begun();
      await outcome;
    });
    // A failure to begin rejects `closed` before `started` resolves.
    await Promise.race([started, this.closed]);
  }

  async commit(): Promise<void> {
    this.finish?.commit();
    try {
      await this.closed;
    } finally {
      this.reset();
    }
  }

  async rollback(): Promise<void> {
    this.finish?.rollback(new Error('rolled back'));
    await this.closed?.catch(() => {});
    this.reset();
  }

  private reset(): void {
    this.transaction = undefined;
    this.finish = undefined;
    this.closed = undefined;
  }
}
