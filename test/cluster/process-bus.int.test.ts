import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { LISTENER_NAME_PREFIX, POSTGRES_BUS, PostgresBus, ProcessListener, type ProcessMessage } from '../../src/cluster/process-bus.ts';
import { applicationUrlOf, withOrg, type Db } from '../../src/db/connection.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';

const postgres = databaseTargets().find((t) => t.name === 'postgres');
const USER = '0b8f4c3e-7d2a-4e57-9a0c-3f1e2d4c5b6a';
const quiet = { info() {}, warn() {} };

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('messages between processes (PostgreSQL LISTEN/NOTIFY)', { skip: postgres ? false : 'no PostgreSQL: TEST_DATABASE_URL is not set' }, () => {
  let db: Db;
  let dispose: () => Promise<void>;
  let listener: ProcessListener;
  const received: ProcessMessage[] = [];

  before(async () => {
    const opened = await postgres!.open();
    db = opened.db;
    dispose = opened.dispose;
    listener = new ProcessListener(applicationUrlOf(db)!, (m) => received.push(m), quiet);
    await listener.start();
  });

  after(async () => {
    await listener.close();
    await dispose();
  });

  test('the first connection is followed by the catch-up; a message sent arrives', async () => {
    assert.deepEqual(received[0], { t: 'all' }, 'catch-up after connecting');
    await POSTGRES_BUS.send(db, { t: 'user', u: USER });
    await until(() => received.length === 2, 'the message arrives');
    assert.deepEqual(received[1], { t: 'user', u: USER });
  });

  test('a message sent in a transaction arrives when it commits, and not at all when it rolls back', async () => {
    const before = received.length;
    await assert.rejects(
      db.transaction().execute(async (trx) => {
        await POSTGRES_BUS.send(trx, { t: 'org', o: USER });
        throw new Error('rolled back');
      }),
    );
    await withOrg(db, USER, (trx) => POSTGRES_BUS.send(trx, { t: 'projects' }));
    await until(() => received.length === before + 1, 'the committed message arrives');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(received.slice(before), [{ t: 'projects' }], 'only the committed one');
  });

  test('a forged or malformed payload on the channel is dropped', async () => {
    const before = received.length;
    await sql`select pg_notify('docucommit', ${'{"t":"user","u":"../../x"}'})`.execute(db);
    await sql`select pg_notify('docucommit', ${'not json'})`.execute(db);
    await POSTGRES_BUS.send(db, { t: 'all' });
    await until(() => received.length > before, 'the valid message arrives');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(received.slice(before), [{ t: 'all' }]);
  });

  test('after the listening connection is lost it reconnects, and the catch-up runs again before anything else', async () => {
    const before = received.length;
    const terminated = await asDatabaseOwner(db, async (trx) => {
      const { rows } = await sql<{ done: boolean }>`
        select pg_terminate_backend(pid) as done from pg_stat_activity
        where datname = current_database() and application_name = ${LISTENER_NAME_PREFIX + listener.id}`.execute(trx);
      return rows.filter((r) => r.done).length;
    });
    assert.equal(terminated, 1, 'the listening session was ended');
    await until(() => received.length > before && listener.connected, 'reconnected with a catch-up');
    assert.deepEqual(received[before], { t: 'all' }, 'the catch-up covers what was sent while disconnected');
    await POSTGRES_BUS.send(db, { t: 'user', u: USER });
    await until(() => received.at(-1)?.t === 'user', 'messages flow again');
  });

  /** A listening connection named like a process's, driven by hand: it confirms only when the test says so. */
  async function handListener(id: string): Promise<{ client: pg.Client; nonces: string[] }> {
    const client = new pg.Client({ connectionString: applicationUrlOf(db)!, application_name: LISTENER_NAME_PREFIX + id });
    const nonces: string[] = [];
    client.on('notification', (n) => {
      const message = JSON.parse(n.payload ?? '{}') as { n?: string; t: string };
      if (message.t !== 'ack' && message.n) nonces.push(message.n);
    });
    await client.connect();
    await client.query('LISTEN docucommit');
    return { client, nonces };
  }

  test('a confirmed message resolves only once every listening process has applied it', async () => {
    const bus = new PostgresBus({ confirmTimeoutMs: 10_000 });
    bus.attach(listener);
    const other = new ProcessListener(applicationUrlOf(db)!, () => {}, quiet);
    await other.start();
    const slow = await handListener('slow-process');
    try {
      const before = received.length;
      let resolved = false;
      const sending = bus.sendConfirmed(db, { t: 'user', u: USER }).then(() => (resolved = true));
      await until(() => slow.nonces.length === 1, 'the slow process received it');
      await until(() => received.length > before, 'this process applied it');
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(resolved, false, 'still waiting for the slow process');
      assert.deepEqual(received.at(-1), { t: 'user', u: USER, n: slow.nonces[0] });
      await slow.client.query('select pg_notify($1, $2)', ['docucommit', JSON.stringify({ t: 'ack', n: slow.nonces[0], f: 'slow-process' })]);
      await sending;
      assert.equal(resolved, true);
      assert.ok(!received.some((m) => (m as { t: string }).t === 'ack'), 'confirmations are never delivered as messages');
    } finally {
      await slow.client.end();
      await other.close();
    }
  });

  test('a process that never confirms is waited for no longer than the limit; a confirmation from no one expected changes nothing', async () => {
    const bus = new PostgresBus({ confirmTimeoutMs: 300 });
    bus.attach(listener);
    const silent = await handListener('silent-process');
    try {
      const started = Date.now();
      const sending = bus.sendConfirmed(db, { t: 'org', o: USER });
      await until(() => silent.nonces.length === 1, 'the silent process received it');
      await silent.client.query('select pg_notify($1, $2)', ['docucommit', JSON.stringify({ t: 'ack', n: silent.nonces[0], f: 'someone-else' })]);
      await sending;
      assert.ok(Date.now() - started >= 300, 'waited up to the limit');
    } finally {
      await silent.client.end();
    }
  });

  test('without a listener of its own, or inside a transaction, a confirmed message is only sent', async () => {
    const bus = new PostgresBus({ confirmTimeoutMs: 10_000 });
    const silent = await handListener('silent-process-2');
    try {
      await bus.sendConfirmed(db, { t: 'all' });
      bus.attach(listener);
      await withOrg(db, USER, (trx) => bus.sendConfirmed(trx, { t: 'all' }));
      await until(() => silent.nonces.length === 0 && received.filter((m) => m.t === 'all').length >= 2, 'both delivered');
      assert.deepEqual(silent.nonces, [], 'neither asked for confirmation');
    } finally {
      await silent.client.end();
    }
  });
});
