import assert from 'node:assert/strict';
import { after, before, describe, mock, test } from 'node:test';
import { sql } from 'kysely';
import { recordAuditEvent, type AuditEventInput } from '../../src/audit/audit-log.ts';
import { GENESIS_HASH } from '../../src/audit/hash.ts';
import { listAuditEvents, toAuditEvent } from '../../src/audit/query.ts';
import { verifyAuditChain } from '../../src/audit/verify.ts';
import { withAuditChain, type Db } from '../../src/db/connection.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';

const ORG_A = '11111111-1111-4111-8111-111111111111';
const ORG_B = '22222222-2222-4222-8222-222222222222';

const event = (orgId: string | null, n: number, extra: Partial<AuditEventInput> = {}): AuditEventInput => ({
  orgId,
  actor: { type: 'user', id: `user-${n}`, label: `user${n}@acme.test` },
  action: 'settings.changed',
  target: { type: 'setting', id: `s${n}` },
  outcome: 'success',
  requestId: `req-${n}`,
  ip: '127.0.0.1',
  details: { n },
  ...extra,
});

async function chainRows(db: Db, orgId: string | null) {
  const rows = await withAuditChain(db, orgId, (trx) => {
    let query = trx.selectFrom('audit_events').selectAll().orderBy('seq', 'asc');
    query = orgId === null ? query.where('org_id', 'is', null) : query.where('org_id', '=', orgId);
    return query.execute();
  });
  return rows.map(toAuditEvent);
}

/** Run statements with the append-only trigger off, as a superuser tampering with the table would. */
async function asSuperuser(db: Db, fn: (trx: Db) => Promise<void>) {
  await asDatabaseOwner(db, async (trx) => {
    await sql`ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only`.execute(trx);
    await fn(trx);
    await sql`ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only`.execute(trx);
  });
}

for (const target of databaseTargets()) {
  describe(`audit log (${target.name})`, () => {
    let db: Db;
    let dispose: () => Promise<void>;
    before(async () => {
      ({ db, dispose } = await target.open());
    });
    after(async () => dispose());

    test('events of one organization form a chain from seq 1 with genesis prev_hash, verified', async () => {
      for (let n = 1; n <= 5; n++) await recordAuditEvent(db, event(ORG_A, n));
      await recordAuditEvent(db, event(ORG_B, 1));
      await recordAuditEvent(db, event(null, 1, { actor: { type: 'anonymous', id: null, label: 'nobody@x.test' } }));
      const rows = await chainRows(db, ORG_A);
      assert.deepEqual(rows.map((r) => r.seq), ['1', '2', '3', '4', '5']);
      assert.equal(rows[0]!.prevHash, GENESIS_HASH);
      for (let i = 1; i < rows.length; i++) assert.equal(rows[i]!.prevHash, rows[i - 1]!.hash);
      assert.equal((await chainRows(db, ORG_B))[0]!.seq, '1', 'each organization has its own chain');
      assert.equal((await chainRows(db, null))[0]!.seq, '1', 'events without organization form the system chain');
      assert.match(rows[0]!.occurredAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const all = await verifyAuditChain(db, 'all');
      assert.equal(all.ok, true);
      assert.equal(all.checked, 7);
      assert.equal(all.heads.length, 3);
      assert.deepEqual(await verifyAuditChain(db, ORG_A).then((r) => [r.ok, r.checked]), [true, 5]);
    });

    test('20 concurrent appends to one chain never fork it', async () => {
      const org = '33333333-3333-4333-8333-333333333333';
      await Promise.all(Array.from({ length: 20 }, (_, n) => recordAuditEvent(db, event(org, n))));
      await Promise.all(Array.from({ length: 20 }, (_, n) => recordAuditEvent(db, event(null, 100 + n))));
      const rows = await chainRows(db, org);
      assert.deepEqual(rows.map((r) => Number(r.seq)), Array.from({ length: 20 }, (_, i) => i + 1));
      assert.equal(new Set(rows.map((r) => r.prevHash)).size, 20);
      assert.equal((await verifyAuditChain(db, org)).ok, true);
      assert.equal((await verifyAuditChain(db, null)).ok, true);
    });

    test('time never runs backwards along a chain: an event after one stamped by a clock ahead takes its time', async () => {
      const org = '99999999-9999-4999-8999-999999999999';
      const ahead = Date.now() + 3_600_000;
      // another process whose clock is an hour ahead appended first
      mock.timers.enable({ apis: ['Date'], now: ahead });
      try {
        await recordAuditEvent(db, event(org, 1));
      } finally {
        mock.timers.reset();
      }
      await recordAuditEvent(db, event(org, 2));
      const rows = await chainRows(db, org);
      assert.equal(rows.length, 2);
      assert.equal(new Date(rows[0]!.occurredAt).getTime(), ahead, 'the first event has the clock ahead');
      assert.equal(new Date(rows[1]!.occurredAt).getTime(), ahead, 'the next one is not stamped before it');
      assert.ok(Date.now() < ahead);
      const verified = await verifyAuditChain(db, org);
      assert.equal(verified.ok, true);
    });

    test('an event written in a rolled-back transaction leaves no trace; a committed one is there', async () => {
      const org = '44444444-4444-4444-8444-444444444444';
      await assert.rejects(
        db.transaction().execute(async (trx) => {
          await recordAuditEvent(trx, event(org, 1));
          throw new Error('the change failed');
        }),
        /the change failed/,
      );
      assert.equal((await chainRows(db, org)).length, 0);
      await db.transaction().execute((trx) => recordAuditEvent(trx, event(org, 2)));
      assert.deepEqual((await chainRows(db, org)).map((r) => r.seq), ['1']);
    });

    test('the application role has no right to update, delete or truncate audit rows', async () => {
      await assert.rejects(sql`UPDATE audit_events SET action = 'auth.sign_in'`.execute(db), /permission denied/);
      await assert.rejects(sql`DELETE FROM audit_events`.execute(db), /permission denied/);
      await assert.rejects(sql`TRUNCATE audit_events`.execute(db), /permission denied/);
      assert.equal((await verifyAuditChain(db, 'all')).ok, true);
    });

    test('even the table owner is stopped by the append-only trigger', async () => {
      await assert.rejects(asDatabaseOwner(db, (trx) => sql`UPDATE audit_events SET action = 'auth.sign_in'`.execute(trx)), /append-only/);
      await assert.rejects(asDatabaseOwner(db, (trx) => sql`DELETE FROM audit_events`.execute(trx)), /append-only/);
      await assert.rejects(asDatabaseOwner(db, (trx) => sql`TRUNCATE audit_events`.execute(trx)), /append-only/);
      assert.equal((await verifyAuditChain(db, 'all')).ok, true);
    });

    test('newlines, ANSI escapes and other controls are stored escaped; lengths are capped', async () => {
      const org = '55555555-5555-4555-8555-555555555555';
      await recordAuditEvent(db, {
        ...event(org, 1),
        actor: { type: 'anonymous', id: null, label: 'eve@x.test\n2026-01-01 auth.sign_in success admin' },
        reason: '\u001b[2J\u001b[31mred\u001b[0m\r\tnul\u0000 back\\slash \u202eevil',
        details: { note: 'line1\nline2', big: 'x'.repeat(5000) },
      });
      const [row] = await chainRows(db, org);
      assert.equal(row!.actorLabel, 'eve@x.test\\n2026-01-01 auth.sign_in success admin');
      assert.equal(row!.reason, '\\x1b[2J\\x1b[31mred\\x1b[0m\\r\\tnul\\x00 back\\\\slash \\u202eevil');
      assert.equal(row!.details!.note, 'line1\\nline2');
      assert.equal([...String(row!.details!.big)].length, 500);
      for (const value of [row!.actorLabel, row!.reason, row!.details!.note]) {
        assert.doesNotMatch(String(value), /[\u0000-\u001f\u007f]/);
      }
      assert.equal((await verifyAuditChain(db, org)).ok, true);
    });

    test('details keys that look like secrets, bad action names and non-scalar values are refused', async () => {
      for (const key of ['password', 'new_password', 'apiToken', 'client_secret', 'session_id', 'Cookie']) {
        await assert.rejects(recordAuditEvent(db, event(ORG_A, 1, { details: { [key]: 'x' } })), /looks like a secret/, key);
      }
      await assert.rejects(recordAuditEvent(db, event(ORG_A, 1, { action: 'Sign In' })), /invalid action/);
      await assert.rejects(
        recordAuditEvent(db, event(ORG_A, 1, { details: { nested: { a: 1 } as unknown as string } })),
        /must be a string/,
      );
      assert.equal((await chainRows(db, ORG_A)).length, 5, 'nothing was written');
    });

    test('the audit page query filters and pages newest first', async () => {
      const org = '66666666-6666-4666-8666-666666666666';
      for (let n = 1; n <= 7; n++) {
        await recordAuditEvent(db, event(org, n, { action: n % 2 ? 'auth.sign_in' : 'document.read', target: { type: 'document', id: `p/doc_${n}.md` } }));
      }
      const first = await listAuditEvents(db, org, {}, { limit: 3 });
      assert.deepEqual(first.events.map((e) => e.seq), ['7', '6', '5']);
      const second = await listAuditEvents(db, org, {}, { limit: 3, before: first.nextBefore! });
      assert.deepEqual(second.events.map((e) => e.seq), ['4', '3', '2']);
      assert.deepEqual((await listAuditEvents(db, org, { action: 'document.read' }, { limit: 10 })).events.map((e) => e.seq), ['6', '4', '2']);
      assert.equal((await listAuditEvents(db, org, { action: 'auth.' }, { limit: 10 })).events.length, 4);
      assert.deepEqual((await listAuditEvents(db, org, { actor: 'USER3@' }, { limit: 10 })).events.map((e) => e.seq), ['3']);
      assert.deepEqual((await listAuditEvents(db, org, { target: 'doc_5' }, { limit: 10 })).events.map((e) => e.seq), ['5']);
      assert.equal((await listAuditEvents(db, org, { target: 'doc%' }, { limit: 10 })).events.length, 0, 'LIKE wildcards are literal');
      assert.equal((await listAuditEvents(db, org, { from: new Date(Date.now() + 60_000) }, { limit: 10 })).events.length, 0);
      assert.equal((await listAuditEvents(db, org, { to: new Date(Date.now() + 60_000) }, { limit: 10 })).events.length, 7);
    });
  });

  describe(`audit chain head (${target.name})`, () => {
    let db: Db;
    let dispose: () => Promise<void>;
    before(async () => {
      ({ db, dispose } = await target.open());
    });
    after(async () => dispose());

    test('audit_chain_head (migration 043: audit_chain_tip without the time) answers the scoped chain\'s head, the system chain\'s when scoped to it, and nothing unscoped', async () => {
      const ORG_C = '33333333-3333-4333-8333-333333333333';
      const head = (orgId: string | null) =>
        withAuditChain(db, orgId, async (trx) =>
          (await sql<{ seq: string | number; hash: string }>`select seq, hash from audit_chain_head()`.execute(trx)).rows.map((row) => ({ seq: String(row.seq), hash: row.hash })),
        );
      assert.deepEqual(await head(ORG_C), [], 'an empty chain has no head');
      for (let n = 1; n <= 3; n++) await recordAuditEvent(db, event(ORG_C, n));
      const rows = await chainRows(db, ORG_C);
      assert.deepEqual(await head(ORG_C), [{ seq: '3', hash: rows[2]!.hash }]);
      const systemBefore = await head(null);
      await recordAuditEvent(db, event(null, 1, { actor: { type: 'anonymous', id: null, label: 'nobody@x.test' } }));
      const system = await head(null);
      assert.equal(system.length, 1);
      assert.equal(BigInt(system[0]!.seq), BigInt(systemBefore[0]?.seq ?? '0') + 1n, 'the system chain\'s own head');
      assert.notEqual(system[0]!.hash, rows[2]!.hash);
      // a transaction scoped to nothing (neither an organization nor the system chain) learns no head
      const unscoped = await db.transaction().execute(async (trx) => (await sql`select seq from audit_chain_head()`.execute(trx)).rows);
      assert.deepEqual(unscoped, []);
      // never planned at every call: a SQL function PostgreSQL can inline (no SET clause, not SECURITY DEFINER) over a
      // PL/pgSQL one whose plans are kept for the session
      const functions = await asDatabaseOwner(db, async (trx) =>
        (
          await sql<{ proname: string; lanname: string; prosecdef: boolean; proconfig: string[] | null }>`
            select p.proname, l.lanname, p.prosecdef, p.proconfig from pg_proc p join pg_language l on l.oid = p.prolang
            where p.proname in ('audit_chain_head', 'audit_chain_tip') order by p.proname`.execute(trx)
        ).rows.map((row) => ({ name: row.proname, language: row.lanname, definer: row.prosecdef, settings: row.proconfig === null ? 0 : row.proconfig.length })),
      );
      assert.deepEqual(functions, [
        { name: 'audit_chain_head', language: 'sql', definer: false, settings: 0 },
        { name: 'audit_chain_tip', language: 'plpgsql', definer: true, settings: 1 },
      ]);
    });
  });

  describe(`audit chain tamper detection (${target.name})`, () => {
    let db: Db;
    let dispose: () => Promise<void>;
    const org = '77777777-7777-4777-8777-777777777777';
    before(async () => {
      ({ db, dispose } = await target.open());
    });
    after(async () => dispose());

    async function freshChain(orgId: string, count: number) {
      for (let n = 1; n <= count; n++) await recordAuditEvent(db, event(orgId, n));
      return chainRows(db, orgId);
    }

    test('a superuser edit of event k is named by verify', async () => {
      const rows = await freshChain(org, 6);
      await asSuperuser(db, async (trx) => {
        await sql`UPDATE audit_events SET action = 'auth.sign_in', reason = 'nothing to see' WHERE id = ${rows[3]!.id}`.execute(trx);
      });
      const result = await verifyAuditChain(db, org);
      assert.equal(result.ok, false);
      assert.equal(result.checked, 3);
      assert.deepEqual({ ...result.firstBroken, reason: undefined }, { orgId: org, seq: '4', id: rows[3]!.id, reason: undefined });
      assert.match(result.firstBroken!.reason, /altered/);
      assert.equal((await verifyAuditChain(db, 'all')).firstBroken?.seq, '4');
    });

    test('an event whose stored hash was replaced is named; restoring it verifies again', async () => {
      const chain = '88888888-8888-4888-8888-888888888888';
      const rows = await freshChain(chain, 4);
      await asSuperuser(db, async (trx) => {
        await sql`UPDATE audit_events SET hash = ${'f'.repeat(64)} WHERE id = ${rows[1]!.id}`.execute(trx);
      });
      const result = await verifyAuditChain(db, chain);
      assert.equal(result.firstBroken?.seq, '2', 'its own hash no longer matches');
      await asSuperuser(db, async (trx) => {
        await sql`UPDATE audit_events SET hash = ${rows[1]!.hash} WHERE id = ${rows[1]!.id}`.execute(trx);
      });
      assert.equal((await verifyAuditChain(db, chain)).ok, true, 'restored');
    });

    test('a deleted event is named at the gap', async () => {
      const chain = '99999999-9999-4999-8999-999999999999';
      const rows = await freshChain(chain, 5);
      await asSuperuser(db, async (trx) => {
        await sql`DELETE FROM audit_events WHERE id = ${rows[2]!.id}`.execute(trx);
      });
      const result = await verifyAuditChain(db, chain);
      assert.equal(result.ok, false);
      assert.equal(result.firstBroken?.seq, '4');
      assert.equal(result.firstBroken?.id, rows[3]!.id);
      assert.match(result.firstBroken.reason, /sequence gap: expected seq 3/);
    });

    test('two reordered events are named at the first swapped position', async () => {
      const chain = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
      const rows = await freshChain(chain, 5);
      await asSuperuser(db, async (trx) => {
        await sql`UPDATE audit_events SET seq = 1000 WHERE id = ${rows[1]!.id}`.execute(trx);
        await sql`UPDATE audit_events SET seq = 2 WHERE id = ${rows[2]!.id}`.execute(trx);
        await sql`UPDATE audit_events SET seq = 3 WHERE id = ${rows[1]!.id}`.execute(trx);
      });
      const result = await verifyAuditChain(db, chain);
      assert.equal(result.ok, false);
      assert.equal(result.firstBroken?.seq, '2');
      assert.equal(result.firstBroken?.id, rows[2]!.id);
    });

    test('a tampered system-chain event is found by verify all', async () => {
      await recordAuditEvent(db, event(null, 1));
      await recordAuditEvent(db, event(null, 2));
      const rows = await chainRows(db, null);
      await asSuperuser(db, async (trx) => {
        await sql`UPDATE audit_events SET actor_label = 'someone-else' WHERE id = ${rows[0]!.id}`.execute(trx);
      });
      const result = await verifyAuditChain(db, 'all');
      assert.deepEqual([result.firstBroken?.orgId, result.firstBroken?.seq], [null, '1']);
    });
  });
}
