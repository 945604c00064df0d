import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { Throttle } from '../../src/auth/throttle.ts';
import { base32Decode, hotp, timeStep } from '../../src/auth/totp.ts';
import { buildApp } from '../../src/web/app.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { cookiesOf, createTestApp, csrfFrom, PASSWORD, type TestApp } from '../helpers/test-app.ts';

const form = 'application/x-www-form-urlencoded';
const INTERNAL = '/acme/handbook/policies/data-handling';
/** Pages a pending (password-only) session must not reach. */
const GUARDED = ['/', '/acme/handbook', INTERNAL, '/-/account', '/-/account/security', '/-/account/sessions', '/-/account/tokens', '/-/reauth'];

const secretFrom = (html: string) => base32Decode(/id="mfa-secret"[^>]*>([^<]+)</.exec(html)![1]!);
const codesFrom = (html: string) => [...html.matchAll(/<li><code>([0-9a-z-]{19})<\/code><\/li>/g)].map((m) => m[1]!);
const step = () => timeStep(Date.now() / 1000);
/** Merge Set-Cookie of a response into a Cookie header (later values win). */
function withCookies(cookie: string, response: LightMyRequestResponse): string {
  const jar = new Map(cookie.split('; ').filter(Boolean).map((c) => [c.slice(0, c.indexOf('=')), c.slice(c.indexOf('=') + 1)]));
  for (const c of response.cookies) {
    if (c.value === '' || (c.expires && new Date(c.expires).getTime() < Date.now())) jar.delete(c.name);
    else jar.set(c.name, c.value);
  }
  return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
}

for (const target of databaseTargets()) {
  describe(`two-step verification over HTTP (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let key: Buffer;
    let recoveryCodes: string[];
    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
    });
    after(async () => {
      await t.close();
      await dispose();
    });

    const get = (url: string, cookie: string) => t.app.inject({ method: 'GET', url, headers: { cookie } });
    const post = (url: string, cookie: string, fields: Record<string, string>) =>
      t.app.inject({ method: 'POST', url, headers: { cookie, 'content-type': form }, payload: new URLSearchParams(fields).toString() });

    /** Password step of sign-in; returns the response and the browser's cookies after it. */
    async function passwordStep(email: string, password = PASSWORD, next = INTERNAL) {
      const page = await t.app.inject({ method: 'GET', url: '/login' });
      let cookie = cookiesOf(page);
      const res = await post('/login', cookie, { email, password, next, _csrf: csrfFrom(page.body) });
      cookie = withCookies(cookie, res);
      return { res, cookie };
    }

    /** A pending session is answered exactly like no session at all: a sign-in redirect, 401, or the public view. */
    async function assertGrantsNothing(cookie: string) {
      for (const url of GUARDED) {
        const pending = await get(url, cookie);
        const anonymous = await get(url, '');
        assert.equal(pending.statusCode, anonymous.statusCode, url);
        assert.equal(pending.headers.location, anonymous.headers.location, url);
        if (pending.statusCode === 303) assert.match(String(pending.headers.location), /^\/login/, url);
        assert.doesNotMatch(pending.body, /Sign out|Data handling/, url);
      }
    }

    async function auditActions(email: string) {
      const rows = await asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('audit_events').selectAll().where('actor_label', '=', email).orderBy('seq').execute());
      return rows;
    }

    test('enroll from the security page: QR code and key shown, confirmed with a code, ten recovery codes shown once', async () => {
      const cookie = await t.login('member@acme.test');
      const security = await get('/-/account/security', cookie);
      assert.equal(security.statusCode, 200);
      assert.match(security.body, /Two-step verification/);
      const page = await get('/-/account/security/enroll', cookie);
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /<svg class="mfa-qr"/);
      assert.match(page.body, /otpauth:\/\/totp\//);
      key = secretFrom(page.body);
      assert.equal(key.length, 20);
      const wrong = await post('/-/account/security/enroll', cookie, { _csrf: csrfFrom(page.body), code: hotp(key, step() + 3) });
      assert.equal(wrong.statusCode, 400);
      const done = await post('/-/account/security/enroll', cookie, { _csrf: csrfFrom(page.body), code: hotp(key, step()) });
      assert.equal(done.statusCode, 200);
      recoveryCodes = codesFrom(done.body);
      assert.equal(recoveryCodes.length, 10);
      assert.match((await get('/-/account/security', cookie)).body, /10 unused/);
    });

    test('password accepted but code pending: every page, API and account route gets a redirect to sign-in, never content', async () => {
      const { res, cookie } = await passwordStep('member@acme.test');
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers.location, `/login/mfa?next=${encodeURIComponent(INTERNAL)}`);
      await assertGrantsNothing(cookie);
      const json = await t.app.inject({ method: 'GET', url: INTERNAL, headers: { cookie, accept: 'application/json' } });
      assert.notEqual(json.statusCode, 200);
      const challenge = await get('/login/mfa', cookie);
      assert.equal(challenge.statusCode, 200);
      assert.match(challenge.body, /Enter your code/);
    });

    test('sign in with a TOTP code; the same code is refused the second time and audited', async () => {
      const first = await passwordStep('member@acme.test');
      const challenge = await get('/login/mfa', first.cookie);
      const bad = await post('/login/mfa', first.cookie, { _csrf: csrfFrom(challenge.body), code: '000000', next: INTERNAL });
      assert.equal(bad.statusCode, 401);
      assert.match(bad.body, /not correct/);
      const code = hotp(key, step() + 1); // the enrollment spent the current step
      const ok = await post('/login/mfa', first.cookie, { _csrf: csrfFrom(challenge.body), code, next: INTERNAL });
      assert.equal(ok.statusCode, 303);
      assert.equal(ok.headers.location, INTERNAL);
      const full = withCookies(first.cookie, ok);
      assert.notEqual(full, first.cookie, 'the session id is rotated on completion');
      assert.equal((await get(INTERNAL, full)).statusCode, 200);
      assert.notEqual((await get(INTERNAL, first.cookie)).statusCode, 200, 'the pending id is dead');

      const second = await passwordStep('member@acme.test');
      const page = await get('/login/mfa', second.cookie);
      const replay = await post('/login/mfa', second.cookie, { _csrf: csrfFrom(page.body), code, next: INTERNAL });
      assert.equal(replay.statusCode, 401);
      assert.match(replay.body, /already used/);
      const events = await auditActions('member@acme.test');
      assert.ok(events.some((e) => e.action === 'auth.mfa_failed' && e.reason === 'code reused'));
      assert.ok(events.some((e) => e.action === 'auth.mfa_verified'));
    });

    test('sign in with a recovery code; it works once', async () => {
      const first = await passwordStep('member@acme.test');
      const page = await get('/login/mfa', first.cookie);
      const ok = await post('/login/mfa', first.cookie, { _csrf: csrfFrom(page.body), code: recoveryCodes[0]!, next: INTERNAL });
      assert.equal(ok.statusCode, 303);
      assert.equal((await get(INTERNAL, withCookies(first.cookie, ok))).statusCode, 200);
      const again = await passwordStep('member@acme.test');
      const page2 = await get('/login/mfa', again.cookie);
      const reused = await post('/login/mfa', again.cookie, { _csrf: csrfFrom(page2.body), code: recoveryCodes[0]!, next: INTERNAL });
      assert.equal(reused.statusCode, 401);
      const events = await auditActions('member@acme.test');
      assert.equal(events.filter((e) => e.action === 'auth.recovery_code_used').length, 1);
      const all = JSON.stringify(await asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('audit_events').selectAll().execute()));
      for (const code of recoveryCodes) assert.ok(!all.includes(code), 'no recovery code in the audit log');
    });

    test('the MFA step needs its CSRF token', async () => {
      const { cookie } = await passwordStep('member@acme.test');
      const res = await post('/login/mfa', cookie, { _csrf: 'forged', code: recoveryCodes[1]! });
      assert.equal(res.statusCode, 403);
    });

    test('the 6th code within 5 minutes is throttled, even a correct one', async () => {
      await t.context.db.deleteFrom('auth_failures').execute();
      const { cookie } = await passwordStep('member@acme.test');
      const page = await get('/login/mfa', cookie);
      for (let i = 0; i < 5; i++) {
        const res = await post('/login/mfa', cookie, { _csrf: csrfFrom(page.body), code: '999999', next: INTERNAL });
        assert.equal(res.statusCode, 401, `attempt ${i + 1}`);
      }
      const sixth = await post('/login/mfa', cookie, { _csrf: csrfFrom(page.body), code: recoveryCodes[2]!, next: INTERNAL });
      assert.equal(sixth.statusCode, 429);
      assert.match(sixth.body, /Too many attempts/);
      await t.context.db.deleteFrom('auth_failures').execute();
    });

    test('120 codes sent at once: at most 5 are checked, and the right one sent last is refused', async () => {
      await t.context.db.deleteFrom('auth_failures').execute();
      // Sign-in throttling and TOTP on a clock that stands still (ten minutes ahead: a time step not used yet).
      const frozen = Date.now() + 10 * 60_000;
      const app = (await buildApp(t.context, { authNow: () => frozen })).app;
      try {
        const page = await app.inject({ method: 'GET', url: '/login' });
        let cookie = cookiesOf(page);
        const signIn = await app.inject({
          method: 'POST',
          url: '/login',
          headers: { cookie, 'content-type': form },
          payload: new URLSearchParams({ email: 'member@acme.test', password: PASSWORD, next: INTERNAL, _csrf: csrfFrom(page.body) }).toString(),
        });
        assert.equal(signIn.headers.location, `/login/mfa?next=${encodeURIComponent(INTERNAL)}`);
        cookie = withCookies(cookie, signIn);
        const challenge = await app.inject({ method: 'GET', url: '/login/mfa', headers: { cookie } });
        const right = hotp(key, timeStep(frozen / 1000));
        const wrongCodes = async () => (await auditActions('member@acme.test')).filter((e) => e.action === 'auth.mfa_failed' && e.reason === 'wrong code').length;
        const wrongBefore = await wrongCodes();
        const codes = [...Array.from({ length: 119 }, (_, i) => String(100000 + i * 7919).slice(0, 6)).filter((c) => c !== right), right];
        const answers = await Promise.all(
          codes.map((code) =>
            app.inject({
              method: 'POST',
              url: '/login/mfa',
              headers: { cookie, 'content-type': form },
              payload: new URLSearchParams({ _csrf: csrfFrom(challenge.body), code, next: INTERNAL }).toString(),
            }),
          ),
        );
        const checked = answers.filter((r) => r.statusCode !== 429);
        assert.ok(checked.length <= 5, `${checked.length} codes were checked`);
        assert.ok(checked.every((r) => r.statusCode === 401));
        assert.equal(answers.at(-1)!.statusCode, 429, 'the right code, sent after the limit was reached, does not sign in');
        const verified = (await wrongCodes()) - wrongBefore;
        assert.ok(verified <= 5, `${verified} wrong codes were verified`);
      } finally {
        await app.close();
        await t.context.db.deleteFrom('auth_failures').execute();
      }
    });

    test('turning MFA off needs a fresh re-authentication with password and code', async () => {
      const first = await passwordStep('member@acme.test');
      const page = await get('/login/mfa', first.cookie);
      const ok = await post('/login/mfa', first.cookie, { _csrf: csrfFrom(page.body), code: recoveryCodes[3]!, next: '/-/account/security' });
      const cookie = withCookies(first.cookie, ok);
      // Age the sign-in past the re-authentication window.
      const user = await t.context.db.selectFrom('users').select('id').where('email', '=', 'member@acme.test').executeTakeFirstOrThrow();
      await t.context.db.updateTable('sessions').set({ reauthenticated_at: new Date(Date.now() - 3600_000) }).where('user_id', '=', user.id).execute();
      t.context.sessions.invalidateUser(user.id);
      const security = await get('/-/account/security', cookie);
      const csrf = csrfFrom(security.body);
      const disable = await post('/-/account/security/disable', cookie, { _csrf: csrf });
      assert.equal(disable.statusCode, 303);
      assert.match(String(disable.headers.location), /^\/-\/reauth\?next=/);
      const reauth = await get(String(disable.headers.location), cookie);
      assert.match(reauth.body, /name="code"/, 'asks for a code too');
      const wrong = await post('/-/reauth', cookie, { _csrf: csrf, password: PASSWORD, code: '123456', next: '/-/account/security' });
      assert.equal(wrong.statusCode, 401);
      // Earlier tests spent the newest acceptable steps; act as if they were used minutes ago.
      await t.context.db.updateTable('user_mfa').set({ totp_last_step: step() - 10 }).where('user_id', '=', user.id).execute();
      const code = hotp(key, step());
      const confirmed = await post('/-/reauth', cookie, { _csrf: csrf, password: PASSWORD, code, next: '/-/account/security' });
      assert.equal(confirmed.statusCode, 303);
      const reused = await post('/-/reauth', cookie, { _csrf: csrf, password: PASSWORD, code, next: '/-/account/security' });
      assert.equal(reused.statusCode, 401);
      assert.match(reused.body, /That code was already used/, 'the user is told the code was spent, as the audit log says');
      const off = await post('/-/account/security/disable', cookie, { _csrf: csrf });
      assert.equal(off.statusCode, 303);
      assert.equal(off.headers.location, '/-/account/security?notice=disabled');
      assert.ok((await auditActions('member@acme.test')).some((e) => e.action === 'auth.mfa_disabled'));
      const plain = await passwordStep('member@acme.test');
      assert.equal(plain.res.headers.location, INTERNAL, 'no second step any more');
    });

    test('an organization requiring MFA forces enrollment at the next sign-in; nothing else is reachable until then', async () => {
      await t.context.db.updateTable('organizations').set({ require_mfa: 'admins' }).where('slug', '=', 'acme').execute();
      try {
        const viewer = await passwordStep('viewer@acme.test');
        assert.equal(viewer.res.headers.location, INTERNAL, 'viewers are not affected by "admins"');
        const { res, cookie } = await passwordStep('admin@acme.test');
        assert.equal(res.headers.location, `/login/mfa/enroll?next=${encodeURIComponent(INTERNAL)}`);
        await assertGrantsNothing(cookie);
        const page = await get('/login/mfa/enroll', cookie);
        assert.equal(page.statusCode, 200);
        assert.match(page.body, /requires two-step verification/);
        const adminKey = secretFrom(page.body);
        const done = await post('/login/mfa/enroll', cookie, { _csrf: csrfFrom(page.body), code: hotp(adminKey, step()), next: INTERNAL });
        assert.equal(done.statusCode, 200);
        assert.equal(codesFrom(done.body).length, 10);
        assert.equal((await get(INTERNAL, withCookies(cookie, done))).statusCode, 200);
        const off = await post('/-/account/security/disable', withCookies(cookie, done), {
          _csrf: csrfFrom((await get('/-/account/security', withCookies(cookie, done))).body),
        });
        assert.equal(off.statusCode, 409, 'cannot turn off what the organization requires');
      } finally {
        await t.context.db.updateTable('organizations').set({ require_mfa: 'none' }).where('slug', '=', 'acme').execute();
      }
    });

    test('changing the password needs the current one and refuses common passwords', async () => {
      const cookie = await t.login('manager@acme.test');
      const other = await t.login('manager@acme.test');
      const page = await get('/-/account/security/password', cookie);
      const csrf = csrfFrom(page.body);
      const wrong = await post('/-/account/security/password', cookie, { _csrf: csrf, current: 'not my password!', password: 'violet anchor pretzel gravity' });
      assert.equal(wrong.statusCode, 401);
      const common = await post('/-/account/security/password', cookie, { _csrf: csrf, current: PASSWORD, password: '1qaz2wsx3edc' });
      assert.equal(common.statusCode, 400);
      assert.match(common.body, /commonly used passwords/);
      const ok = await post('/-/account/security/password', cookie, { _csrf: csrf, current: PASSWORD, password: 'violet anchor pretzel gravity' });
      assert.equal(ok.statusCode, 303);
      assert.notEqual((await get(INTERNAL, other)).statusCode, 200, 'other sessions end');
      assert.equal((await get(INTERNAL, withCookies(cookie, ok))).statusCode, 200);
      assert.equal((await passwordStep('manager@acme.test', 'violet anchor pretzel gravity')).res.statusCode, 303);
    });

    test('sign-in throttling: an account is slowed, then refused; other accounts are unaffected; unknown emails answer the same', async () => {
      await t.context.db.deleteFrom('auth_failures').execute();
      for (const email of ['owner@acme.test', 'ghost@acme.test']) {
        for (let i = 0; i < 5; i++) assert.equal((await passwordStep(email, 'wrong password here')).res.statusCode, 401);
        // Five more counted directly, so the 15-minute block applies however slow this machine is (the progressive
        // delay after the 5th failure is only seconds long).
        const throttle = new Throttle(t.context.db);
        for (let i = 0; i < 5; i++) await throttle.recordFailure({ account: email });
      }
      const known = await passwordStep('owner@acme.test', PASSWORD);
      const unknown = await passwordStep('ghost@acme.test', PASSWORD);
      assert.equal(known.res.statusCode, 429, 'even the right password waits');
      assert.equal(unknown.res.statusCode, 429);
      assert.ok(Number(known.res.headers['retry-after']) > 60, 'blocked for minutes');
      const strip = (b: string) => b.replace(/value="[^"]*"/g, '').replace(/\d+ (seconds|minutes)/, 'N');
      assert.equal(strip(known.res.body), strip(unknown.res.body));
      assert.equal((await passwordStep('viewer@acme.test')).res.statusCode, 303, 'another account signs in');
      const events = await asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('audit_events').selectAll().where('action', '=', 'auth.sign_in_throttled').execute());
      assert.ok(events.length >= 2);
    });

    test('sign-in throttling per address: 50 failures from one address block it', async () => {
      await t.context.db.deleteFrom('auth_failures').execute();
      // 45 failures counted directly (each HTTP failure costs an argon2 verification), the last 5 over HTTP.
      const throttle = new Throttle(t.context.db);
      for (let i = 0; i < 45; i++) await throttle.recordFailure({ account: `bulk${i}@acme.test`, address: '127.0.0.1' });
      for (let i = 0; i < 5; i++) assert.equal((await passwordStep(`nobody${i}@acme.test`, 'wrong password here')).res.statusCode, 401);
      const blocked = await passwordStep('viewer@acme.test');
      assert.equal(blocked.res.statusCode, 429);
      await t.context.db.deleteFrom('auth_failures').execute();
      assert.equal((await passwordStep('viewer@acme.test')).res.statusCode, 303);
    });
  });
}
