import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { createAppContext, type AppContext } from '../../src/app-context.ts';
import { buildApp, type BuiltApp } from '../../src/web/app.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { testConfig } from '../helpers/test-app.ts';

for (const target of databaseTargets()) {
  describe(`/healthz and /readyz (${target.name})`, () => {
    let dir: string;
    let context: AppContext;
    let built: BuiltApp;
    let dispose: () => Promise<void>;

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      dir = mkdtempSync(join(tmpdir(), 'dc-health-'));
      mkdirSync(join(dir, 'repos'));
      context = await createAppContext(testConfig(dir), opened.db);
      built = await buildApp(context);
    });

    after(async () => {
      await built.app.close();
      await context.repositories.closeAll();
      await dispose();
      chmodSync(join(dir, 'repos'), 0o700);
      rmSync(dir, { recursive: true, force: true });
    });

    const get = (url: string) => built.app.inject({ method: 'GET', url });

    test('both are public, uncached, and say ok while everything works', async () => {
      const health = await get('/healthz');
      assert.equal(health.statusCode, 200);
      assert.deepEqual(health.json(), { status: 'ok' });
      assert.equal(health.headers['cache-control'], 'no-store');
      const ready = await get('/readyz');
      assert.equal(ready.statusCode, 200);
      assert.deepEqual(ready.json(), { status: 'ok' });
      assert.equal(ready.headers['cache-control'], 'no-store');
      assert.ok(built.routes.some((r) => r.url === '/readyz' && r.access === 'public'));
    });

    test('unreadable repositories: 503 naming the check, and no path, version or error in the body', async () => {
      // gone (a volume not mounted); unreadable too, where the tests do not run as root (root reads anything)
      renameSync(join(dir, 'repos'), join(dir, 'repos-away'));
      try {
        assert.deepEqual((await get('/readyz')).json(), { status: 'failing', failing: ['repositories'] });
      } finally {
        renameSync(join(dir, 'repos-away'), join(dir, 'repos'));
      }
      chmodSync(join(dir, 'repos'), 0o000);
      try {
        const ready = await get('/readyz');
        if (process.getuid?.() === 0) return;
        assert.equal(ready.statusCode, 503);
        assert.deepEqual(ready.json(), { status: 'failing', failing: ['repositories'] });
        assert.ok(!ready.body.includes(dir) && !ready.body.includes('repos/'), 'no path in the body');
        assert.equal((await get('/healthz')).statusCode, 200, 'the process is still alive');
      } finally {
        chmodSync(join(dir, 'repos'), 0o700);
      }
    });

    test('a migration the code knows but the database lacks: not ready (migrations)', async () => {
      const removed = await asDatabaseOwner(context.db, async (trx) => {
        const { rows } = await sql<{ name: string }>`delete from docucommit_migrations where name = '030-readiness' returning name`.execute(trx);
        return rows.length;
      });
      assert.equal(removed, 1);
      try {
        const ready = await get('/readyz');
        assert.equal(ready.statusCode, 503);
        assert.deepEqual(ready.json(), { status: 'failing', failing: ['migrations'] });
      } finally {
        await asDatabaseOwner(context.db, (trx) => sql`insert into docucommit_migrations (name, timestamp) values ('030-readiness', now()::text)`.execute(trx));
      }
    });

    test('a stopping process is not ready any more', async () => {
      context.readiness.markStopping();
      const ready = await get('/readyz');
      assert.equal(ready.statusCode, 503);
      assert.deepEqual(ready.json(), { status: 'failing', failing: ['stopping'] });
    });
  });
}
