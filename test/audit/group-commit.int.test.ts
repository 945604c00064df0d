import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { chainEvents, CHAIN_START, normalizeEvent, recordAuditEvent, type AuditEventInput, type ChainPosition } from '../../src/audit/audit-log.ts';
import { AuditGroupCommit, durableBatchInput } from '../../src/audit/group-commit.ts';
import { verifyAuditChain } from '../../src/audit/verify.ts';
import { applicationUrlOf, withAuditChain, type Db } from '../../src/db/connection.ts';
import type { Database } from '../../src/db/schema.ts';
import { databaseTargets } from '../helpers/databases.ts';

const ORG_A = '33333333-3333-4333-8333-333333333333';
const ORG_B = '44444444-4444-4444-8444-444444444444';

const read = (orgId: string, n: number): AuditEventInput => ({
  orgId,
  actor: { type: 'user', id: `reader-${n}`, label: `reader${n}@acme.test` },
  action: 'document.read',
  target: { type: 'document', id: `p:policies/doc-${n}.md`, label: `policies/doc-${n}.md` },
  outcome: 'success',
  requestId: `read-${n}`,
  details: { classification: 'confidential' },
});

/** Call migration 019's batch append directly, as AuditGroupCommit does. */
async function appendBatch(db: Db, chainOrg: string | null, expected: ChainPosition, inputs: AuditEventInput[]) {
  const { rows, head } = chainEvents(inputs.map(normalizeEvent), expected, new Date().toISOString());
  const answer = await sql<{ appended: boolean; head_seq: string; head_hash: string }>`
    select appended, head_seq, head_hash from audit_append_batch(${chainOrg}, ${String(expected.seq)}, ${expected.hash}, ${JSON.stringify(rows)}::jsonb)`.execute(db);
  return { answer: answer.rows[0]!, head };
}

async function requestIds(db: Db, orgId: string): Promise<string[]> {
  const rows = await withAuditChain(db, orgId, (trx) =>
    trx.selectFrom('audit_events').select(['request_id', 'seq']).where('org_id', '=', orgId).orderBy('seq', 'asc').execute());
  return rows.map((r) => r.request_id ?? '');
}

for (const target of databaseTargets()) {
  describe(`audit group commit (${target.name})`, () => {
    let db: Db;
    let dispose: () => Promise<void>;
    before(async () => {
      ({ db, dispose } = await target.open());
    });
    after(() => dispose());

    test('events that arrive together share transactions, each caller waits for its own, and the chain verifies', async () => {
      const group = new AuditGroupCommit(db);
      await Promise.all(Array.from({ length: 300 }, (_, n) => group.append(read(ORG_A, n))));
      const ids = await requestIds(db, ORG_A);
      assert.equal(ids.length, 300, 'every event is stored once');
      assert.deepEqual(new Set(ids), new Set(Array.from({ length: 300 }, (_, n) => `read-${n}`)));
      assert.ok(group.stats.batches < 300, `300 events took ${group.stats.batches} transactions: nothing was grouped`);
      assert.equal(group.stats.events, 300);
      const verified = await verifyAuditChain(db, ORG_A);
      assert.equal(verified.ok, true, JSON.stringify(verified.firstBroken));
      assert.equal(verified.checked, 300);
    });

    test('group commits interleave with events written inside other transactions, in several chains, and the chains stay whole', async () => {
      const group = new AuditGroupCommit(db);
      const second = new AuditGroupCommit(db); // another process's writer: same lock, same chain
      const work: Promise<unknown>[] = [];
      for (let n = 0; n < 60; n++) {
        work.push(group.append(read(ORG_B, 1000 + n)));
        work.push(second.append(read(ORG_B, 2000 + n)));
        if (n % 5 === 0) work.push(recordAuditEvent(db, { ...read(ORG_B, 3000 + n), action: 'settings.changed' }));
        if (n % 7 === 0) work.push(group.append(read(ORG_A, 4000 + n)));
      }
      await Promise.all(work);
      assert.equal((await requestIds(db, ORG_B)).length, 120 + 12);
      for (const org of [ORG_A, ORG_B]) {
        const verified = await verifyAuditChain(db, org);
        assert.equal(verified.ok, true, `${org}: ${JSON.stringify(verified.firstBroken)}`);
      }
    });

    test('the chain head is read for the scoped chain only: another organization, or no scope, sees no head', async () => {
      await new AuditGroupCommit(db).append(read(ORG_A, 7000));
      const head = (scope: string | null) => withAuditChain(db, scope, async (trx) => (await sql<{ seq: string }>`select seq from audit_chain_head()`.execute(trx)).rows);
      const a = await head(ORG_A);
      assert.equal(a.length, 1);
      assert.equal(String(a[0]!.seq), String((await requestIds(db, ORG_A)).length));
      assert.deepEqual(await head('66666666-6666-4666-8666-666666666666'), []);
      const unscoped = await db.transaction().execute(async (trx) => (await sql`select seq from audit_chain_head()`.execute(trx)).rows);
      assert.deepEqual(unscoped, []);
    });

    test("the chain's tip (head and its time, migration 042) is read for the scoped chain only", async () => {
      await new AuditGroupCommit(db, { chainInDatabase: true }).append(read(ORG_A, 7001));
      const tip = (scope: string | null) =>
        withAuditChain(db, scope, async (trx) => (await sql<{ seq: string; hash: string; occurred_at: Date }>`select seq, hash, occurred_at from audit_chain_tip()`.execute(trx)).rows);
      const [a] = await tip(ORG_A);
      const newest = await withAuditChain(db, ORG_A, (trx) =>
        trx.selectFrom('audit_events').select(['seq', 'hash', 'occurred_at']).where('org_id', '=', ORG_A).orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow());
      assert.deepEqual([String(a!.seq), a!.hash, new Date(a!.occurred_at).getTime()], [String(newest.seq), newest.hash, new Date(newest.occurred_at).getTime()]);
      assert.deepEqual(await tip('66666666-6666-4666-8666-666666666666'), []);
      const unscoped = await db.transaction().execute(async (trx) => (await sql`select seq from audit_chain_tip()`.execute(trx)).rows);
      assert.deepEqual(unscoped, [], 'no scope, no chain');
      await recordAuditEvent(db, { ...read(ORG_A, 7002), orgId: null, action: 'auth.sign_in' });
      const system = await tip(null);
      assert.equal(system.length, 1, 'the system chain when scoped to it');
    });

    test('the hash checks of migration 042 accept exactly what the regular expression did, and refuse the rest on insert', async () => {
      const samples = [
        'a'.repeat(64), '0123456789abcdef'.repeat(4), 'A'.repeat(64), 'a'.repeat(63), 'a'.repeat(65), `${'a'.repeat(63)}g`,
        `${'a'.repeat(64)}\n`, `\n${'a'.repeat(63)}`, ` ${'a'.repeat(63)}`, '', 'é'.repeat(32), `${'a'.repeat(62)}é`, `${'a'.repeat(63)}-`,
      ];
      const rows = (
        await sql<{ s: string; old: boolean; now: boolean }>`
          select s, s ~ '^[0-9a-f]{64}$' as old, (octet_length(s) = 64 and s !~ '[^0-9a-f]') as now
          from unnest(${samples}::text[]) as s`.execute(db)
      ).rows;
      assert.equal(rows.length, samples.length);
      for (const row of rows) assert.equal(row.now, row.old, JSON.stringify(row.s));
      assert.deepEqual(rows.filter((r) => r.now).length, 2);
      const org = 'abababab-abab-4bab-8bab-abababababab';
      for (const bad of ['A'.repeat(64), `${'a'.repeat(64)}\n`, 'a'.repeat(63)]) {
        await assert.rejects(
          withAuditChain(db, org, (trx) =>
            sql`insert into audit_events (org_id, seq, occurred_at, actor_type, action, outcome, details, prev_hash, hash)
                values (${org}, 1, now(), 'system', 'test.refused', 'success', '{}'::jsonb, ${'0'.repeat(64)}, ${bad})`.execute(trx)),
          /audit_events_hash_check/,
        );
      }
      assert.deepEqual(await requestIds(db, org), []);
    });

    test('an event the log refuses fails its caller at once and does not hold the others', async () => {
      const group = new AuditGroupCommit(db);
      const good = group.append(read(ORG_A, 5000));
      assert.throws(() => group.append({ ...read(ORG_A, 5001), details: { session_id: 'x' } }), /looks like a secret/);
      await good;
      assert.ok((await requestIds(db, ORG_A)).includes('read-5000'));
    });

    test('when the transaction fails, every caller of the batch is rejected', async () => {
      const other = await target.open();
      const group = new AuditGroupCommit(other.db);
      await group.append(read(ORG_A, 6000));
      await other.db.destroy(); // the database is gone mid-flight
      const results = await Promise.allSettled([group.append(read(ORG_A, 6001)), group.append(read(ORG_A, 6002))]);
      assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
      await other.dispose().catch(() => {});
    });
  
    test('a batch chained after a head that is no longer the head writes nothing and is told the actual head', async () => {
      const org = '55555555-5555-4555-8555-555555555555';
      const first = await appendBatch(db, org, CHAIN_START, [read(org, 1), read(org, 2)]);
      assert.equal(first.answer.appended, true);
      assert.equal(String(first.answer.head_seq), '2');
      assert.equal(first.answer.head_hash, first.head.hash);
      // another writer appends meanwhile
      await recordAuditEvent(db, { ...read(org, 3), action: 'settings.changed' });
      const stale = await appendBatch(db, org, first.head, [read(org, 4)]);
      assert.equal(stale.answer.appended, false);
      assert.equal(String(stale.answer.head_seq), '3');
      assert.deepEqual(await requestIds(db, org), ['read-1', 'read-2', 'read-3']);
      // a writer that believes the chain is empty is refused too (no second seq 1)
      assert.equal((await appendBatch(db, org, CHAIN_START, [read(org, 5)])).answer.appended, false);
      // chained after the actual head, the batch is appended
      const actual = { seq: BigInt(stale.answer.head_seq), hash: stale.answer.head_hash };
      assert.equal((await appendBatch(db, org, actual, [read(org, 6)])).answer.appended, true);
      assert.deepEqual(await requestIds(db, org), ['read-1', 'read-2', 'read-3', 'read-6']);
      assert.equal((await verifyAuditChain(db, org)).ok, true);
    });

    test('the group writer recovers when another writer moved the chain after its last batch', async () => {
      const org = '77777777-7777-4777-8777-777777777777';
      const group = new AuditGroupCommit(db);
      await group.append(read(org, 1));
      await recordAuditEvent(db, { ...read(org, 2), action: 'settings.changed' });
      await recordAuditEvent(db, { ...read(org, 3), action: 'settings.changed' });
      await Promise.all([group.append(read(org, 4)), group.append(read(org, 5))]);
      assert.deepEqual(await requestIds(db, org), ['read-1', 'read-2', 'read-3', 'read-4', 'read-5']);
      assert.equal((await verifyAuditChain(db, org)).ok, true);
    });

    test('when the chain keeps moving, a batch is appended the locked way, after the actual head', async () => {
      const org = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
      const optimistic = new AuditGroupCommit(db);
      const locked = new AuditGroupCommit(db, { optimisticTries: 0 });
      await optimistic.append(read(org, 1));
      await Promise.all([locked.append(read(org, 2)), locked.append(read(org, 3))]);
      await optimistic.append(read(org, 4));
      await locked.append(read(org, 5));
      assert.deepEqual(await requestIds(db, org), ['read-1', 'read-2', 'read-3', 'read-4', 'read-5']);
      assert.equal(locked.stats.events, 3);
      assert.equal((await verifyAuditChain(db, org)).ok, true);
    });

    test('the batch append cannot write into another chain than the one it names (row-level security)', async () => {
      await new AuditGroupCommit(db).append(read(ORG_A, 7999));
      const headOfA = await withAuditChain(db, ORG_A, async (trx) => (await sql<{ seq: string; hash: string }>`select seq, hash from audit_chain_head()`.execute(trx)).rows[0]!);
      const expected = { seq: BigInt(headOfA.seq), hash: headOfA.hash };
      const before = (await requestIds(db, ORG_B)).length;
      // rows of organization B (or of the system chain), chained after A's head and appended in the name of A's chain
      for (const orgId of [ORG_B, null]) {
        const { rows } = chainEvents([normalizeEvent({ ...read(ORG_A, 8000), orgId })], expected, new Date().toISOString());
        await assert.rejects(
          sql`select appended from audit_append_batch(${ORG_A}, ${headOfA.seq}, ${headOfA.hash}, ${JSON.stringify(rows)}::jsonb)`.execute(db),
          /row-level security/,
        );
      }
      assert.equal((await requestIds(db, ORG_B)).length, before);
      assert.equal((await verifyAuditChain(db, 'all')).ok, true);
    });

    test("inside a transaction the batch append leaves the caller's scope as it was", async () => {
      const org = '88888888-8888-4888-8888-888888888888';
      const scope = await db.transaction().execute(async (trx) => {
        await sql`select set_config('app.org_id', ${ORG_B}, true)`.execute(trx);
        const { rows } = chainEvents([normalizeEvent(read(org, 1))], CHAIN_START, new Date().toISOString());
        await sql`select appended from audit_append_batch(${org}, ${'0'}, ${CHAIN_START.hash}, ${JSON.stringify(rows)}::jsonb)`.execute(trx);
        await sql`select appended from audit_append_batch(${null}, ${'0'}, ${CHAIN_START.hash}, ${'[]'}::jsonb)`.execute(trx);
        return (await sql<{ org: string; chain: string | null }>`select current_setting('app.org_id', true) as org, current_setting('app.audit_chain', true) as chain`.execute(trx)).rows[0]!;
      });
      assert.equal(scope.org, ORG_B);
      assert.notEqual(scope.chain, 'system');
      assert.deepEqual(await requestIds(db, org), ['read-1']);
    });

    test('two writers of separate connections race on one chain (two server processes), with a writer-chained one and synchronous appends between: each event once, the chain verifies', async () => {
      const org = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
      // PostgreSQL: a second pool of the application's own, as another process has; PGlite has one session
      const appUrl = applicationUrlOf(db);
      const otherDb: Db = appUrl ? new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: appUrl, max: 4 }) }) }) : db;
      try {
        // chained by the database (the default on PostgreSQL; on PGlite too, to test the procedure there)
        const first = new AuditGroupCommit(db, { chainInDatabase: true });
        const second = new AuditGroupCommit(otherDb, { chainInDatabase: true });
        // a process of the previous version during an upgrade: batches chained by the writer (migration 019)
        const older = new AuditGroupCommit(otherDb, { chainInDatabase: false });
        const expected: string[] = [];
        const work: Promise<unknown>[] = [];
        for (let round = 0; round < 8; round++) {
          for (let n = 0; n < 25; n++) {
            const id = round * 100 + n;
            const writer = n % 5 === 4 ? older : n % 2 ? second : first;
            work.push(writer.append(read(org, id)));
            expected.push(`read-${id}`);
          }
          work.push(recordAuditEvent(db, { ...read(org, 9000 + round), action: 'settings.changed' }));
          expected.push(`read-${9000 + round}`);
          // a round's events go out while the last round's batches are in flight
          await new Promise((resolve) => setImmediate(resolve));
        }
        await Promise.all(work);
        const rows = await withAuditChain(db, org, (trx) =>
          trx.selectFrom('audit_events').select(['seq', 'occurred_at', 'request_id']).where('org_id', '=', org).orderBy('seq', 'asc').execute());
        assert.equal(rows.length, expected.length, 'every event is stored once');
        assert.deepEqual(new Set(rows.map((r) => r.request_id)), new Set(expected));
        assert.deepEqual(rows.map((r) => Number(r.seq)), Array.from({ length: rows.length }, (_, i) => i + 1), 'one seq each, no gap');
        for (let i = 1; i < rows.length; i++) {
          assert.ok(new Date(rows[i]!.occurred_at).getTime() >= new Date(rows[i - 1]!.occurred_at).getTime(), `time runs backwards at seq ${i + 1}`);
        }
        const batches = first.stats.batches + second.stats.batches + older.stats.batches;
        assert.ok(batches < 200, `200 events took ${batches} batches: nothing was grouped`);
        const verified = await verifyAuditChain(db, org);
        assert.equal(verified.ok, true, JSON.stringify(verified.firstBroken));
        assert.equal(verified.checked, expected.length);
      } finally {
        if (otherDb !== db) await otherDb.destroy();
      }
    });

    test('a batch chained by the database stores every text exactly, quotes and backslashes included', async () => {
      const org = 'eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee';
      const hostile = [`'); DROP TABLE audit_events; --`, `\\' E'\\x`, `$$ select 1 $$`, `"quoted" \u0041 ünïcødé 🔒`, `a,b],[c","`];
      const group = new AuditGroupCommit(db, { chainInDatabase: true });
      await Promise.all(
        hostile.map((text, n) =>
          group.append({ ...read(org, n), actor: { type: 'user', id: text, label: text }, target: { type: 'document', id: text, label: text }, details: { note: text, n, half: 1.5, ok: true, none: null } }),
        ),
      );
      const rows = await withAuditChain(db, org, (trx) =>
        trx.selectFrom('audit_events').select(['actor_id', 'target_label', 'details']).where('org_id', '=', org).orderBy('seq', 'asc').execute());
      assert.equal(rows.length, hostile.length);
      const expected = hostile.map((h) => normalizeEvent({ ...read(org, 0), actor: { type: 'user', id: h } }).actorId);
      assert.deepEqual(new Set(rows.map((r) => r.actor_id)), new Set(expected), 'stored as the writer sanitized them, nothing else');
      for (const row of rows) assert.equal((row.details as Record<string, unknown>).note, row.target_label);
      assert.equal((await verifyAuditChain(db, org)).ok, true);
    });

    test('the system chain (no organization) is chained by the database too, between synchronous appends', async () => {
      const group = new AuditGroupCommit(db, { chainInDatabase: true });
      await Promise.all([1, 2, 3].map((n) => group.append({ ...read(ORG_A, 9100 + n), orgId: null, action: 'auth.sign_in' })));
      await recordAuditEvent(db, { ...read(ORG_A, 9104), orgId: null, action: 'auth.sign_in' });
      await group.append({ ...read(ORG_A, 9105), orgId: null, action: 'auth.sign_in' });
      const verified = await verifyAuditChain(db, null);
      assert.equal(verified.ok, true, JSON.stringify(verified.firstBroken));
      assert.ok(verified.checked >= 5);
    });

    if (target.name === 'postgres') {
      test('a batch chained by the database is on disk when the CALL returns: the log is flushed past its commit', async () => {
        const org = 'dddddddd-dddd-4ddd-8ddd-dddddddddddd';
        const pieces = durableBatchInput([normalizeEvent(read(org, 1))]);
        const answer = (
          await sql<{ head_seq: string; head_hash: string; committed_lsn: string }>`
            call audit_append_durable(${org}, ${new Date().toISOString()}, ${JSON.stringify(pieces)}::jsonb)`.execute(db)
        ).rows[0]!;
        // committed_lsn: the end of the log just after the batch committed without waiting for the disk
        const flushed = await sql<{ ok: boolean }>`select pg_current_wal_flush_lsn() >= ${answer.committed_lsn}::pg_lsn as ok`.execute(db);
        assert.equal(flushed.rows[0]!.ok, true, `the log was not flushed up to ${answer.committed_lsn}`);
        assert.equal(String(answer.head_seq), '1');
        assert.deepEqual(await requestIds(db, org), ['read-1']);
        const verified = await verifyAuditChain(db, org);
        assert.equal(verified.ok, true, JSON.stringify(verified.firstBroken));
        // inside a transaction the procedure cannot commit, and writes nothing
        await assert.rejects(db.transaction().execute((trx) => sql`call audit_append_durable(${org}, ${new Date().toISOString()}, ${JSON.stringify(pieces)}::jsonb)`.execute(trx)));
        assert.deepEqual(await requestIds(db, org), ['read-1']);
      });

      test('a batch waits for the chain lock every other writer of the chain takes', async () => {
        const org = '99999999-9999-4999-8999-999999999999';
        const group = new AuditGroupCommit(db);
        await group.append(read(org, 1));
        let appended = false;
        let pending: Promise<void> | undefined;
        await db.transaction().execute(async (trx) => {
          await sql`select pg_advisory_xact_lock(${0x41554454}::int, hashtext(${org}))`.execute(trx);
          pending = group.append(read(org, 2)).then(() => {
            appended = true;
          });
          await new Promise((resolve) => setTimeout(resolve, 300));
          assert.equal(appended, false, 'the batch was written while another writer held the chain');
        });
        await pending;
        assert.deepEqual(await requestIds(db, org), ['read-1', 'read-2']);
      });
    }
  });
}
