import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { openDatabase, type Db } from '../../src/db/connection.ts';

/** A database a test can open: embedded PGlite always, PostgreSQL too when TEST_DATABASE_URL is set. */
export interface DatabaseTarget {
  name: 'pglite' | 'postgres';
  /** A fresh, migrated, empty database and a function that disposes of it (and, on PostgreSQL, the owner's URL). */
  open(): Promise<{ db: Db; dispose(): Promise<void>; ownerUrl?: string }>;
}

const TEST_SECRET = Buffer.alloc(32, 7);

/** The owner's own connection to each PostgreSQL test database (the application's cannot become the owner). */
const owners = new WeakMap<Db, Db>();

/**
 * Where the embedded test databases live: memory-backed (tmpfs) when the machine has one. Each is a data
 * directory copied from the prepared image, as a server's first start makes it (database-image.ts), so the tests
 * run PGlite on the file system a server uses. Opening one costs about half the CPU of an in-memory database,
 * which unpacks the image's tarball into PGlite's memory file system file by file (~1.2 s of CPU per database);
 * in-memory databases keep their own tests (test/db/).
 */
const PGLITE_ROOT = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
/** Directories not disposed of yet: removed when the process exits, whatever a test left (tmpfs is memory). */
const pgliteDirs = new Set<string>();
process.once('exit', () => {
  for (const dir of pgliteDirs) rmSync(dir, { recursive: true, force: true });
});

const pglite: DatabaseTarget = {
  name: 'pglite',
  async open() {
    const dir = mkdtempSync(join(PGLITE_ROOT, 'docucommit-test-db-'));
    pgliteDirs.add(dir);
    const remove = () => {
      rmSync(dir, { recursive: true, force: true });
      pgliteDirs.delete(dir);
    };
    try {
      const db = await openDatabase({ kind: 'pglite', dataDir: join(dir, 'db') });
      return {
        db,
        async dispose() {
          try {
            await db.destroy();
          } finally {
            remove();
          }
        },
      };
    } catch (error) {
      remove();
      throw error;
    }
  },
};

function postgres(adminUrl: string): DatabaseTarget {
  return {
    name: 'postgres',
    async open() {
      const name = `docucommit_test_${randomBytes(6).toString('hex')}`;
      const admin = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: adminUrl, max: 1 }) }) });
      await sql.raw(`CREATE DATABASE ${name}`).execute(admin);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      // every test database derives the same password for the cluster-wide application role (app-role-login.ts)
      const db = await openDatabase({ kind: 'postgres', url: url.toString(), appUrl: null, secret: TEST_SECRET });
      const ownerPool = new pg.Pool({ connectionString: url.toString(), max: 1 });
      // an idle owner connection ended by the DROP ... WITH (FORCE) below must not crash the test process
      ownerPool.on('error', () => {});
      const owner: Db = new Kysely({ dialect: new PostgresDialect({ pool: ownerPool }) });
      owners.set(db, owner);
      return {
        db,
        ownerUrl: url.toString(),
        async dispose() {
          await db.destroy();
          await owner.destroy();
          await sql.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).execute(admin);
          await admin.destroy();
        },
      };
    },
  };
}

/** The databases to run database tests against. */
export function databaseTargets(): DatabaseTarget[] {
  const url = process.env.TEST_DATABASE_URL;
  return url ? [pglite, postgres(url)] : [pglite];
}

/**
 * Run `fn` in a transaction as the database's owner instead of the application role: what an operator with
 * superuser access (or an attacker holding it) can do, for tests of tampering and of row-level security.
 * On PostgreSQL through the owner's own connection; PGlite's one session is its superuser's underneath.
 */
export async function asDatabaseOwner<T>(db: Db, fn: (trx: Db) => Promise<T>): Promise<T> {
  const owner = owners.get(db);
  if (owner) return owner.transaction().execute(fn);
  return db.transaction().execute(async (trx) => {
    await sql`SET LOCAL ROLE NONE`.execute(trx);
    return fn(trx);
  });
}
