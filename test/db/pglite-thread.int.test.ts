import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { openDatabase, type Db } from '../../src/db/connection.ts';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('embedded PGlite runs on its own thread', () => {
  let db: Db;
  before(async () => {
    db = await openDatabase({ kind: 'pglite', dataDir: null });
    await sql`CREATE TEMP TABLE things (id int PRIMARY KEY, label text)`.execute(db);
  });
  after(() => db.destroy());

  test('a long statement does not hold the event loop: a timer set after it starts fires before it ends', async () => {
    const order: string[] = [];
    const heavy = sql`select count(*) from generate_series(1, 3000000)`.execute(db).then(() => order.push('query'));
    const timer = new Promise<void>((resolve) => setTimeout(() => {
      order.push('timer');
      resolve();
    }, 5));
    await Promise.all([heavy, timer]);
    assert.deepEqual(order, ['timer', 'query']);
  });

  test('PostgreSQL errors keep their SQLSTATE and details across the thread', async () => {
    await sql`insert into things values (1, 'one')`.execute(db);
    await assert.rejects(sql`insert into things values (1, 'again')`.execute(db), (error: Error & { code?: string; constraint?: string }) => {
      assert.equal(error.code, '23505');
      assert.match(error.message, /duplicate key/);
      return true;
    });
  });

  test('a transaction that throws leaves nothing behind; one that returns commits', async () => {
    await assert.rejects(db.transaction().execute(async (trx) => {
      await sql`insert into things values (2, 'two')`.execute(trx);
      throw new Error('changed my mind');
    }), /changed my mind/);
    await db.transaction().execute((trx) => sql`insert into things values (3, 'three')`.execute(trx));
    const { rows } = await sql<{ id: number }>`select id from things order by id`.execute(db);
    assert.deepEqual(rows.map((r) => r.id), [1, 3]);
  });

  test('a statement outside a transaction waits until the open transaction ends, then sees its rows', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const transaction = db.transaction().execute(async (trx) => {
      await sql`insert into things values (4, 'four')`.execute(trx);
      await held;
    });
    await nextTurn();
    let counted: number | null = null;
    const count = sql<{ n: number }>`select count(*)::int as n from things where id = 4`.execute(db).then(({ rows }) => {
      counted = rows[0]!.n;
    });
    for (let i = 0; i < 20; i++) await nextTurn();
    assert.equal(counted, null, 'the statement ran inside someone else\'s open transaction');
    release();
    await Promise.all([transaction, count]);
    assert.equal(counted, 1);
  });

  test('values survive the thread boundary: dates, json, arrays, nulls, large text', async () => {
    const big = 'x'.repeat(3_000_000);
    const { rows } = await sql<{ at: Date; doc: unknown; list: string[]; nothing: null; big: string }>`
      select timestamptz '2026-12-05T10:00:00Z' as at, '{"a":[1,2]}'::jsonb as doc, array['a','b'] as list,
             null as nothing, ${big}::text as big`.execute(db);
    const row = rows[0]!;
    assert.ok(row.at instanceof Date);
    assert.equal(row.at.toISOString(), '2026-12-05T10:00:00.000Z');
    assert.deepEqual(row.doc, { a: [1, 2] });
    assert.deepEqual(row.list, ['a', 'b']);
    assert.equal(row.nothing, null);
    assert.equal(row.big.length, big.length);
  });
});

describe('the database thread and the life of the process', () => {
  test('an open, idle database does not keep a process alive; a statement in flight does', async () => {
    const { spawnSync } = await import('node:child_process');
    const { mkdirSync, writeFileSync } = await import('node:fs');
    // a script inside the project, so that it resolves our packages
    const dir = fileURLToPath(new URL('../../test-output/pglite-thread/', import.meta.url));
    mkdirSync(dir, { recursive: true });
    const run = (body: string) => {
      const file = join(dir, `script-${process.pid}-${Math.random().toString(36).slice(2)}.mts`);
      writeFileSync(file, `import { sql } from 'kysely';\nimport { openDatabase } from '../../src/db/connection.ts';\nconst db = await openDatabase({ kind: 'pglite', dataDir: null });\n${body}\n`);
      return spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', timeout: 60_000 });
    };
    const idle = run(`console.log('opened');`);
    assert.equal(idle.status, 0, `an idle database held the process: ${idle.stderr}`);
    assert.match(idle.stdout, /opened/);
    // nothing but the statement keeps this process alive: it must still finish it and print the answer
    const busy = run(`sql\`select count(*)::int as n from generate_series(1, 200000)\`.execute(db).then(({ rows }) => console.log('answer', rows[0].n));`);
    assert.equal(busy.status, 0, busy.stderr);
    assert.match(busy.stdout, /answer 200000/);
  });
});

describe('closing the embedded database', () => {
  test('closing with a transaction still open ends it and closes; its owner gets an error, not a hang', async () => {
    const db = await openDatabase({ kind: 'pglite', dataDir: null });
    await sql`CREATE TEMP TABLE kept (id int PRIMARY KEY)`.execute(db);
    let release!: () => void;
    const waiting = new Promise<void>((resolve) => (release = resolve));
    let inside!: () => void;
    const entered = new Promise<void>((resolve) => (inside = resolve));
    // a transaction whose owner waits for something else (as a listener delivery awaiting git) when the database closes
    const owner = db.transaction().execute(async (trx) => {
      await sql`insert into kept values (1)`.execute(trx);
      inside();
      await waiting;
      await sql`insert into kept values (2)`.execute(trx);
    });
    const outcome = owner.then(() => 'committed', (error: Error) => `failed: ${error.message}`);
    await entered;
    const closing = db.destroy().then(() => 'closed');
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still closing after 10 s'), 10_000)));
    try {
      assert.equal(await Promise.race([closing, stalled]), 'closed');
    } finally {
      clearTimeout(timer);
    }
    release();
    assert.match(await outcome, /^failed: /);
  });
});
