import assert from 'node:assert/strict';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { openDatabase, type Db } from '../../src/db/connection.ts';
import {
  databaseImageDigest,
  ensureDatabaseImage,
  findDatabaseImage,
  IMAGE_CACHE_DIR,
  MIGRATIONS_DIR,
} from '../../src/db/database-image.ts';
import { asDatabaseOwner } from '../helpers/databases.ts';

/** Everything migrations define, as the owner sees it in the catalog. */
async function catalog(db: Db): Promise<unknown> {
  return asDatabaseOwner(db, async (owner) => {
    const rows = async (query: ReturnType<typeof sql>) => (await query.execute(owner)).rows;
    return {
      migrations: await rows(sql`select name from docucommit_migrations order by name`),
      columns: await rows(sql`select table_name, column_name, ordinal_position, data_type, is_nullable, column_default
        from information_schema.columns where table_schema = 'public' order by table_name, ordinal_position`),
      tables: await rows(sql`select relname, relkind, relrowsecurity, relforcerowsecurity, relacl::text as acl,
        pg_get_userbyid(relowner) as owner from pg_class where relnamespace = 'public'::regnamespace order by relname`),
      constraints: await rows(sql`select conrelid::regclass::text as rel, conname, pg_get_constraintdef(oid) as def
        from pg_constraint where connamespace = 'public'::regnamespace order by rel, conname`),
      indexes: await rows(sql`select indexname, indexdef from pg_indexes where schemaname = 'public' order by indexname`),
      policies: await rows(sql`select tablename, policyname, roles::text, cmd, qual, with_check from pg_policies order by tablename, policyname`),
      functions: await rows(sql`select proname, pg_get_functiondef(oid) as def, proacl::text as acl
        from pg_proc where pronamespace = 'public'::regnamespace order by proname`),
      triggers: await rows(sql`select tgrelid::regclass::text as rel, tgname, pg_get_triggerdef(oid) as def
        from pg_trigger where not tgisinternal order by rel, tgname`),
      roles: await rows(sql`select rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolbypassrls
        from pg_roles where rolname not like 'pg\\_%' order by rolname`),
      schemaAcl: await rows(sql`select nspacl::text as acl from pg_namespace where nspname = 'public'`),
    };
  });
}

describe('the prepared database image', () => {
  const dirs: string[] = [];
  before(async () => {
    assert.ok(await ensureDatabaseImage(), 'the image can be built');
  });
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('a database started from the image is exactly what running every migration produces', async () => {
    const fresh = await openDatabase({ kind: 'pglite', dataDir: null, fromImage: false });
    const inMemory = await openDatabase({ kind: 'pglite', dataDir: null });
    const dataDir = mkdtempSync(join(tmpdir(), 'docucommit-image-'));
    dirs.push(dataDir);
    const onDisk = await openDatabase({ kind: 'pglite', dataDir: join(dataDir, 'db') });
    try {
      const expected = await catalog(fresh);
      assert.ok(((expected as { migrations: unknown[] }).migrations.length) >= 10);
      assert.deepEqual(await catalog(inMemory), expected);
      assert.deepEqual(await catalog(onDisk), expected);
      // the copy was renamed into place: nothing half-copied is left beside it
      assert.deepEqual(readdirSync(dataDir), ['db']);
    } finally {
      await Promise.all([fresh.destroy(), inMemory.destroy(), onDisk.destroy()]);
    }
  });

  test('a changed, added or removed migration makes the image stale, so a new one is built', () => {
    const migrations = mkdtempSync(join(tmpdir(), 'docucommit-migrations-'));
    dirs.push(migrations);
    cpSync(MIGRATIONS_DIR, migrations, { recursive: true });
    const current = databaseImageDigest();
    assert.equal(databaseImageDigest(migrations), current, 'the digest depends on the files only');
    assert.ok(findDatabaseImage(IMAGE_CACHE_DIR, current));

    const seen = new Set([current]);
    const stale = (digest: string) => {
      assert.ok(!seen.has(digest), 'a new digest');
      seen.add(digest);
      assert.equal(findDatabaseImage(IMAGE_CACHE_DIR, digest), null, 'no image is found for it');
    };
    appendFileSync(join(migrations, '010-html-packs.ts'), '\n// edited\n');
    stale(databaseImageDigest(migrations));
    writeFileSync(join(migrations, '011-next.ts'), 'export async function up() {}\n');
    stale(databaseImageDigest(migrations));
    rmSync(join(migrations, '001-foundation.ts'));
    stale(databaseImageDigest(migrations));
  });

  test('an image missing its data directory or its tarball is not used', () => {
    const cache = mkdtempSync(join(tmpdir(), 'docucommit-image-cache-'));
    dirs.push(cache);
    const digest = databaseImageDigest();
    const image = findDatabaseImage(IMAGE_CACHE_DIR, digest)!;
    cpSync(image.dir, join(cache, `pgdata-${digest}`), { recursive: true });
    assert.equal(findDatabaseImage(cache, digest), null, 'no tarball yet');
    writeFileSync(join(cache, `pgdata-${digest}.tar.gz`), '');
    assert.equal(findDatabaseImage(cache, digest), null, 'an empty tarball');
    cpSync(image.tarball, join(cache, `pgdata-${digest}.tar.gz`));
    assert.ok(findDatabaseImage(cache, digest));
    rmSync(join(cache, `pgdata-${digest}`, 'PG_VERSION'));
    assert.equal(findDatabaseImage(cache, digest), null, 'a data directory without PG_VERSION');
    assert.ok(!existsSync(join(cache, 'db')));
  });
});
