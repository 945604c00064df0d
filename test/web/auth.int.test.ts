import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../../src/web/app.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { cookiesOf, createTestApp, csrfFrom, login, PASSWORD, type TestApp } from '../helpers/test-app.ts';

const form = 'application/x-www-form-urlencoded';
const INTERNAL = '/acme/handbook/policies/data-handling';

for (const target of databaseTargets()) {
  describe(`sign-in and sessions (${target.name})`, () => {
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

    async function loginForm() {
      const page = await t.app.inject({ method: 'GET', url: '/login' });
      return { cookie: cookiesOf(page), csrf: csrfFrom(page.body) };
    }

    async function postLogin(email: string, password: string, extraCookie = '') {
      const { cookie, csrf } = await loginForm();
      return t.app.inject({
        method: 'POST',
        url: '/login',
        headers: { cookie: [cookie, extraCookie].filter(Boolean).join('; '), 'content-type': form },
        payload: new URLSearchParams({ email, password, _csrf: csrf, next: '/acme/handbook/' }).toString(),
      });
    }

    test('a correct password starts a session in an httpOnly SameSite=Lax cookie', async () => {
      const res = await postLogin('viewer@acme.test', PASSWORD);
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers.location, '/acme/handbook/');
      const session = res.cookies.find((c) => c.name === 'dc_session');
      assert.ok(session);
      assert.equal(session.httpOnly, true);
      assert.equal(session.sameSite, 'Lax');
      assert.equal(session.path, '/');
      assert.ok(session.value.length >= 43, '256-bit id');
    });

    test('unknown email and wrong password get the same answer', async () => {
      const unknown = await postLogin('nobody@acme.test', PASSWORD);
      const wrong = await postLogin('viewer@acme.test', 'not the right password');
      assert.equal(unknown.statusCode, 401);
      assert.equal(wrong.statusCode, 401);
      const strip = (b: string) => b.replace(/value="[^"]*"/g, '');
      assert.equal(strip(unknown.body).replace('nobody@acme.test', 'X'), strip(wrong.body).replace('viewer@acme.test', 'X'));
      assert.match(wrong.body, /Email or password is incorrect/);
    });

    test('sign-in without a valid CSRF token is refused', async () => {
      const { cookie } = await loginForm();
      const res = await t.app.inject({
        method: 'POST',
        url: '/login',
        headers: { cookie, 'content-type': form },
        payload: new URLSearchParams({ email: 'viewer@acme.test', password: PASSWORD, _csrf: 'forged' }).toString(),
      });
      assert.equal(res.statusCode, 403);
      assert.equal(res.cookies.find((c) => c.name === 'dc_session'), undefined);
    });

    test('a cross-site Origin is refused even with a valid token', async () => {
      const { cookie, csrf } = await loginForm();
      const res = await t.app.inject({
        method: 'POST',
        url: '/login',
        headers: { cookie, 'content-type': form, origin: 'https://evil.example' },
        payload: new URLSearchParams({ email: 'viewer@acme.test', password: PASSWORD, _csrf: csrf }).toString(),
      });
      assert.equal(res.statusCode, 403);
    });

    test('a session id planted before sign-in is replaced, and the planted one is dead', async () => {
      const attacker = await t.login('member@acme.test');
      assert.equal((await t.app.inject({ method: 'GET', url: INTERNAL, headers: { cookie: attacker } })).statusCode, 200);
      const res = await postLogin('viewer@acme.test', PASSWORD, attacker);
      const fresh = res.cookies.find((c) => c.name === 'dc_session')!.value;
      assert.notEqual(`dc_session=${fresh}`, attacker);
      const replay = await t.app.inject({ method: 'GET', url: INTERNAL, headers: { cookie: attacker } });
      assert.equal(replay.statusCode, 303, 'planted session no longer signs anyone in');
    });

    test('sign-out ends the session on the server; a replayed cookie is anonymous', async () => {
      const cookie = await t.login('viewer@acme.test');
      assert.equal((await t.app.inject({ method: 'GET', url: INTERNAL, headers: { cookie } })).statusCode, 200, 'signed in before');
      const page = await t.app.inject({ method: 'GET', url: '/logout', headers: { cookie } });
      const noToken = await t.app.inject({ method: 'POST', url: '/logout', headers: { cookie, 'content-type': form }, payload: '' });
      assert.equal(noToken.statusCode, 403, 'sign-out needs the CSRF token');
      const out = await t.app.inject({
        method: 'POST',
        url: '/logout',
        headers: { cookie, 'content-type': form },
        payload: `_csrf=${encodeURIComponent(csrfFrom(page.body))}`,
      });
      assert.equal(out.statusCode, 303);
      const replay = await t.app.inject({ method: 'GET', url: INTERNAL, headers: { cookie } });
      assert.equal(replay.statusCode, 303);
      assert.match(String(replay.headers.location), /^\/login/);
    });

    test('a disabled account cannot sign in and its sessions stop working', async () => {
      const cookie = await t.login('manager@acme.test');
      assert.equal((await t.app.inject({ method: 'GET', url: INTERNAL, headers: { cookie } })).statusCode, 200, 'signed in before');
      await t.context.db.updateTable('users').set({ disabled_at: new Date() }).where('email', '=', 'manager@acme.test').execute();
      const user = await t.context.db.selectFrom('users').select('id').where('email', '=', 'manager@acme.test').executeTakeFirstOrThrow();
      await t.context.sessions.destroyAllFor(user.id);
      const replay = await t.app.inject({ method: 'GET', url: INTERNAL, headers: { cookie } });
      assert.equal(replay.statusCode, 303);
      assert.equal((await postLogin('manager@acme.test', PASSWORD)).statusCode, 401);
    });

    test('next= only accepts same-site paths', async () => {
      const { cookie, csrf } = await loginForm();
      for (const next of ['//evil.example/x', 'https://evil.example', '/\\evil.example']) {
        const res = await t.app.inject({
          method: 'POST',
          url: '/login',
          headers: { cookie, 'content-type': form },
          payload: new URLSearchParams({ email: 'viewer@acme.test', password: PASSWORD, _csrf: csrf, next }).toString(),
        });
        assert.equal(res.headers.location, '/', next);
      }
    });

    test('100 sign-in attempts sent at once for one account: at most 5 passwords are checked, the right one last is refused', async () => {
      await t.context.db.deleteFrom('auth_failures').execute();
      // The throttle's clock stands still, so the progressive delay cannot pass while this machine is busy.
      const frozen = Date.now();
      const app = (await buildApp(t.context, { authNow: () => frozen })).app;
      const { cookie, csrf } = await loginForm();
      const attempt = (password: string) =>
        app.inject({
          method: 'POST',
          url: '/login',
          headers: { cookie, 'content-type': form },
          payload: new URLSearchParams({ email: 'member@acme.test', password, _csrf: csrf, next: '/' }).toString(),
        });
      const passwords = [...Array.from({ length: 99 }, (_, i) => `wrong guess number ${i}`), PASSWORD];
      const answers = await Promise.all(passwords.map(attempt));
      const checked = answers.filter((r) => r.statusCode !== 429);
      assert.ok(checked.length <= 5, `${checked.length} passwords were checked`);
      assert.ok(checked.every((r) => r.statusCode === 401), 'every checked guess was wrong');
      assert.equal(answers.length - checked.length, 100 - checked.length, 'the rest were refused by the throttle');
      assert.equal(answers.at(-1)!.statusCode, 429, 'the right password, sent after the limit was reached, does not sign in');
      assert.equal(answers.at(-1)!.cookies.find((c) => c.name === 'dc_session'), undefined);
      await app.close();
      await t.context.db.deleteFrom('auth_failures').execute();
    });

    test('a non-ASCII next= is percent-encoded, never a raw 500: /login?next=/%EF%BC%8F and a posted next=/é, over a real socket', async () => {
      const app = (await buildApp(t.context)).app;
      await app.listen({ host: '127.0.0.1', port: 0 });
      try {
        const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
        const cookie = await login(app, 'viewer@acme.test', PASSWORD);
        const signedIn = await fetch(`${base}/login?next=/%EF%BC%8F`, { redirect: 'manual', headers: { cookie, accept: 'text/html' } });
        assert.equal(signedIn.status, 303);
        assert.equal(signedIn.headers.get('location'), '/%EF%BC%8F', 'one path segment on this site');
        assert.ok(signedIn.headers.get('content-security-policy'));
        const anonymous = await fetch(`${base}/login?next=/%EF%BC%8F`, { headers: { accept: 'text/html' } });
        assert.equal(anonymous.status, 200);
        assert.match(await anonymous.text(), /name="next" value="\/%EF%BC%8F"/);

        const page = await fetch(`${base}/login`);
        const formCookie = page.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
        const posted = await fetch(`${base}/login`, {
          method: 'POST',
          redirect: 'manual',
          headers: { cookie: formCookie, 'content-type': form, origin: base, accept: 'text/html' },
          body: new URLSearchParams({ email: 'viewer@acme.test', password: PASSWORD, _csrf: csrfFrom(await page.text()), next: '/é' }).toString(),
        });
        assert.equal(posted.status, 303);
        assert.equal(posted.headers.get('location'), '/%C3%A9');
        assert.ok(posted.headers.get('content-security-policy'));
      } finally {
        await app.close();
      }
    });

    test('the session id is stored only as a hash', async () => {
      const cookie = await t.login('viewer@acme.test');
      const id = cookie.split('=')[1]!;
      const rows = await t.context.db.selectFrom('sessions').select('id_hash').execute();
      assert.ok(rows.length > 0);
      assert.ok(rows.every((r) => r.id_hash !== id));
    });
  });
}
