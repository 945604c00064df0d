import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, Migrator, PostgresDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import { UnavailableError } from '../errors.ts';
import { APP_ROLE } from './migrations/006-row-level-security.ts';
import { migrationProvider } from './migrations/index.ts';
import { PGliteDialect } from './pglite-dialect.ts';
import type { Database } from './schema.ts';
import { keepWasmOnBaselineCompiler } from './wasm-tiering.ts';

export type Db = Kysely<Database>;

export type DatabaseTarget =
  | { kind: 'pglite'; dataDir: string | null }
  | { kind: 'postgres'; url: string };

/**
 * Open the database (PGlite in a directory or in memory, or a PostgreSQL server), run migrations as the
 * connecting user, then run every further query as the non-superuser application role, so that row-level
 * security (migration 006) applies to all of them.
 */
export async function openDatabase(target: DatabaseTarget): Promise<Db> {
  if (target.kind === 'postgres') {
    const migrator = new Kysely<Database>({ dialect: new PostgresDialect({ pool: postgresPool(target.url, 1) }) });
    try {
      await migrate(migrator);
    } finally {
      await migrator.destroy();
    }
    // The role is a connection start-up setting: every pooled connection runs as it from its first query.
    return new Kysely<Database>({ dialect: new PostgresDialect({ pool: postgresPool(target.url, 10, APP_ROLE) }) });
  }
  if (target.dataDir) mkdirSync(target.dataDir, { recursive: true });
  keepWasmOnBaselineCompiler();
  // relaxedDurability stays false (the default): every commit waits for its flush, so a crash loses nothing
  // that was acknowledged.
  const pglite = target.dataDir ? new PGlite(target.dataDir, { relaxedDurability: false, ...pgliteMemory() }) : new PGlite(pgliteMemory());
  await pglite.waitReady;
  const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
  await migrate(db);
  // PGlite has one session: switching its role once covers every later query.
  await pglite.exec(`SET ROLE ${APP_ROLE}`);
  return db;
}

/**
 * PGlite's PostgreSQL keeps its buffer cache inside the WebAssembly memory, which never shrinks: the default
 * shared_buffers (128 MB) alone is ~120 MB of the server's RSS. 16 MB holds the small, hot tables (sessions,
 * memberships, projects); rendered pages are read once and then served from the page cache, and the files stay
 * in the operating system's cache. PGlite's own start parameters are kept (the setting is appended to them).
 */
const PGLITE_SHARED_BUFFERS = '16MB';

function pgliteMemory(): { startParams?: string[] } {
  const defaults = (PGlite as unknown as { defaultStartParams?: unknown }).defaultStartParams;
  if (!Array.isArray(defaults)) return {};
  return { startParams: [...(defaults as string[]), '-c', `shared_buffers=${PGLITE_SHARED_BUFFERS}`] };
}

function postgresPool(url: string, max: number, role?: string): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: 5000,
    ...(role ? { options: `-c role=${role}` } : {}),
  });
  // An idle client that loses its server must not crash the process; the next query reports 503.
  pool.on('error', () => {});
  return pool;
}

/** Apply pending migrations; throws with the failing migration's name. */
export async function migrate(db: Db): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider, migrationTableName: 'docucommit_migrations' });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new UnavailableError(`database migration ${failed} failed: ${(error as Error).message ?? error}`);
  }
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
  return previous as Scope;
}
