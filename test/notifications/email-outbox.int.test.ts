/**
 * The outbox keeps what it needs and no more: finished messages go after the retention, pending ones never do,
 * and rate-limit rows (which hold a client address) go once their window is long over. A sending process prunes
 * at most once an hour.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { upsertAccount } from '../../src/auth/accounts.ts';
import { SecretBox, secretKey } from '../../src/auth/secret-box.ts';
import type { Db } from '../../src/db/connection.ts';
import { EmailDispatcher, type MailTransport } from '../../src/notifications/email-dispatcher.ts';
import { FINISHED_RETENTION_MS, pruneOutbox, RATE_LIMIT_RETENTION_MS } from '../../src/notifications/email-outbox.ts';
import { databaseTargets } from '../helpers/databases.ts';

const DAY = 24 * 3600_000;

for (const target of databaseTargets()) {
  describe(`email outbox retention (${target.name})`, () => {
    let db: Db;
    let dispose: () => Promise<void>;
    let userId: string;
    before(async () => {
      ({ db, dispose } = await target.open());
      ({ user: { id: userId } } = await upsertAccount(db, { email: 'member@acme.test', orgSlug: 'acme', role: 'member', password: 'a long enough passphrase' }));
    });
    after(() => dispose());

    async function message(status: 'pending' | 'sent' | 'failed' | 'skipped', createdAt: number): Promise<string> {
      const at = new Date(createdAt);
      const row = await db
        .insertInto('email_outbox')
        .values({ user_id: userId, kind: 'review-due', urgent: false, subject: 's', body: 'b', sealed: null, dedupe_key: null, status, created_at: at, next_attempt_at: at, locked_until: null, sent_at: null, last_error: null })
        .returning('id')
        .executeTakeFirstOrThrow();
      return row.id;
    }
    const remaining = async () => (await db.selectFrom('email_outbox').select('id').execute()).map((r) => r.id).sort();
    const limitKeys = async () => (await db.selectFrom('email_rate_limits').select('key').execute()).map((r) => r.key).sort();

    test('finished messages older than the retention go; pending ones and recent ones stay; stale rate limits go', async () => {
      const now = Date.now();
      const oldSent = await message('sent', now - FINISHED_RETENTION_MS - DAY);
      const oldFailed = await message('failed', now - FINISHED_RETENTION_MS - DAY);
      const oldSkipped = await message('skipped', now - FINISHED_RETENTION_MS - DAY);
      const oldPending = await message('pending', now - FINISHED_RETENTION_MS - DAY);
      const recentSent = await message('sent', now - DAY);
      await db
        .insertInto('email_rate_limits')
        .values([
          { key: 'client:198.51.100.7', window_start: new Date(now - RATE_LIMIT_RETENTION_MS - 60_000), used: 3 },
          { key: 'client:198.51.100.8', window_start: new Date(now - 60_000), used: 1 },
        ])
        .execute();

      assert.deepEqual(await pruneOutbox(db, now), { messages: 3, limits: 1 });
      const left = await remaining();
      for (const id of [oldSent, oldFailed, oldSkipped]) assert.ok(!left.includes(id));
      assert.deepEqual(left, [oldPending, recentSent].sort());
      assert.deepEqual(await limitKeys(), ['client:198.51.100.8']);
    });

    test('a sending process prunes on its first pass, then not again within the hour', async () => {
      const transport: MailTransport = { sendMail: async () => undefined };
      let clock = Date.now();
      const dispatcher = new EmailDispatcher({ db, transport, box: new SecretBox(secretKey(Buffer.alloc(32, 3))), from: 'x@acme.test', baseUrl: 'http://localhost', now: () => clock });
      const stale = await message('sent', clock - FINISHED_RETENTION_MS - DAY);
      await dispatcher.runOnce();
      assert.ok(!(await remaining()).includes(stale), 'pruned on the first pass');
      const staleAgain = await message('sent', clock - FINISHED_RETENTION_MS - DAY);
      clock += 30 * 60_000;
      await dispatcher.runOnce();
      assert.ok((await remaining()).includes(staleAgain), 'not again within the hour');
      clock += 31 * 60_000;
      await dispatcher.runOnce();
      assert.ok(!(await remaining()).includes(staleAgain), 'pruned again after an hour');
      await dispatcher.stop();
    });
  });
}
