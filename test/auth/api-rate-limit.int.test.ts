import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { upsertAccount } from '../../src/auth/accounts.ts';
import { ApiRateLimiter } from '../../src/auth/api-rate-limit.ts';
import { createToken, findToken } from '../../src/auth/tokens.ts';
import type { Db } from '../../src/db/connection.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';

for (const target of databaseTargets()) {
  describe(`API rate limit per token (${target.name})`, () => {
    let db: Db;
    let dispose: () => Promise<void>;
    let tokenIds: string[];

    before(async () => {
      const opened = await target.open();
      db = opened.db;
      dispose = opened.dispose;
      const { user } = await upsertAccount(db, { email: 'ada@acme.test', orgSlug: 'acme', role: 'member', password: 'correct horse battery staple' });
      tokenIds = [];
      for (const name of ['one', 'two']) tokenIds.push((await createToken(db, { userId: user.id, name, scopes: ['read'] })).summary.id);
    });
    after(async () => dispose());

    test('N requests per window, then refused until the window ends; each token counts alone', async () => {
      let clock = Date.parse('2026-12-06T10:00:00Z');
      const limiter = new ApiRateLimiter(db, { requests: 3, windowMs: 60_000 }, () => clock);
      const [one, two] = tokenIds as [string, string];
      const verdicts = [];
      for (let i = 0; i < 5; i++) verdicts.push(await limiter.take(one));
      assert.deepEqual(verdicts.map((v) => v.allowed), [true, true, true, false, false]);
      assert.deepEqual(verdicts.map((v) => v.remaining), [2, 1, 0, 0, 0]);
      assert.equal(verdicts[3]!.resetSeconds, 60);
      assert.equal((await limiter.take(two)).allowed, true);
      clock += 45_000;
      const waiting = await limiter.take(one);
      assert.equal(waiting.allowed, false);
      assert.equal(waiting.resetSeconds, 15, 'refused requests do not move the window');
      clock += 15_000;
      const fresh = await limiter.take(one);
      assert.deepEqual([fresh.allowed, fresh.remaining], [true, 2]);
    });

    test('the count is one row per token, gone with the token', async () => {
      const rows = await asDatabaseOwner(db, (trx) => trx.selectFrom('api_rate_limits').select(['token_id', 'used']).execute());
      assert.deepEqual(rows.map((r) => r.token_id).sort(), [...tokenIds].sort());
      await asDatabaseOwner(db, (trx) => trx.deleteFrom('personal_access_tokens').where('id', '=', tokenIds[0]!).execute());
      assert.equal(await findToken(db, tokenIds[0]!), null);
      const left = await asDatabaseOwner(db, (trx) => trx.selectFrom('api_rate_limits').select('token_id').execute());
      assert.deepEqual(left.map((r) => r.token_id), [tokenIds[1]]);
    });
  });
}
