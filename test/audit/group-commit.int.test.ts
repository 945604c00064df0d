import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { recordAuditEvent, type AuditEventInput } from '../../src/audit/audit-log.ts';
import { AuditGroupCommit } from '../../src/audit/group-commit.ts';
import { verifyAuditChain } from '../../src/audit/verify.ts';
import { withAuditChain, type Db } from '../../src/db/connection.ts';
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
      const work: Promise<void>[] = [];
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
  });
}
