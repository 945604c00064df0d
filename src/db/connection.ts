import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { Kysely, Migrator, PostgresDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import { UnavailableError } from '../errors.ts';
import { assertUnprivilegedAppRole, provisionAppRoleLogin } from './app-role-login.ts';
import { ensureDatabaseImage } from './database-image.ts';
import { APP_ROLE } from './migrations/006-row-level-security.ts';
import { MIGRATION_NAMES, migrationProvider } from './migrations/index.ts';
import { PGliteDialect } from './pglite-dialect.ts';
import { PGliteThread } from './pglite-thread.ts';
import type { Database } from './schema.ts';
import { keepWasmOnBaselineCompiler } from './wasm-tiering.ts';

export type Db = Kysely<Database>;

/** How busy a database's connections are (metrics): PostgreSQL's pool, or the embedded database's thread. */
export type DatabaseLoad =
  | { kind: 'postgres'; connections: number; idle: number; waiting: number }
  | { kind: 'pglite'; inFlight: number };

const loads = new WeakMap<Db, () => DatabaseLoad>();

/** The load of a database opened by `openDatabase` (null for others). */
export function databaseLoad(db: Db): DatabaseLoad | null {
  return loads.get(db)?.() ?? null;
}

export type DatabaseTarget =
  | {
      kind: 'pglite';
      dataDir: string | null;
      /** Start a new database from the prepared image (database-image.ts); default true. */
      fromImage?: boolean;
    }
  | {
      kind: 'postgres';
      /** The owner's connection: runs migrations, and nothing else. */
      url: string;
      /** The application's connection, logging in as docucommit_app; null: derived from `url` and `secret`. */
      appUrl: string | null;
      /** The server secret, from which the application role's password is derived when `appUrl` is null. */
      secret: Buffer;
    };

/**
 * Open the database (PGlite in a directory or in memory, or a PostgreSQL server), run migrations as the owner,
 * then run every further query as the non-superuser application role, so that row-level security
 * (migration 006) applies to all of them.
 *
 * On PostgreSQL the application logs in as that role (app-role-login.ts): it is not a member of the owner, so
 * no statement in its sessions (`SET ROLE`, `RESET ROLE`, `SET SESSION AUTHORIZATION`) can leave it. PGlite has
 * one session, opened as its superuser, and only switches role (docs/security.md says what that does not cover).
 */
export async function openDatabase(target: DatabaseTarget): Promise<Db> {
  if (target.kind === 'postgres') {
    const owner = new Kysely<Database>({ dialect: new PostgresDialect({ pool: postgresPool(target.url, 1) }) });
    let appUrl: string;
    try {
      await migrate(owner);
      appUrl = target.appUrl ?? (await provisionAppRoleLogin(owner, target.url, target.secret));
    } finally {
      await owner.destroy();
    }
    const pool = postgresPool(appUrl, 10);
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    loads.set(db, () => ({ kind: 'postgres', connections: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }));
    try {
      await assertUnprivilegedAppRole(db);
    } catch (error) {
      await db.destroy();
      throw error;
    }
    applicationUrls.set(db, appUrl);
    return db;
  }
  const pglite = await openEmbeddedDatabase(target.dataDir, target.fromImage ?? true);
  const db = new Kysely<Database>({ dialect: pgliteDialect(pglite) });
  loads.set(db, () => ({ kind: 'pglite', inFlight: pglite.inFlight }));
  // PGlite has one session: switching its role once covers every later query. Sent through `db`, which also
  // starts its driver, so that `db.destroy()` always stops the database thread (Kysely destroys only a driver
  // that ran something, and the thread would keep the process alive).
  await sql.raw(`SET ROLE ${APP_ROLE}`).execute(db);
  return db;
}

const applicationUrls = new WeakMap<Db, string>();

/**
 * The application's connection string of a PostgreSQL database opened by `openDatabase` (for the connections
 * that listen to other processes and hold repository locks, cluster/), or null for the embedded database.
 */
export function applicationUrlOf(db: Db): string | null {
  return applicationUrls.get(db) ?? null;
}

/**
 * The embedded database in `dataDir` (or in memory) on a thread of its own (pglite-thread.ts: the serving thread
 * never waits while the database works), migrated, its session still its superuser's. A new one starts as a copy
 * of the prepared image when there is one (database-image.ts), else PGlite creates the cluster.
 */
async function openEmbeddedDatabase(dataDir: string | null, fromImage: boolean): Promise<PGliteThread> {
  keepWasmOnBaselineCompiler();
  let imageTarball: string | null = null;
  if (dataDir) {
    if (fromImage && isEmptyOrMissing(dataDir)) {
      const image = await ensureDatabaseImage();
      if (image) copyImage(image.dir, dataDir);
    }
    mkdirSync(dataDir, { recursive: true });
  } else if (fromImage) {
    imageTarball = (await ensureDatabaseImage())?.tarball ?? null;
  }
  const pglite = new PGliteThread({ dataDir, sharedBuffers: PGLITE_SHARED_BUFFERS, imageTarball });
  await pglite.waitReady;
  await migrate(new Kysely<Database>({ dialect: pgliteDialect(pglite) }));
  return pglite;
}

function pgliteDialect(pglite: PGliteThread): PGliteDialect {
  return new PGliteDialect({ pglite });
}

/**
 * A new embedded database on this thread, migrated, for building the prepared image (database-image-build.ts,
 * in a process of its own): PGlite creates the cluster.
 */
export async function createEmbeddedDatabase(dataDir: string): Promise<PGlite> {
  keepWasmOnBaselineCompiler();
  mkdirSync(dataDir, { recursive: true });
  // the same extensions as the database thread's (pglite-worker.mjs)
  const pglite = new PGlite(dataDir, { relaxedDurability: false, ...pgliteMemory(), extensions: { pg_trgm } });
  await pglite.waitReady;
  await migrate(new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) }));
  return pglite;
}

function isEmptyOrMissing(dir: string): boolean {
  return !existsSync(dir) || readdirSync(dir).length === 0;
}

/** Copy the image to `dataDir` under a temporary name, then rename: a crash mid-copy leaves no half database. */
function copyImage(imageDir: string, dataDir: string): void {
  const temporary = `${dataDir}.${process.pid}.tmp`;
  rmSync(temporary, { recursive: true, force: true });
  cpSync(imageDir, temporary, { recursive: true });
  // an empty directory (made by the operator, or by an earlier version) is replaced
  if (existsSync(dataDir)) rmdirSync(dataDir);
  renameSync(temporary, dataDir);
}

/**
 * PGlite's PostgreSQL keeps its buffer cache inside the WebAssembly memory, which never shrinks: the default
 * shared_buffers (128 MB) alone is ~120 MB of the server's RSS. 16 MB holds the small, hot tables (sessions,
 * memberships, projects); rendered pages are read once and then served from the page cache, and the files stay
 * in the operating system's cache. PGlite's own start parameters are kept (the setting is appended to them, in
 * pglite-worker.mjs).
 */
const PGLITE_SHARED_BUFFERS = '16MB';

/** The same start parameters as the database thread's (pglite-worker.mjs). */
function pgliteMemory(): { startParams?: string[] } {
  const defaults = (PGlite as unknown as { defaultStartParams?: unknown }).defaultStartParams;
  if (!Array.isArray(defaults)) return {};
  return { startParams: [...(defaults as string[]), '-c', `shared_buffers=${PGLITE_SHARED_BUFFERS}`] };
}

/**
 * How long a pooled connection may sit idle before it is closed. node-postgres closes it after 10 s by default, and
 * a new backend pays for loading catalogs and the text search dictionary on its first queries (~250 ms for the
 * first search): a burst of requests after a quiet spell paid it on every connection the pool reopened.
 */
const POOL_IDLE_TIMEOUT_MS = 10 * 60 * 1000;

function postgresPool(url: string, max: number): pg.Pool {
  // Idle connections do not keep a process running (allowExitOnIdle); one in use does.
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 5000, idleTimeoutMillis: POOL_IDLE_TIMEOUT_MS, allowExitOnIdle: true });
  // An idle client that loses its server must not crash the process; the next query reports 503.
  pool.on('error', () => {});
  return pool;
}

/**
 * Apply pending migrations; throws with the failing migration's name. A database migrated further by a newer
 * version (during an upgrade without downtime, docs/operations.md) is left as it is when it holds every
 * migration this code knows: migrations keep what older code uses.
 */
export async function migrate(db: Db): Promise<void> {
  const executed = await executedMigrations(db);
  const known = new Set(MIGRATION_NAMES);
  if (executed.some((name) => !known.has(name))) {
    const missing = MIGRATION_NAMES.filter((name) => !executed.includes(name));
    if (missing.length === 0) return;
    throw new UnavailableError(`the database was migrated by another version of DocuCommit and lacks ${missing.join(', ')}`);
  }
  const migrator = new Migrator({
    db,
    provider: migrationProvider,
    migrationTableName: 'docucommit_migrations',
    // Migrations are written on parallel branches and numbered when written, so one can land after a higher
    // number already ran on a database (a development or staging one that followed a branch). Each migration
    // stands alone (new tables, functions and grants), so a late lower number is applied rather than refused.
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new UnavailableError(`database migration ${failed} failed: ${(error as Error).message ?? error}`);
  }
}

async function executedMigrations(db: Db): Promise<string[]> {
  const { rows } = await sql<{ present: boolean }>`select to_regclass('docucommit_migrations') is not null as present`.execute(db);
  if (!rows[0]?.present) return [];
  return (await sql<{ name: string }>`select name from docucommit_migrations`.execute(db)).rows.map((r) => r.name);
}

/** The settings row-level security reads (migration 006). */
type Scope = { 'app.org_id'?: string; 'app.user_id'?: string; 'app.audit_chain'?: 'system' | '' };

/**
 * Run `fn` in a transaction scoped to one organization: tenant tables show and accept only its rows.
 * Inside an existing transaction the scope is switched for `fn` and restored afterwards.
 */
export function withOrg<T>(db: Kysely<Database>, orgId: string, fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return withScope(db, { 'app.org_id': orgId }, fn);
}

/** Run `fn` in a transaction that may see this user's memberships in every organization (and nothing else). */
export function withUser<T>(db: Kysely<Database>, userId: string, fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return withScope(db, { 'app.user_id': userId }, fn);
}

/**
 * Run `fn` with the audit chain of `orgId` (or the system chain, for null) visible. Only the audit module
 * uses this: appending to and verifying a chain are the operations that name a chain explicitly.
 */
export function withAuditChain<T>(
  db: Kysely<Database>,
  orgId: string | null,
  fn: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  return withScope(db, orgId === null ? { 'app.audit_chain': 'system', 'app.org_id': '' } : { 'app.org_id': orgId }, fn);
}

async function withScope<T>(db: Kysely<Database>, scope: Scope, fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  if (!db.isTransaction) {
    return db.transaction().execute(async (trx) => {
      await applyScope(trx, scope);
      return fn(trx);
    });
  }
  const trx = db as Transaction<Database>;
  const previous = await readScope(trx, scope);
  await applyScope(trx, scope);
  try {
    return await fn(trx);
  } finally {
    await applyScope(trx, previous);
  }
}

async function applyScope(trx: Kysely<Database>, scope: Scope): Promise<void> {
  for (const [name, value] of Object.entries(scope)) {
    await sql`select set_config(${name}, ${value ?? ''}, true)`.execute(trx);
  }
}

async function readScope(trx: Kysely<Database>, scope: Scope): Promise<Scope> {
  const previous: Record<string, string> = {};
  for (const name of Object.keys(scope)) {
    const { rows } = await sql<{ value: string | null }>`select current_setting(${name}, true) as value`.execute(trx);
    previous[name] = rows[0]?.value ?? '';
  }
  return previous;
}
