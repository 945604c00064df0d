import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { Throttle } from '../../src/auth/throttle.ts';
import type { Db } from '../../src/db/connection.ts';
import { databaseTargets } from '../helpers/databases.ts';

const MINUTE = 60_000;

for (const target of databaseTargets()) {
  describe(`sign-in throttling (${target.name})`, () => {
    let db: Db;
    let dispose: () => Promise<void>;
    let clock = 1_800_000_000_000;
    const throttle = () => new Throttle(db, () => clock);

    before(async () => {
      const opened = await target.open();
      db = opened.db;
      dispose = opened.dispose;
    });
    after(async () => dispose());
    beforeEach(async () => {
      await db.deleteFrom('auth_failures').execute();
    });

    async function fail(t: Throttle, subjects: Parameters<Throttle['check']>[0], times: number, spacingMs: number) {
      for (let i = 0; i < times; i++) {
        await t.recordFailure(subjects);
        clock += spacingMs;
      }
    }

    test('per account: progressive delay from the 5th failure, a 15-minute block at the 10th; other accounts unaffected', async () => {
      const t = throttle();
      const victim = { account: 'victim@acme.test' };
      await fail(t, victim, 4, 1000);
      assert.deepEqual(await t.check(victim), { blocked: false });
      await fail(t, victim, 1, 0);
      const delayed = await t.check(victim);
      assert.ok(delayed.blocked && delayed.retryAfterSeconds <= 2, JSON.stringify(delayed));
      clock += 2001;
      assert.deepEqual(await t.check(victim), { blocked: false }, 'the delay passes');
      await fail(t, victim, 5, 65_000);
      const blocked = await t.check(victim);
      assert.ok(blocked.blocked && blocked.scope === 'account' && blocked.retryAfterSeconds > 60, JSON.stringify(blocked));
      assert.deepEqual(await t.check({ account: 'bystander@acme.test' }), { blocked: false });
      clock += 15 * MINUTE;
      assert.deepEqual(await t.check(victim), { blocked: false }, 'the block expires');
    });

    test('the 101st failed attempt within an hour is always refused', async () => {
      const t = throttle();
      const subject = { account: 'slow@acme.test' };
      // 100 failures spread so that no 15-minute window holds 10 of them (and the delay has passed each time).
      const rows = Array.from({ length: 100 }, (_, i) => ({
        scope: 'account' as const,
        subject_hash: '',
        failed_at: new Date(clock - 59 * MINUTE + i * 35_000),
      }));
      await t.recordFailure(subject); // learn the subject hash the throttle uses
      const [{ subject_hash }] = await db.selectFrom('auth_failures').select('subject_hash').execute() as [{ subject_hash: string }];
      await db.deleteFrom('auth_failures').execute();
      await db.insertInto('auth_failures').values(rows.map((r) => ({ ...r, subject_hash }))).execute();
      const verdict = await t.check(subject);
      assert.ok(verdict.blocked, 'blocked by the hourly rule');
      assert.deepEqual(await t.check({ account: 'other@acme.test' }), { blocked: false });
    });

    test('per address: 50 failures in 15 minutes block that address, not another one', async () => {
      const t = throttle();
      for (let i = 0; i < 50; i++) await t.recordFailure({ account: `user${i}@acme.test`, address: '203.0.113.9' });
      const verdict = await t.check({ account: 'fresh@acme.test', address: '203.0.113.9' });
      assert.ok(verdict.blocked && verdict.scope === 'address');
      assert.deepEqual(await t.check({ account: 'fresh@acme.test', address: '198.51.100.1' }), { blocked: false });
    });

    test('second factor: the 6th try within 5 minutes is refused', async () => {
      const t = throttle();
      await fail(t, { mfa: 'user-1' }, 5, 10_000);
      assert.ok((await t.check({ mfa: 'user-1' })).blocked);
      assert.deepEqual(await t.check({ mfa: 'user-2' }), { blocked: false });
      clock += 5 * MINUTE;
      assert.deepEqual(await t.check({ mfa: 'user-1' }), { blocked: false });
    });

    test('git over HTTP, per address: 30 bad credentials within 3 minutes refuse the 31st attempt until the window passes', async () => {
      const t = throttle();
      const address = { 'git-address': '203.0.113.77' };
      await fail(t, address, 29, 6000);
      assert.deepEqual(await t.check(address), { blocked: false }, '29 failures: still allowed');
      await fail(t, address, 1, 0);
      const verdict = await t.check(address);
      assert.ok(verdict.blocked && verdict.scope === 'git-address', JSON.stringify(verdict));
      // the first of the 30 failures was 174 seconds ago: the block ends when it leaves the 3-minute window
      assert.equal(verdict.blocked && verdict.retryAfterSeconds, 6);
      assert.deepEqual(await t.check({ 'git-address': '198.51.100.2' }), { blocked: false }, 'another address');
      assert.deepEqual(await t.check({ address: '203.0.113.77' }), { blocked: false }, 'the sign-in counter of the same address is separate');
      clock += 6001;
      assert.deepEqual(await t.check(address), { blocked: false });
    });

    test('30 git failures spread over more than 3 minutes do not block', async () => {
      const t = throttle();
      const address = { 'git-address': '203.0.113.78' };
      await fail(t, address, 30, 7000);
      assert.deepEqual(await t.check(address), { blocked: false });
    });

    test('clearing an account forgets its failures (after a successful sign-in)', async () => {
      const t = throttle();
      await fail(t, { account: 'ok@acme.test' }, 10, 0);
      assert.ok((await t.check({ account: 'ok@acme.test' })).blocked);
      await t.clear('account', 'ok@acme.test');
      assert.deepEqual(await t.check({ account: 'ok@acme.test' }), { blocked: false });
    });

    test('attempts made at once are reserved one by one: 120 parallel second-factor attempts let 5 through', async () => {
      const t = throttle();
      const outcomes = await Promise.all(Array.from({ length: 120 }, () => t.attempt({ mfa: 'user-1' })));
      const through = outcomes.filter((o) => !o.blocked);
      assert.equal(through.length, 5);
      // A success among them does not reopen the gate for those still in flight.
      const [first, ...rest] = through;
      if (first?.blocked === false) await first.reservation.succeeded();
      await t.clear('mfa', 'user-1');
      assert.ok((await t.attempt({ mfa: 'user-1' })).blocked === false, 'one slot is free again');
      assert.ok((await t.attempt({ mfa: 'user-1' })).blocked, 'the four still in flight and the new one count');
      for (const o of rest) if (!o.blocked) await o.reservation.failed();
      assert.ok((await t.check({ mfa: 'user-1' })).blocked);
    });
  });
}
