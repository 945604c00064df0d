import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SessionStore } from '../../src/auth/sessions.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * `SessionStore.peek` answers the authentication hook of every request from memory, without a promise. It must never
 * answer what `lookup` would refuse: a session revoked, ended, of a user disabled or forgotten (another process told
 * us), expired or idle, pending a second factor — nor one not checked within the last few seconds.
 */
for (const target of databaseTargets()) {
  describe(`a session answered from memory (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
    });
    after(async () => {
      await t.close();
      await dispose();
    });

    const userId = async (email: string) => (await t.context.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id;

    test('only a session looked up within the last seconds, and the same one lookup answered', async () => {
      let clock = Date.now();
      const store = new SessionStore(t.context.db, () => clock);
      const { id } = await store.create(await userId('member@acme.test'));
      const fresh = new SessionStore(t.context.db, () => clock);
      assert.equal(fresh.peek(id), undefined, 'never looked up in this store: no answer from memory');
      const looked = await fresh.lookup(id);
      assert.ok(looked);
      assert.equal(fresh.peek(id), looked, 'remembered: the same session');
      clock += 5_000;
      assert.equal(fresh.peek(id), undefined, 'checked too long ago: lookup must ask the database');
      assert.equal(fresh.peek('short'), undefined);
      assert.equal(fresh.peek(`${id}x`), undefined, 'another cookie value');
    });

    test('revoked, ended, forgotten or disabled: never answered from memory', async () => {
      const store = new SessionStore(t.context.db);
      const user = await userId('manager@acme.test');
      const sessions = await Promise.all([1, 2, 3, 4].map(() => store.create(user)));
      for (const { id } of sessions) assert.ok(await store.lookup(id));
      for (const { id } of sessions) assert.ok(store.peek(id));

      await store.destroy(sessions[0]!.id);
      assert.equal(store.peek(sessions[0]!.id), undefined, 'signed out');
      assert.equal(await store.revoke(sessions[1]!.session.idHash, user), true);
      assert.equal(store.peek(sessions[1]!.id), undefined, 'revoked from the account page');
      store.dropUser(user); // what another process's notification does (role change, disabled account)
      assert.equal(store.peek(sessions[2]!.id), undefined, 'forgotten on a notification');
      assert.ok(await store.lookup(sessions[3]!.id));
      store.dropAll();
      assert.equal(store.peek(sessions[3]!.id), undefined, 'forgotten by a command');
      await store.destroyAllFor(user);
      assert.equal(await store.lookup(sessions[3]!.id), null);
      assert.equal(store.peek(sessions[3]!.id), undefined);
    });

    test('idle, expired, due for last_seen_at or pending: lookup decides', async () => {
      let clock = Date.now();
      const store = new SessionStore(t.context.db, () => clock);
      const user = await userId('member@acme.test');
      const pending = await store.create(user, { pending: 'mfa' });
      assert.equal(await store.lookupPending(pending.id).then((s) => s?.idHash), pending.session.idHash);
      assert.equal(store.peek(pending.id), undefined, 'a pending session signs nobody in');

      const { id } = await store.create(user);
      const session = await store.lookup(id);
      assert.ok(session);
      // the touch of last_seen_at is due: lookup writes it, so peek leaves it to lookup
      session.lastSeenAt = clock - 60_000;
      assert.equal(store.peek(id), undefined);
      session.lastSeenAt = clock - session.idleMs;
      assert.equal(store.peek(id), undefined, 'idle');
      session.lastSeenAt = clock;
      session.expiresAt = clock;
      assert.equal(store.peek(id), undefined, 'expired');
      session.expiresAt = clock + 60_000;
      assert.equal(store.peek(id), session);
      clock += 1;
      assert.equal(await store.lookup(id), session);
    });
  });
}
