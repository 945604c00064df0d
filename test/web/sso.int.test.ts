import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import type { UserActor } from '../../src/access/actor.ts';
import { upsertAccount } from '../../src/auth/accounts.ts';
import { mfaSecretBox } from '../../src/auth/mfa.ts';
import { saveConnection, type SsoSettingsInput } from '../../src/auth/sso/connection-settings.ts';
import { withOrg } from '../../src/db/connection.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { signInAtProvider, startTestProvider, type TestProvider } from '../helpers/oidc-provider.ts';
import { cookiesOf, createTestApp, csrfFrom, PASSWORD, submitLogin, testConfig, type TestApp } from '../helpers/test-app.ts';

const form = 'application/x-www-form-urlencoded';
/** Where the app sends the provider back to under app.inject (host localhost:80, no public URL). */
const REDIRECT_URI = 'http://localhost/login/sso/callback';

for (const target of databaseTargets()) {
  describe(`single sign-on with OpenID Connect (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let idp: TestProvider;
    let acmeId: string;
    let ownerId: string;

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      idp = await startTestProvider({ redirectUris: [REDIRECT_URI] });
      acmeId = (await t.context.db.selectFrom('organizations').select('id').where('slug', '=', 'acme').executeTakeFirstOrThrow()).id;
      ownerId = await userId('owner@acme.test');
    });
    after(async () => {
      await idp?.stop();
      await t?.close();
      await dispose?.();
    });

    async function userId(email: string) {
      return (await t.context.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id;
    }
    const ownerActor = (): UserActor => ({ kind: 'user', userId: ownerId, email: 'owner@acme.test', name: 'Acme owner', memberships: new Map([[acmeId, 'owner']]) });

    async function configure(changes: Partial<SsoSettingsInput> = {}) {
      const input: SsoSettingsInput = {
        enabled: true,
        issuer: idp.issuer,
        clientId: idp.clientId,
        clientSecret: idp.clientSecret,
        allowedDomains: ['acme.test'],
        roleClaim: 'groups',
        roleMapping: { 'acme-admins': 'admin', 'acme-editors': 'member' },
        defaultRole: 'viewer',
        requireSso: false,
        breakGlassUserId: null,
        ...changes,
      };
      await saveConnection(t.context.db, mfaSecretBox(testConfig('/nowhere').mfaKeys), ownerActor(), acmeId, input, { requestId: 'test', ip: '127.0.0.1' });
    }

    beforeEach(async () => {
      idp.tamper = null;
      idp.amr = ['pwd'];
      idp.identities.clear();
      await configure();
    });

    /** Start at the app (org `org`), sign in at the provider as `login`: the callback URL and the browser's cookies. */
    async function begin(login: string, org = 'acme', next = '/acme/handbook') {
      const page = await t.app.inject({ method: 'GET', url: `/login/sso?next=${encodeURIComponent(next)}` });
      const started = await t.app.inject({
        method: 'POST',
        url: '/login/sso',
        headers: { cookie: cookiesOf(page), 'content-type': form },
        payload: new URLSearchParams({ _csrf: csrfFrom(page.body), org, next }).toString(),
      });
      assert.equal(started.statusCode, 200, started.body.slice(0, 300));
      const refresh = /^0;url=(.+)$/.exec(String(started.headers.refresh));
      assert.ok(refresh, 'a Refresh header leads to the provider');
      const location = refresh[1]!;
      assert.ok(started.body.includes(`href="${location.replace(/&/g, '&amp;')}"`), 'and a link, for a browser without Refresh');
      const browserCookie = started.cookies.find((c) => c.name === 'dc_sso');
      assert.ok(browserCookie, 'the flow is bound to the browser by a cookie');
      const callback = await signInAtProvider(location, login, REDIRECT_URI);
      return { authorizationUrl: new URL(location), callback, cookie: `dc_sso=${browserCookie.value}`, browserCookie };
    }
    const finish = (callback: URL, cookie: string) =>
      t.app.inject({ method: 'GET', url: `${callback.pathname}${callback.search}`, headers: cookie ? { cookie } : {} });
    const sessionOf = (response: LightMyRequestResponse) => response.cookies.find((c) => c.name === 'dc_session');
    const events = (action: string) =>
      withOrg(t.context.db, acmeId, (trx) => trx.selectFrom('audit_events').selectAll().where('org_id', '=', acmeId).where('action', '=', action).orderBy('seq').execute());
    const lastFailure = async () => (await events('auth.sign_in_failed')).at(-1);
    const roleOf = async (email: string) =>
      (await withOrg(t.context.db, acmeId, (trx) =>
        trx.selectFrom('memberships').innerJoin('users', 'users.id', 'memberships.user_id').select('role').where('org_id', '=', acmeId).where('users.email', '=', email).executeTakeFirst()))?.role ?? null;

    test('happy path: a new person signs in through the provider, becomes a member with the default role, and the sign-in is audited with amr', async () => {
      idp.identities.set('newcomer', { sub: 'sub-newcomer', email: 'Newcomer@acme.test', name: 'New Comer' });
      idp.amr = ['pwd', 'mfa'];
      const { authorizationUrl, callback, cookie, browserCookie } = await begin('newcomer');
      // The authorization request: code flow, PKCE S256, state and nonce.
      assert.equal(authorizationUrl.searchParams.get('response_type'), 'code');
      assert.equal(authorizationUrl.searchParams.get('code_challenge_method'), 'S256');
      assert.ok(authorizationUrl.searchParams.get('code_challenge'));
      assert.ok(authorizationUrl.searchParams.get('state'));
      assert.ok(authorizationUrl.searchParams.get('nonce'));
      assert.equal(authorizationUrl.searchParams.get('redirect_uri'), REDIRECT_URI);
      // The flow cookie: httpOnly, SameSite=Lax (the provider's redirect back is a cross-site GET), short-lived.
      assert.equal(browserCookie.httpOnly, true);
      assert.equal(browserCookie.sameSite, 'Lax');
      assert.ok(browserCookie.maxAge !== undefined && browserCookie.maxAge <= 600);

      const done = await finish(callback, cookie);
      assert.equal(done.statusCode, 303, done.body.slice(0, 400));
      assert.equal(done.headers.location, '/acme/handbook');
      const session = sessionOf(done);
      assert.ok(session, 'a session cookie');
      assert.equal(session.httpOnly, true);
      const home = await t.app.inject({ method: 'GET', url: '/', headers: { cookie: `dc_session=${session.value}` } });
      assert.equal(home.statusCode, 200);
      assert.match(home.body, /New Comer/);

      assert.equal(await roleOf('newcomer@acme.test'), 'viewer', 'just-in-time membership with the default role');
      const user = await t.context.db.selectFrom('users').select(['password_hash']).where('email', '=', 'newcomer@acme.test').executeTakeFirstOrThrow();
      assert.equal(user.password_hash, null, 'an account made by single sign-on has no password');
      const signIn = (await events('auth.sign_in')).at(-1)!;
      assert.deepEqual(
        { method: (signIn.details as Record<string, unknown>).method, amr: (signIn.details as Record<string, unknown>).amr, mfa: (signIn.details as Record<string, unknown>).mfa },
        { method: 'sso', amr: 'pwd mfa', mfa: true },
      );
      assert.ok((await events('member.added')).some((e) => e.target_label === 'newcomer@acme.test'));
      assert.ok((await events('auth.account_created')).some((e) => e.target_label === 'newcomer@acme.test'));
    });

    test('role from the claim: the mapped role at first sign-in, and it follows the provider at later sign-ins (never for owners)', async () => {
      idp.identities.set('editor', { sub: 'sub-editor', email: 'editor@acme.test', groups: ['staff', 'acme-editors'] });
      let { callback, cookie } = await begin('editor');
      assert.equal((await finish(callback, cookie)).statusCode, 303);
      assert.equal(await roleOf('editor@acme.test'), 'member');

      idp.identities.set('editor', { sub: 'sub-editor', email: 'editor@acme.test', groups: ['acme-editors', 'acme-admins'] });
      ({ callback, cookie } = await begin('editor'));
      assert.equal((await finish(callback, cookie)).statusCode, 303);
      assert.equal(await roleOf('editor@acme.test'), 'admin', 'the highest mapped role');
      assert.ok((await events('member.role_changed')).some((e) => e.target_label === 'editor@acme.test'));

      // An owner signing in with a claim that maps lower stays owner.
      idp.identities.set('boss', { sub: 'sub-owner', email: 'owner@acme.test', groups: ['acme-editors'] });
      ({ callback, cookie } = await begin('boss'));
      assert.equal((await finish(callback, cookie)).statusCode, 303);
      assert.equal(await roleOf('owner@acme.test'), 'owner');
    });

    test('an existing member of this organization alone is signed in by email and keeps their role without a mapped claim', async () => {
      idp.identities.set('m', { sub: 'sub-member', email: 'member@acme.test' });
      const { callback, cookie } = await begin('m');
      const done = await finish(callback, cookie);
      assert.equal(done.statusCode, 303);
      assert.equal(await roleOf('member@acme.test'), 'member');
      const linked = await withOrg(t.context.db, acmeId, (trx) => trx.selectFrom('sso_identities').select('user_id').where('subject', '=', 'sub-member').executeTakeFirst());
      assert.equal(linked?.user_id, await userId('member@acme.test'));
    });

    const refusals: [string, () => void, RegExp][] = [
      ['a wrong audience', () => (idp.tamper = { payload: (c) => ({ ...c, aud: 'some-other-client' }) }), /aud/],
      ['an expired ID token', () => (idp.tamper = { payload: (c) => ({ ...c, iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 }) }), /exp/],
      ['a nonce that is not the one sent', () => (idp.tamper = { payload: (c) => ({ ...c, nonce: 'forged-nonce' }) }), /nonce/],
      ['a signature by another key', () => (idp.tamper = { foreignKey: true }), /signature/i],
      ['another issuer', () => (idp.tamper = { payload: (c) => ({ ...c, iss: 'https://evil.example' }) }), /iss/],
    ];
    for (const [name, arrange, detail] of refusals) {
      test(`an ID token with ${name} signs nobody in`, async () => {
        idp.identities.set('victim', { sub: 'sub-victim', email: 'victim@acme.test' });
        arrange();
        const { callback, cookie } = await begin('victim');
        const done = await finish(callback, cookie);
        assert.equal(done.statusCode, 401);
        assert.equal(sessionOf(done), undefined);
        assert.match(done.body, /could not be verified/);
        assert.equal(await roleOf('victim@acme.test'), null, 'no membership');
        const failure = await lastFailure();
        assert.equal(failure?.reason, 'sso: token-refused');
        assert.match(String((failure?.details as Record<string, unknown>).detail), detail);
      });
    }

    test('a replayed state is refused: the callback works once', async () => {
      idp.identities.set('m', { sub: 'sub-member', email: 'member@acme.test' });
      const { callback, cookie } = await begin('m');
      assert.equal((await finish(callback, cookie)).statusCode, 303);
      const again = await finish(callback, cookie);
      assert.equal(again.statusCode, 401);
      assert.equal(sessionOf(again), undefined);
      assert.match(again.body, /already used or is not valid/);
    });

    test('a callback in another browser (without the flow cookie, or with another) is refused', async () => {
      idp.identities.set('m', { sub: 'sub-member', email: 'member@acme.test' });
      const first = await begin('m');
      const other = await finish(first.callback, 'dc_sso=' + 'x'.repeat(43));
      assert.equal(other.statusCode, 401);
      assert.equal(sessionOf(other), undefined);
      assert.match(other.body, /another browser/);
      const second = await begin('m');
      assert.equal((await finish(second.callback, '')).statusCode, 401);
    });

    test('a forged state (never begun) is refused', async () => {
      const done = await finish(new URL(`${REDIRECT_URI}?code=abc&state=forged&iss=${encodeURIComponent(idp.issuer)}`), 'dc_sso=' + 'y'.repeat(43));
      assert.equal(done.statusCode, 401);
    });

    test('a person from a domain the organization does not allow is refused, and no account is made', async () => {
      idp.identities.set('outsider', { sub: 'sub-outsider', email: 'someone@evil.test' });
      const { callback, cookie } = await begin('outsider');
      const done = await finish(callback, cookie);
      assert.equal(done.statusCode, 401);
      assert.match(done.body, /not in a domain this organization allows/);
      assert.equal(await t.context.db.selectFrom('users').select('id').where('email', '=', 'someone@evil.test').executeTakeFirst(), undefined);
      assert.equal((await lastFailure())?.reason, 'sso: domain-not-allowed');
    });

    test('an email the provider says is unverified is refused', async () => {
      idp.identities.set('unverified', { sub: 'sub-unverified', email: 'unverified@acme.test', email_verified: false });
      const { callback, cookie } = await begin('unverified');
      assert.equal((await finish(callback, cookie)).statusCode, 401);
      assert.equal(await roleOf('unverified@acme.test'), null);
    });

    test('another organization’s provider cannot take over an account that belongs elsewhere (even with the domain allowed)', async () => {
      await configure({ allowedDomains: ['acme.test', 'globex.test'] });
      idp.identities.set('globex', { sub: 'sub-globex', email: 'member@globex.test' });
      const { callback, cookie } = await begin('globex');
      const done = await finish(callback, cookie);
      assert.equal(done.statusCode, 401);
      assert.equal(sessionOf(done), undefined);
      assert.equal((await lastFailure())?.reason, 'sso: account-elsewhere');
    });

    test('an organization without single sign-on (or with it off) cannot be chosen', async () => {
      const page = await t.app.inject({ method: 'GET', url: '/login/sso' });
      for (const org of ['globex', 'no-such-org']) {
        const started = await t.app.inject({
          method: 'POST',
          url: '/login/sso',
          headers: { cookie: cookiesOf(page), 'content-type': form },
          payload: new URLSearchParams({ _csrf: csrfFrom(page.body), org }).toString(),
        });
        assert.equal(started.statusCode, 400);
        assert.match(started.body, /Single sign-on is not set up for that organization/);
      }
      await configure({ enabled: false });
      const started = await t.app.inject({
        method: 'POST',
        url: '/login/sso',
        headers: { cookie: cookiesOf(page), 'content-type': form },
        payload: new URLSearchParams({ _csrf: csrfFrom(page.body), org: 'acme' }).toString(),
      });
      assert.equal(started.statusCode, 400);
    });

    test('required single sign-on refuses members’ passwords, but not the break-glass owner’s, nor other organizations’ members', async () => {
      await configure({ requireSso: true, breakGlassUserId: ownerId });
      for (const email of ['member@acme.test', 'admin@acme.test']) {
        const refused = await submitLogin(t.app, email, PASSWORD);
        assert.equal(refused.statusCode, 403, email);
        assert.equal(sessionOf(refused), undefined);
        assert.match(refused.body, /requires single sign-on/);
      }
      // A wrong password still says only that it is wrong.
      assert.equal((await submitLogin(t.app, 'member@acme.test', 'wrong password')).statusCode, 401);
      assert.equal((await submitLogin(t.app, 'owner@acme.test', PASSWORD)).statusCode, 303, 'the break-glass owner keeps the password');
      assert.equal((await submitLogin(t.app, 'member@globex.test', PASSWORD)).statusCode, 303);
      // SSO still signs members in.
      idp.identities.set('m', { sub: 'sub-member', email: 'member@acme.test' });
      const { callback, cookie } = await begin('m');
      assert.equal((await finish(callback, cookie)).statusCode, 303);
      // A second owner is not the break-glass owner.
      await upsertAccount(t.context.db, { email: 'owner2@acme.test', orgSlug: 'acme', role: 'owner', password: PASSWORD });
      assert.equal((await submitLogin(t.app, 'owner2@acme.test', PASSWORD)).statusCode, 403);
      const denied = await lastFailure();
      assert.equal(denied?.reason, 'sso required');
      assert.equal(denied?.outcome, 'denied');
    });

    describe('the settings page', () => {
      const url = '/acme/-/settings/sso';
      test('admins and owners see it; a member is refused (403), another organization’s member finds nothing (404), anonymous signs in', async () => {
        const admin = await t.login('admin@acme.test');
        const page = await t.app.inject({ method: 'GET', url, headers: { cookie: admin } });
        assert.equal(page.statusCode, 200);
        assert.match(page.body, /http:\/\/localhost\/login\/sso\/callback/);
        assert.match(page.body, new RegExp(idp.issuer.replace(/[.:/]/g, '\\$&')));
        assert.doesNotMatch(page.body, new RegExp(idp.clientSecret), 'the client secret is never shown');
        assert.equal((await t.app.inject({ method: 'GET', url, headers: { cookie: await t.login('member@acme.test') } })).statusCode, 403);
        assert.equal((await t.app.inject({ method: 'GET', url, headers: { cookie: await t.login('member@globex.test') } })).statusCode, 404);
        const anonymous = await t.app.inject({ method: 'GET', url });
        assert.equal(anonymous.statusCode, 303);
        assert.match(String(anonymous.headers.location), /^\/login\?next=/);
      });

      test('saving seals the client secret, records what changed without it, and refuses a member', async () => {
        const admin = await t.login('admin@acme.test');
        const csrf = csrfFrom((await t.app.inject({ method: 'GET', url, headers: { cookie: admin } })).body);
        const fields = {
          _csrf: csrf,
          enabled: 'on',
          issuer: idp.issuer,
          client_id: idp.clientId,
          client_secret: 'a brand new client secret',
          allowed_domains: 'acme.test\nacme.example',
          role_claim: 'groups',
          role_mapping: 'acme-admins = admin',
          default_role: 'member',
          break_glass_user_id: '',
        };
        const saved = await t.app.inject({ method: 'POST', url, headers: { cookie: admin, 'content-type': form }, payload: new URLSearchParams(fields).toString() });
        assert.equal(saved.statusCode, 303, saved.body.slice(0, 500));
        assert.equal(saved.headers.location, `${url}?done=saved`);
        const row = await withOrg(t.context.db, acmeId, (trx) => trx.selectFrom('sso_connections').selectAll().where('org_id', '=', acmeId).executeTakeFirstOrThrow());
        assert.doesNotMatch(row.client_secret_sealed, /brand new/);
        assert.deepEqual(row.allowed_domains, ['acme.test', 'acme.example']);
        const event = (await events('sso.settings_changed')).at(-1)!;
        assert.match(String((event.details as Record<string, unknown>).changed), /client_secret/);
        assert.doesNotMatch(JSON.stringify(event), /brand new/);

        const bad = await t.app.inject({
          method: 'POST',
          url,
          headers: { cookie: admin, 'content-type': form },
          payload: new URLSearchParams({ ...fields, issuer: 'http://idp.example.com', require_sso: 'on', client_secret: '' }).toString(),
        });
        assert.equal(bad.statusCode, 400);
        assert.match(bad.body, /must be an https:\/\/ URL/);
        assert.match(bad.body, /Choose the owner who may still sign in with a password/);

        const member = await t.login('member@acme.test');
        const memberCsrf = csrfFrom((await t.app.inject({ method: 'GET', url: '/', headers: { cookie: member } })).body);
        const refused = await t.app.inject({ method: 'POST', url, headers: { cookie: member, 'content-type': form }, payload: new URLSearchParams({ ...fields, _csrf: memberCsrf }).toString() });
        assert.equal(refused.statusCode, 403);
      });
    });
  });
}
