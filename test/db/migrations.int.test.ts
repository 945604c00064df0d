import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { Kysely, Migrator, sql } from 'kysely';
import { migrate } from '../../src/db/connection.ts';
import { migrationProvider } from '../../src/db/migrations/index.ts';
import { PGliteDialect } from '../../src/db/pglite-dialect.ts';
import type { Database } from '../../src/db/schema.ts';

describe('migrations', () => {
  it('apply a migration that landed after a higher-numbered one already ran (branches merged out of number order)', async () => {
    const pglite = new PGlite(undefined, { extensions: { pg_trgm } });
    const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
    try {
      const all = await migrationProvider.getMigrations();
      const names = Object.keys(all);
      // a database that followed a branch: every migration but one in the middle has run
      // one no later migration builds on
      const late = '029-api-rate-limits';
      assert.ok(names.includes(late) && names.indexOf(late) < names.length - 1, 'the late migration is not the last one');
      const early = new Migrator({
        db,
        provider: { getMigrations: async () => Object.fromEntries(Object.entries(all).filter(([name]) => name !== late)) },
        migrationTableName: 'docucommit_migrations',
      });
      const first = await early.migrateToLatest();
      assert.equal(first.error, undefined);
      const before = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'api_rate_limits'`.execute(db);
      assert.equal(before.rows[0]!.n, 0);

      await migrate(db);

      const after = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'api_rate_limits'`.execute(db);
      assert.equal(after.rows[0]!.n, 1, 'the late migration ran');
      const ran = await sql<{ name: string }>`SELECT name FROM docucommit_migrations ORDER BY name`.execute(db);
      assert.deepEqual(ran.rows.map((row) => row.name), [...names].sort());
    } finally {
      await db.destroy();
    }
  });
});
