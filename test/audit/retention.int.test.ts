import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { CHAIN_START, chainEvents, normalizeEvent, recordAuditEvent, type AuditEventInput, type ChainedRow } from '../../src/audit/audit-log.ts';
import { toAuditEvent } from '../../src/audit/query.ts';
import { pruneAuditLog } from '../../src/audit/retention.ts';
import { verifyAuditChain } from '../../src/audit/verify.ts';
import { withAuditChain, withOrg, type Db } from '../../src/db/connection.ts';
import { ensureOrganization } from '../../src/organizations/organizations.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';

const DAY = 24 * 60 * 60 * 1000;

const input = (orgId: string, n: number): AuditEventInput => ({
  orgId,
  actor: { type: 'user', id: `user-${n}`, label: `user${n}@acme.test` },
  action: 'settings.changed',
  outcome: 'success',
  details: { n },
});

async function chainRows(db: Db, orgId: string) {
  const rows = await withAuditChain(db, orgId, (trx) => trx.selectFrom('audit_events').selectAll().where('org_id', '=', orgId).orderBy('seq', 'asc').execute());
  return rows.map(toAuditEvent);
}

/**
 * An organization whose chain starts with `old` events written `ageDays` ago (inserted by the owner, as if the
 * log had been running then), followed by `recent` events written now.
 */
async function seedChain(db: Db, slug: string, old: number, ageDays: number, recent: number): Promise<string> {
  const org = await ensureOrganization(db, slug);
  const pending = Array.from({ length: old }, (_, i) => normalizeEvent(input(org.id, i + 1)));
  // one event per hour, the last of them `ageDays` ago
  let head = CHAIN_START;
  const rows: ChainedRow[] = [];
  for (let i = 0; i < pending.length; i++) {
    const at = new Date(Date.now() - ageDays * DAY - (pending.length - i) * 3600_000).toISOString();
    const chained = chainEvents([pending[i]!], head, at);
    head = chained.head;
    rows.push(...chained.rows);
  }
  if (rows.length > 0) {
    await asDatabaseOwner(db, (owner) =>
      owner.insertInto('audit_events').values(rows.map((row) => ({ ...row, details: row.details === null ? null : JSON.stringify(row.details) }))).execute(),
    );
  }
  for (let n = 1; n <= recent; n++) await recordAuditEvent(db, input(org.id, old + n));
  return org.id;
}

/** Statements run by the owner with triggers off: what a superuser tampering with the table can do. */
async function tamper(db: Db, statement: ReturnType<typeof sql>) {
  await asDatabaseOwner(db, async (owner) => {
    await sql`SET LOCAL session_replication_role = replica`.execute(owner);
    await statement.execute(owner);
  });
}

for (const target of databaseTargets()) {
  describe(`audit retention (${target.name})`, () => {
    let db: Db;
    let dispose: () => Promise<void>;
    before(async () => {
      ({ db, dispose } = await target.open());
    });
    after(async () => dispose());

    test('organizations keep 90 days by default; the database refuses a shorter retention', async () => {
      const org = await ensureOrganization(db, 'defaults');
      const row = await db.selectFrom('organizations').select('audit_retention_days').where('id', '=', org.id).executeTakeFirstOrThrow();
      assert.equal(row.audit_retention_days, 90);
      await assert.rejects(db.updateTable('organizations').set({ audit_retention_days: 89 }).where('id', '=', org.id).execute(), /check/i);
      await db.updateTable('organizations').set({ audit_retention_days: 400 }).where('id', '=', org.id).execute();
    });

    test('pruning removes events older than the retention, writes a checkpoint, and audit verify stays green', async () => {
      const orgId = await seedChain(db, 'pruned', 30, 100, 5);
      assert.equal((await verifyAuditChain(db, orgId)).ok, true);
      const result = await pruneAuditLog(db, orgId);
      assert.equal(result.pruned, 30);
      assert.equal(result.throughSeq, '30');
      assert.equal(result.checkpointSeq, '36');
      const rows = await chainRows(db, orgId);
      assert.deepEqual(rows.map((r) => r.seq), ['31', '32', '33', '34', '35', '36']);
      const checkpoint = rows.at(-1)!;
      assert.equal(checkpoint.action, 'audit.pruned');
      assert.equal(checkpoint.details?.through_seq, '30');
      assert.match(String(checkpoint.details?.through_hash), /^[0-9a-f]{64}$/);
      assert.equal(rows[0]!.prevHash, checkpoint.details?.through_hash, 'the checkpoint names the hash the first kept event links to');
      const verified = await verifyAuditChain(db, orgId);
      assert.equal(verified.ok, true, JSON.stringify(verified.firstBroken));
      assert.equal(verified.checked, 6);
      assert.deepEqual(verified.heads[0]?.checkpoint, { seq: '36', throughSeq: '30' });
      // nothing older is left: a second run removes nothing and writes nothing
      assert.equal((await pruneAuditLog(db, orgId)).pruned, 0);
      assert.equal((await chainRows(db, orgId)).length, 6);
      // the chain goes on after the checkpoint
      await recordAuditEvent(db, input(orgId, 99));
      assert.equal((await verifyAuditChain(db, orgId)).ok, true);
    });

    test('events within the retention stay, and a longer retention keeps more', async () => {
      const orgId = await seedChain(db, 'longer', 10, 100, 2);
      await db.updateTable('organizations').set({ audit_retention_days: 365 }).where('id', '=', orgId).execute();
      assert.equal((await pruneAuditLog(db, orgId)).pruned, 0);
      assert.equal((await chainRows(db, orgId)).length, 12);
      const young = await seedChain(db, 'young', 10, 20, 0);
      assert.equal((await pruneAuditLog(db, young)).pruned, 0, 'events 20 days old are kept at 90 days of retention');
    });

    test('after pruning, tampering with a remaining event is still detected', async () => {
      const orgId = await seedChain(db, 'tamper-event', 8, 100, 4);
      await pruneAuditLog(db, orgId);
      await tamper(db, sql`UPDATE audit_events SET reason = 'rewritten' WHERE org_id = ${orgId} AND seq = 10`);
      const result = await verifyAuditChain(db, orgId);
      assert.equal(result.ok, false);
      assert.equal(result.firstBroken?.seq, '10');
      assert.match(result.firstBroken!.reason, /hash does not match/);
    });

    test('the first kept event removed, or the checkpoint altered or removed, breaks verification', async () => {
      const first = await seedChain(db, 'tamper-first', 8, 100, 4);
      await pruneAuditLog(db, first);
      await tamper(db, sql`DELETE FROM audit_events WHERE org_id = ${first} AND seq = 9`);
      const gap = await verifyAuditChain(db, first);
      assert.equal(gap.ok, false);
      assert.equal(gap.firstBroken?.seq, '10');
      assert.match(gap.firstBroken!.reason, /events before seq 10 are missing and no checkpoint/);

      const altered = await seedChain(db, 'tamper-checkpoint', 8, 100, 4);
      const { checkpointSeq } = await pruneAuditLog(db, altered);
      await tamper(db, sql`UPDATE audit_events SET details = jsonb_set(details, '{through_hash}', to_jsonb(repeat('a', 64))) WHERE org_id = ${altered} AND seq = ${checkpointSeq}`);
      const bad = await verifyAuditChain(db, altered);
      assert.equal(bad.ok, false);
      assert.equal(bad.firstBroken?.seq, checkpointSeq);
      assert.match(bad.firstBroken!.reason, /checkpoint altered/);

      const removed = await seedChain(db, 'tamper-removed', 8, 100, 4);
      const pruned = await pruneAuditLog(db, removed);
      await tamper(db, sql`DELETE FROM audit_events WHERE org_id = ${removed} AND seq = ${pruned.checkpointSeq}`);
      const lost = await verifyAuditChain(db, removed);
      assert.equal(lost.ok, false);
      assert.equal(lost.firstBroken?.seq, '9');
      assert.match(lost.firstBroken!.reason, /no checkpoint/);
    });

    test('the application role cannot delete audit rows itself, nor prune recent events or without a checkpoint', async () => {
      const orgId = await seedChain(db, 'attacks', 6, 100, 3);
      await assert.rejects(
        withAuditChain(db, orgId, (trx) => trx.deleteFrom('audit_events').where('org_id', '=', orgId).where('seq', '=', '1').execute()),
        /permission denied|append-only/,
      );
      // pretending to be the pruning function: the settings the trigger reads do not help a non-owner
      await assert.rejects(
        withAuditChain(db, orgId, async (trx) => {
          await sql`select set_config('docucommit.audit_prune_org', ${orgId}, true), set_config('docucommit.audit_prune_through', '6', true)`.execute(trx);
          await trx.deleteFrom('audit_events').where('org_id', '=', orgId).where('seq', '=', '1').execute();
        }),
        /permission denied|append-only/,
      );
      // the function without a checkpoint naming the last removed event
      await assert.rejects(withOrg(db, orgId, (trx) => sql`select audit_prune(${orgId}::uuid, 6::bigint)`.execute(trx)), /no checkpoint/);
      // recent events, even with a well-formed checkpoint written by the application role
      const head = (await chainRows(db, orgId)).at(-1)!;
      await recordAuditEvent(db, { orgId, actor: { type: 'system', id: null }, action: 'audit.pruned', outcome: 'success', details: { through_seq: head.seq, through_hash: head.hash } });
      await assert.rejects(withOrg(db, orgId, (trx) => sql`select audit_prune(${orgId}::uuid, ${head.seq}::bigint)`.execute(trx)), /not all older than the retention/);
      // another organization's chain, from this organization's scope: nothing of it is named by a checkpoint here
      const other = await seedChain(db, 'attacks-other', 3, 100, 0);
      await assert.rejects(withOrg(db, orgId, (trx) => sql`select audit_prune(${other}::uuid, 2::bigint)`.execute(trx)), /no checkpoint/);
      assert.equal((await chainRows(db, orgId)).length, 10);
      assert.equal((await chainRows(db, other)).length, 3);
      assert.equal((await verifyAuditChain(db, orgId)).ok, true);
    });
  });
}
