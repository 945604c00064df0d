import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setAccountDisabled } from '../../src/auth/account-status.ts';
import { SessionStore } from '../../src/auth/sessions.ts';
import { createToken, verifyToken } from '../../src/auth/tokens.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { createTestApp, PASSWORD, type TestApp } from '../helpers/test-app.ts';

for (const target of databaseTargets()) {
  describe(`disabling an account (${target.name})`, () => {
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

    const sessionId = (cookie: string) => cookie.replace(/^dc_session=/, '');

    test('ends every session and token at once, is audited, and can be undone', async () => {
      const db = t.context.db;
      const cookie = await t.login('manager@acme.test');
      const user = await db.selectFrom('users').select('id').where('email', '=', 'manager@acme.test').executeTakeFirstOrThrow();
      const { token } = await createToken(db, { userId: user.id, name: 'laptop', scopes: ['read'] });
      assert.ok(await verifyToken(db, token), 'the token works before');
      assert.ok(await new SessionStore(db).lookup(sessionId(cookie)), 'the session works before');

      const result = await setAccountDisabled(db, { email: 'Manager@ACME.test', disabled: true, actorLabel: 'test', reason: 'left the company' });
      assert.deepEqual(result, { userId: user.id, changed: true });

      // Another process (no cached session) and the token check both refuse at once.
      assert.equal(await new SessionStore(db).lookup(sessionId(cookie)), null);
      assert.equal(await verifyToken(db, token), null);
      const sessions = await db.selectFrom('sessions').select('id_hash').where('user_id', '=', user.id).execute();
      assert.equal(sessions.length, 0);
      await assert.rejects(t.login('manager@acme.test', PASSWORD), /login of manager@acme.test failed/);

      const events = await asDatabaseOwner(db, (owner) =>
        owner.selectFrom('audit_events').select(['action', 'target_id', 'reason']).where('action', '=', 'auth.account_disabled').execute(),
      );
      assert.deepEqual(events, [{ action: 'auth.account_disabled', target_id: user.id, reason: 'left the company' }]);

      assert.deepEqual(await setAccountDisabled(db, { email: 'manager@acme.test', disabled: true, actorLabel: 'test' }), {
        userId: user.id,
        changed: false,
      });
      await setAccountDisabled(db, { email: 'manager@acme.test', disabled: false, actorLabel: 'test' });
      assert.ok(await verifyToken(db, token), 're-enabled: the token works again');
      assert.equal(await new SessionStore(db).lookup(sessionId(cookie)), null, 'ended sessions stay ended');
      assert.match(await t.login('manager@acme.test'), /^dc_session=/);
    });

    test("a disabled user's browser session is refused on the very next request in this process", async () => {
      const cookie = await t.login('member@acme.test');
      const page = '/acme/handbook/policies/data-handling';
      assert.equal((await t.app.inject({ method: 'GET', url: page, headers: { cookie } })).statusCode, 200, 'signed in (and remembered)');
      await setAccountDisabled(t.context.db, { email: 'member@acme.test', disabled: true, actorLabel: 'test' }, t.context.sessions);
      try {
        const next = await t.app.inject({ method: 'GET', url: page, headers: { cookie } });
        assert.equal(next.statusCode, 303);
        assert.match(String(next.headers.location), /^\/login/);
      } finally {
        await setAccountDisabled(t.context.db, { email: 'member@acme.test', disabled: false, actorLabel: 'test' }, t.context.sessions);
      }
    });

    test('an unknown email is a clear error and changes nothing', async () => {
      await assert.rejects(setAccountDisabled(t.context.db, { email: 'nobody@acme.test', disabled: true, actorLabel: 'test' }), /No account has the email nobody@acme.test/);
    });
  });
}
