import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { upsertAccount } from '../../src/auth/accounts.ts';
import { base32Decode, hotp, timeStep } from '../../src/auth/totp.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { cookiesOf, createTestApp, csrfFrom, PASSWORD, submitLogin, type TestApp } from '../helpers/test-app.ts';

const NEW_PASSWORD = 'a brand new passphrase of mine';

for (const target of databaseTargets()) {
  describe(`first-sign-in password and reset links (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    const ids: Record<string, string> = {};

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      for (const row of await t.context.db.selectFrom('users').select(['id', 'email']).execute()) ids[row.email] = row.id;
    });
    after(async () => {
      await t.close();
      await dispose();
    });

    const get = (url: string, cookie?: string) => t.app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} });
    async function postForm(url: string, cookie: string, page: string, fields: Record<string, string>) {
      return t.app.inject({
        method: 'POST',
        url,
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ ...fields, _csrf: csrfFrom(page) }).toString(),
      });
    }
    const actions = async (action: string) =>
      asDatabaseOwner(t.context.db, (owner) =>
        owner.selectFrom('audit_events').select(['action', 'target_id', 'details']).where('action', '=', action).execute(),
      );

    test('a generated password must be replaced at first sign-in: every page is signed out until it is', async () => {
      const { user, generatedPassword } = await upsertAccount(t.context.db, { email: 'fresh@acme.test', orgSlug: 'acme', role: 'member' });
      assert.ok(generatedPassword);
      const signIn = await submitLogin(t.app, 'fresh@acme.test', generatedPassword);
      assert.equal(signIn.statusCode, 303);
      assert.match(String(signIn.headers.location), /^\/login\/password\?next=/);
      const pending = cookiesOf(signIn);
      // The pending session grants nothing: the project list is the anonymous one, a member page asks to sign in.
      assert.doesNotMatch((await get('/', pending)).body, /Sign out/);
      assert.equal((await get('/acme/-/access-requests', pending)).statusCode, 303);
      const page = await get('/login/password', pending);
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /Choose your own password/);
      const cookie = `${pending}; ${cookiesOf(page)}`;
      const same = await postForm('/login/password', cookie, page.body, { password: generatedPassword, next: '/' });
      assert.equal(same.statusCode, 400, 'the given password is not a new one');
      const changed = await postForm('/login/password', cookie, page.body, { password: NEW_PASSWORD, next: '/' });
      assert.equal(changed.statusCode, 303);
      assert.equal(changed.headers.location, '/');
      const full = cookiesOf(changed).split('; ').find((c) => c.startsWith('dc_session='))!;
      assert.match((await get('/', full)).body, /Sign out/);
      const row = await t.context.db.selectFrom('users').select('password_must_change').where('id', '=', user.id).executeTakeFirstOrThrow();
      assert.equal(row.password_must_change, false);
      assert.equal((await submitLogin(t.app, 'fresh@acme.test', generatedPassword)).statusCode, 401, 'the old one is gone');
      assert.equal((await submitLogin(t.app, 'fresh@acme.test', NEW_PASSWORD)).headers.location, '/');
      const events = await actions('auth.password_changed');
      assert.ok(events.some((e) => e.target_id === user.id && (e.details as { first_sign_in?: boolean }).first_sign_in === true));
    });

    test('an operator-given password is kept unless marked must-change', async () => {
      await upsertAccount(t.context.db, { email: 'given@acme.test', orgSlug: 'acme', role: 'member', password: PASSWORD });
      assert.equal((await submitLogin(t.app, 'given@acme.test')).headers.location, '/');
      await upsertAccount(t.context.db, { email: 'given@acme.test', orgSlug: 'acme', role: 'member', password: PASSWORD, mustChange: true });
      assert.match(String((await submitLogin(t.app, 'given@acme.test')).headers.location), /^\/login\/password/);
    });

    test('with two-step verification enrolled, the code comes first and the new password after it', async () => {
      await upsertAccount(t.context.db, { email: 'mfa@acme.test', orgSlug: 'acme', role: 'member', password: PASSWORD });
      const cookie = await t.login('mfa@acme.test');
      const enroll = await get('/-/account/security/enroll', cookie);
      const key = base32Decode(/id="mfa-secret"[^>]*>([^<]+)</.exec(enroll.body)![1]!);
      const step = () => timeStep(Date.now() / 1000);
      assert.equal((await postForm('/-/account/security/enroll', cookie, enroll.body, { code: hotp(key, step()) })).statusCode, 200);
      await asDatabaseOwner(t.context.db, (owner) =>
        owner.updateTable('users').set({ password_must_change: true }).where('email', '=', 'mfa@acme.test').execute(),
      );
      const signIn = await submitLogin(t.app, 'mfa@acme.test');
      assert.match(String(signIn.headers.location), /^\/login\/mfa\?/);
      const challenge = await get('/login/mfa', cookiesOf(signIn));
      const cookies = `${cookiesOf(signIn)}; ${cookiesOf(challenge)}`;
      const passed = await postForm('/login/mfa', cookies, challenge.body, { code: hotp(key, step() + 1), next: '/' });
      assert.equal(passed.statusCode, 303);
      assert.match(String(passed.headers.location), /^\/login\/password\?next=/);
      const pending = cookiesOf(passed);
      assert.doesNotMatch((await get('/', pending)).body, /Sign out/, 'still nothing before the new password');
      const page = await get('/login/password', pending);
      const done = await postForm('/login/password', `${pending}; ${cookiesOf(page)}`, page.body, { password: NEW_PASSWORD, next: '/' });
      assert.equal(done.statusCode, 303);
      assert.equal(done.headers.location, '/');
      assert.match((await get('/', cookiesOf(done).split('; ').find((c) => c.startsWith('dc_session=')))).body, /Sign out/);
    });

    async function issue(issuer: string, targetEmail: string) {
      const cookie = await t.login(issuer);
      const members = await get('/acme/-/members', cookie);
      return postForm(`/acme/-/members/${ids[targetEmail]}/password-reset`, cookie, members.body, {});
    }

    test('the same role rules as role changes: below admin, oneself and a higher rank are refused', async () => {
      assert.equal((await issue('manager@acme.test', 'member@acme.test')).statusCode, 403, 'like a role change by a manager');
      assert.equal((await issue('admin@acme.test', 'owner@acme.test')).statusCode, 403);
      assert.equal((await issue('admin@acme.test', 'admin@acme.test')).statusCode, 403);
      assert.equal((await issue('member@globex.test', 'member@acme.test')).statusCode, 404);
      const rows = await asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('password_resets').select('id').execute());
      assert.equal(rows.length, 0);
    });

    test('a reset link is shown once, stored hashed, works once, ends every session and is audited', async () => {
      const victimSession = await t.login('viewer@acme.test');
      const issued = await issue('admin@acme.test', 'viewer@acme.test');
      assert.equal(issued.statusCode, 200);
      const link = /value="(http:\/\/[^"]+\/password-reset\/([A-Za-z0-9_-]{43}))"/.exec(issued.body);
      assert.ok(link, 'the link is on the page');
      const token = link[2]!;
      const stored = await asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('password_resets').select('token_hash').execute());
      assert.equal(stored.length, 1);
      assert.notEqual(stored[0]!.token_hash, token);
      assert.equal((await get('/acme/-/members', await t.login('admin@acme.test'))).body.includes(token), false, 'shown only once');

      const form = await get(`/password-reset/${token}`);
      assert.equal(form.statusCode, 200);
      assert.equal(form.headers['referrer-policy'], 'same-origin', 'the token never leaves in a Referer');
      assert.equal(form.headers['cache-control'], 'no-store');
      assert.match(form.body, /viewer@acme\.test/);
      const weak = await postForm(`/password-reset/${token}`, cookiesOf(form), form.body, { password: 'short' });
      assert.equal(weak.statusCode, 400);
      const used = await postForm(`/password-reset/${token}`, cookiesOf(form), form.body, { password: NEW_PASSWORD });
      assert.equal(used.statusCode, 200);
      assert.match(used.body, /Your password is set/);
      assert.doesNotMatch((await get('/', victimSession)).body, /Sign out/, 'the member’s sessions ended');
      assert.equal((await submitLogin(t.app, 'viewer@acme.test', NEW_PASSWORD)).headers.location, '/');
      assert.equal((await get(`/password-reset/${token}`)).statusCode, 410, 'single use');
      const again = await postForm(`/password-reset/${token}`, cookiesOf(form), form.body, { password: 'another fine passphrase' });
      assert.equal(again.statusCode, 410);
      assert.equal((await get('/password-reset/not-a-token')).statusCode, 410);

      const issuedEvents = await actions('member.password_reset_issued');
      assert.equal(issuedEvents.length, 1);
      assert.equal(issuedEvents[0]!.target_id, ids['viewer@acme.test']);
      assert.equal(JSON.stringify(issuedEvents).includes(token), false, 'no token in the audit log');
      const usedEvents = await actions('auth.password_reset_used');
      assert.equal(usedEvents.length, 1);
    });

    test('an expired link cannot be used', async () => {
      const issued = await issue('owner@acme.test', 'manager@acme.test');
      const token = /\/password-reset\/([A-Za-z0-9_-]{43})/.exec(issued.body)![1]!;
      await asDatabaseOwner(t.context.db, (owner) =>
        owner.updateTable('password_resets').set({ expires_at: new Date(Date.now() - 1000) }).where('used_at', 'is', null).execute(),
      );
      const page = await get(`/password-reset/${token}`);
      assert.equal(page.statusCode, 410);
      assert.match(page.body, /expired/);
    });
  });
}
