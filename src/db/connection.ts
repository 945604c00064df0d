import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect, PostgresDialect, sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import pg from 'pg';
import { UnavailableError } from '../errors.ts';
import { migrationProvider } from './migrations/index.ts';
import type { Database } from './schema.ts';

export type Db = Kysely<Database>;

export type DatabaseTarget =
  | { kind: 'pglite'; dataDir: string | null }
  | { kind: 'postgres'; url: string };

/** Open the database (PGlite in a directory or in memory, or a PostgreSQL server) and run migrations. */
export async function openDatabase(target: DatabaseTarget): Promise<Db> {
  const db = new Kysely<Database>({ dialect: await dialectFor(target) });
  await migrate(db);
  return db;
}

async function dialectFor(target: DatabaseTarget) {
  if (target.kind === 'postgres') {
    const pool = new pg.Pool({ connectionString: target.url, max: 10, connectionTimeoutMillis: 5000 });
    // An idle client that loses its server must not crash the process; the next query reports 503.
    pool.on('error', () => {});
    return new PostgresDialect({ pool });
  }
  if (target.dataDir) mkdirSync(target.dataDir, { recursive: true });
  // relaxedDurability stays false (the default): every commit waits for its flush, so a crash loses nothing
  // that was acknowledged.
  const pglite = target.dataDir ? new PGlite(target.dataDir, { relaxedDurability: false }) : new PGlite();
  await pglite.waitReady;
  return new PGliteDialect({ pglite });
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

/** Run `fn` in a transaction scoped to one organization (row-level security reads `app.org_id`). */
export async function withOrg<T>(db: Db, orgId: string, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await sql`select set_config('app.org_id', ${orgId}, true)`.execute(trx);
    return fn(trx);
  });
}
