import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { databaseTargets } from '../helpers/databases.ts';

const postgres = databaseTargets().find((t) => t.name === 'postgres');

describe('the PostgreSQL connection pool', { skip: postgres ? false : 'no PostgreSQL: TEST_DATABASE_URL is not set' }, () => {
  test('a connection idle longer than node-postgres closes one by default (10 s) is kept: the same backend answers', async () => {
    const { db, dispose } = await postgres!.open();
    try {
      const pid = async () => (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db)).rows[0]!.pid;
      const first = await pid();
      await new Promise((resolve) => setTimeout(resolve, 11_000));
      assert.equal(await pid(), first, 'the pool reopened its connection (a new backend pays its first queries again)');
    } finally {
      await dispose();
    }
  });

  test('idle connections do not keep a process running; a query in flight does', async () => {
    const { dispose, ownerUrl } = await postgres!.open();
    try {
      // a script inside the project, so that it resolves our packages
      const dir = fileURLToPath(new URL('../../test-output/connection/', import.meta.url));
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `script-${process.pid}-${Math.random().toString(36).slice(2)}.mts`);
      writeFileSync(
        file,
        `import { sql } from 'kysely';\nimport { openDatabase } from '../../src/db/connection.ts';\n` +
          `const db = await openDatabase({ kind: 'postgres', url: ${JSON.stringify(ownerUrl)}, appUrl: null, secret: Buffer.alloc(32, 7) });\n` +
          // the answer arrives after the script's last line: only the query in flight holds the process until then
          `sql\`select pg_sleep(0.5), 42 as n\`.execute(db).then(({ rows }) => console.log('answer', rows[0].n));\n`,
      );
      const started = Date.now();
      const run = spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /answer 42/);
      assert.ok(Date.now() - started < 9_000, `the process stayed ${Date.now() - started} ms: its idle connections held it`);
    } finally {
      await dispose();
    }
  });
});
