import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { upsertAccount } from '../../src/auth/accounts.ts';
import { isWellFormedToken, verifyToken } from '../../src/auth/tokens.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { createTestApp, csrfFrom, PASSWORD, submitLogin, type TestApp } from '../helpers/test-app.ts';

const form = 'application/x-www-form-urlencoded';

for (const target of databaseTargets()) {
  describe(`account pages: sessions and tokens (${target.name})`, () => {
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

    const get = (url: string, cookie = '') => t.app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} });
    const post = (url: string, cookie: string, fields: Record<string, string>) =>
      t.app.inject({ method: 'POST', url, headers: { cookie, 'content-type': form }, payload: new URLSearchParams(fields).toString() });
    /** POST a form as the page at `pageUrl` would (with its CSRF token). */
    async function submit(pageUrl: string, cookie: string, url: string, fields: Record<string, string>) {
      const page = await get(pageUrl, cookie);
      assert.equal(page.statusCode, 200, `GET ${pageUrl}`);
      return post(url, cookie, { ...fields, _csrf: csrfFrom(page.body) });
    }
    const handles = (html: string) => [...html.matchAll(/name="session" value="([^"]+)"/g)].map((m) => m[1]!);
    async function createViaForm(cookie: string, fields: Record<string, string>) {
      return submit('/-/account/tokens/new', cookie, '/-/account/tokens/new', fields);
    }
    const tokenIn = (html: string) => /id="new-token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*id="new-token"/.exec(html)?.slice(1).find(Boolean);

    test('anonymous visitors are sent to sign in', async () => {
      for (const url of ['/-/account', '/-/account/sessions', '/-/account/tokens', '/-/account/tokens/new']) {
        const res = await get(url);
        assert.equal(res.statusCode, 303, url);
        assert.match(String(res.headers.location), /^\/login\?next=/);
      }
    });

    test('the overview shows name, email, memberships with roles, and is not cached', async () => {
      const cookie = await t.login('manager@acme.test');
      const res = await get('/-/account', cookie);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.match(res.body, /Acme manager/);
      assert.match(res.body, /manager@acme\.test/);
      assert.match(res.body, /Manager<\/span>/);
      assert.match(res.body, /href="\/-\/account"[^>]*>Account</, 'top bar links to the account');
    });

    test('sessions: the list marks this browser; another can be revoked and stops working at once', async () => {
      const phone = await t.login('member@acme.test');
      const laptop = await t.login('member@acme.test');
      const page = await get('/-/account/sessions', laptop);
      assert.match(page.body, /This browser/);
      const others = handles(page.body);
      assert.equal(others.length, 1, 'the current session has no revoke button; the other one does');
      const res = await post('/-/account/sessions/revoke', laptop, { session: others[0]!, _csrf: csrfFrom(page.body) });
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers.location, '/-/account/sessions?notice=revoked');
      assert.equal((await get('/-/account', phone)).statusCode, 303, 'the revoked session is signed out');
      assert.equal((await get('/-/account', laptop)).statusCode, 200);
    });

    test('sessions: revoking without a CSRF token is refused', async () => {
      const victim = await t.login('member@acme.test');
      const attacker = await t.login('member@acme.test');
      const page = await get('/-/account/sessions', attacker);
      const res = await post('/-/account/sessions/revoke', attacker, { session: handles(page.body)[0]! });
      assert.equal(res.statusCode, 403);
      assert.equal((await get('/-/account', victim)).statusCode, 200);
    });

    test("another user cannot revoke your session: 404, and it keeps working", async () => {
      const owner = await t.login('viewer@acme.test');
      const other = await t.login('viewer@acme.test');
      const theirHandle = handles((await get('/-/account/sessions', other)).body).at(0)!;
      const intruder = await t.login('member@globex.test');
      const res = await submit('/-/account/sessions', intruder, '/-/account/sessions/revoke', { session: theirHandle });
      assert.equal(res.statusCode, 404);
      assert.equal((await get('/-/account', owner)).statusCode, 200);
      assert.equal((await get('/-/account', other)).statusCode, 200);
    });

    test('sign out everywhere else ends every other session and keeps this one', async () => {
      const a = await t.login('admin@acme.test');
      const b = await t.login('admin@acme.test');
      const here = await t.login('admin@acme.test');
      const res = await submit('/-/account/sessions', here, '/-/account/sessions/revoke-others', {});
      assert.equal(res.statusCode, 303);
      assert.equal((await get('/-/account', a)).statusCode, 303);
      assert.equal((await get('/-/account', b)).statusCode, 303);
      const page = await get('/-/account/sessions', here);
      assert.equal(page.statusCode, 200);
      assert.equal(handles(page.body).length, 0);
      const events = await asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('audit_events').select(['action', 'details']).where('action', '=', 'auth.session_revoked').execute());
      assert.ok(events.some((e) => JSON.stringify(e.details).includes('all_others')));
    });

    test('creating a token shows it once, no-store, stores only its hash, and lists it by prefix', async () => {
      const cookie = await t.login('member@acme.test');
      const res = await createViaForm(cookie, { name: 'Laptop git', access: 'write', expires: '90' });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['cache-control'], 'no-store');
      const token = tokenIn(res.body);
      assert.ok(token && isWellFormedToken(token), 'the page shows the token');
      assert.match(res.body, /shown only once/);
      const list = await get('/-/account/tokens', cookie);
      assert.ok(!list.body.includes(token), 'never shown again');
      assert.ok(list.body.includes(token.slice(0, 14)), 'listed by its prefix');
      assert.match(list.body, /Laptop git/);
      assert.match(list.body, /Read and write/);
      assert.match(list.body, /Never used/);
      const actor = await verifyToken(t.context.db, token);
      assert.deepEqual(actor?.via?.scopes, ['read', 'write']);
      const audit = await asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('audit_events').selectAll().where('action', '=', 'token.created').execute());
      assert.ok(audit.length > 0);
      assert.ok(!JSON.stringify(audit).includes(token.slice(6)), 'the audit log never holds the token');
    });

    test('token creation needs a recent re-authentication', async () => {
      const cookie = await t.login('member@acme.test');
      const page = await get('/-/account/tokens/new', cookie);
      const csrf = csrfFrom(page.body);
      // Age the sign-in's re-authentication past its window.
      await t.context.db.updateTable('sessions').set({ reauthenticated_at: new Date(Date.now() - 60 * 60 * 1000) }).execute();
      t.context.sessions.invalidateUser((await t.context.db.selectFrom('users').select('id').where('email', '=', 'member@acme.test').executeTakeFirstOrThrow()).id);
      const res = await post('/-/account/tokens/new', cookie, { _csrf: csrf, name: 'late', access: 'read', expires: '30' });
      assert.equal(res.statusCode, 303);
      assert.match(String(res.headers.location), /^\/-\/reauth\?next=/);
      assert.equal((await get('/-/account/tokens/new', cookie)).statusCode, 303);
    });

    test('invalid token forms are shown again with the problem', async () => {
      const cookie = await t.login('member@acme.test');
      const noName = await createViaForm(cookie, { name: '  ', access: 'read', expires: '30' });
      assert.equal(noName.statusCode, 400);
      assert.match(noName.body, /Give the token a name/);
      const tooLong = await createViaForm(cookie, { name: 'x', access: 'read', expires: '400' });
      assert.equal(tooLong.statusCode, 400);
      const badScope = await createViaForm(cookie, { name: 'x', access: 'admin', expires: '30' });
      assert.equal(badScope.statusCode, 400);
    });

    test("revoking a token over HTTP works for its owner and is 404 for anyone else", async () => {
      const cookie = await t.login('viewer@acme.test');
      const created = await createViaForm(cookie, { name: 'to revoke', access: 'read', expires: '7' });
      const token = tokenIn(created.body)!;
      const list = await get('/-/account/tokens', cookie);
      const id = /action="\/-\/account\/tokens\/([0-9a-f-]{36})\/revoke"/.exec(list.body)?.[1];
      assert.ok(id);
      const intruder = await t.login('member@globex.test');
      const denied = await submit('/-/account/tokens', intruder, `/-/account/tokens/${id}/revoke`, {});
      assert.equal(denied.statusCode, 404);
      assert.ok(await verifyToken(t.context.db, token));
      const revoked = await post(`/-/account/tokens/${id}/revoke`, cookie, { _csrf: csrfFrom(list.body) });
      assert.equal(revoked.statusCode, 303);
      assert.equal(await verifyToken(t.context.db, token), null, 'dead on the next request');
      assert.match((await get('/-/account/tokens?notice=revoked', cookie)).body, /Revoked/);
    });

    test("a disabled user's sessions and tokens die at once", async () => {
      const cookie = await t.login('owner@acme.test');
      const created = await createViaForm(cookie, { name: 'owner token', access: 'write', expires: '30' });
      const token = tokenIn(created.body)!;
      const user = await t.context.db.selectFrom('users').select('id').where('email', '=', 'owner@acme.test').executeTakeFirstOrThrow();
      await t.context.db.updateTable('users').set({ disabled_at: new Date() }).where('id', '=', user.id).execute();
      // What the disabling service does; tokens need nothing: they are checked against the database every time.
      t.context.sessions.invalidateUser(user.id);
      assert.equal(await verifyToken(t.context.db, token), null);
      assert.equal((await get('/-/account', cookie)).statusCode, 303);
    });

    describe('changing the email address', () => {
      const emailOf = async (id: string) => (await t.context.db.selectFrom('users').select('email').where('id', '=', id).executeTakeFirstOrThrow()).email;
      const emailEvents = () => asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('audit_events').selectAll().where('action', '=', 'auth.email_changed').execute());
      /** A fresh account in acme and globex, signed in (so its re-authentication is recent). */
      async function mover(name: string) {
        const email = `${name}@acme.test`;
        const { user } = await upsertAccount(t.context.db, { email, orgSlug: 'acme', role: 'member', password: PASSWORD, name: `Mover ${name}` });
        await upsertAccount(t.context.db, { email, orgSlug: 'globex', role: 'viewer' });
        return { id: user.id, email, cookie: await t.login(email) };
      }
      const signIn = (email: string) => submitLogin(t.app, email);

      test('the new address is lowercased, shown at once, used for sign-in, and audited in each of the user’s organizations', async () => {
        const me = await mover('mover1');
        assert.match((await get('/-/account', me.cookie)).body, /href="\/-\/account\/email"/, 'linked from the overview');
        const res = await submit('/-/account/email', me.cookie, '/-/account/email', { email: '  Mover.New@Example.TEST ' });
        assert.equal(res.statusCode, 303);
        assert.equal(res.headers.location, '/-/account?notice=email');
        assert.equal(await emailOf(me.id), 'mover.new@example.test');
        const overview = await get('/-/account?notice=email', me.cookie);
        assert.match(overview.body, /Your email address was changed/);
        assert.match(overview.body, /mover\.new@example\.test/);
        // The session shows the new address at once (the old one appears only in the security activity list).
        assert.match(overview.body, /<p class="page-lead">mover\.new@example\.test<\/p>/);
        assert.match(overview.body, /class="topbar-user" title="mover\.new@example\.test"/);
        assert.match(overview.body, /changed from mover1@acme\.test to mover\.new@example\.test/);
        assert.equal((await signIn('mover.new@example.test')).statusCode, 303);
        assert.equal((await signIn('mover1@acme.test')).statusCode, 401);

        const events = (await emailEvents()).filter((e) => e.target_id === me.id);
        const orgs = await t.context.db.selectFrom('organizations').select(['id', 'slug']).execute();
        assert.deepEqual(events.map((e) => e.org_id).sort(), orgs.filter((o) => o.slug === 'acme' || o.slug === 'globex').map((o) => o.id).sort());
        for (const event of events) {
          const details = (typeof event.details === 'string' ? JSON.parse(event.details) : event.details) as Record<string, unknown>;
          assert.deepEqual(details, { from: 'mover1@acme.test', to: 'mover.new@example.test' });
          assert.equal(event.actor_id, me.id);
          assert.doesNotMatch(JSON.stringify(event), /correct horse/);
        }
      });

      test('an address another account has is refused with 409, saying no more than that', async () => {
        const me = await mover('mover2');
        const before = (await emailEvents()).length;
        for (const taken of ['viewer@acme.test', ' VIEWER@Acme.Test', 'member@globex.test']) {
          const res = await submit('/-/account/email', me.cookie, '/-/account/email', { email: taken });
          assert.equal(res.statusCode, 409, taken);
          assert.match(res.body, /That email address is already in use/);
          // nothing about the other account: not its name, not its organizations (beyond what was typed)
          assert.doesNotMatch(res.body.replaceAll(taken.trim(), ''), /Acme viewer|globex/i, taken);
        }
        assert.equal(await emailOf(me.id), 'mover2@acme.test');
        assert.equal((await emailEvents()).length, before);
        // the other account is untouched and still signs in
        assert.equal((await signIn('viewer@acme.test')).statusCode, 303);
      });

      test('invalid addresses are refused with a clear message and the form is shown again, escaped', async () => {
        const me = await mover('mover3');
        for (const [email, message] of [
          ['not-an-email', /is not a valid email address/],
          ['', /Enter the new email address/],
          ['a@b', /is not a valid email address/],
          ['<script>alert(1)</script>@x.test', /is not a valid email address/],
        ] as const) {
          const res = await submit('/-/account/email', me.cookie, '/-/account/email', { email });
          assert.equal(res.statusCode, 400, email);
          assert.match(res.body, message);
          assert.doesNotMatch(res.body, /<script>alert/);
        }
        assert.equal(await emailOf(me.id), 'mover3@acme.test');
      });

      test('attacks: no CSRF token, or a stale re-authentication: refused and unchanged', async () => {
        const me = await mover('mover4');
        const page = await get('/-/account/email', me.cookie);
        assert.equal(page.statusCode, 200);
        const noCsrf = await post('/-/account/email', me.cookie, { email: 'stolen@evil.test' });
        assert.equal(noCsrf.statusCode, 403);
        const otherSession = await t.login('member@acme.test');
        const foreignCsrf = await post('/-/account/email', me.cookie, { email: 'stolen@evil.test', _csrf: csrfFrom((await get('/-/account/sessions', otherSession)).body) });
        assert.equal(foreignCsrf.statusCode, 403, "another session's CSRF token");

        await t.context.db.updateTable('sessions').set({ reauthenticated_at: new Date(Date.now() - 60 * 60 * 1000) }).where('user_id', '=', me.id).execute();
        t.context.sessions.invalidateUser(me.id);
        const stale = await post('/-/account/email', me.cookie, { email: 'stolen@evil.test', _csrf: csrfFrom(page.body) });
        assert.equal(stale.statusCode, 303);
        assert.equal(stale.headers.location, `/-/reauth?next=${encodeURIComponent('/-/account/email')}`);
        assert.equal((await get('/-/account/email', me.cookie)).statusCode, 303, 'the form itself is behind re-authentication');
        assert.equal(await emailOf(me.id), 'mover4@acme.test');
        // anonymous: sent to sign in
        assert.equal((await get('/-/account/email')).statusCode, 303);
        assert.equal((await post('/-/account/email', '', { email: 'x@y.test' })).statusCode, 403);
      });
    });
  });
}
