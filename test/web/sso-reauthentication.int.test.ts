import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { UserActor } from '../../src/access/actor.ts';
import { mfaSecretBox } from '../../src/auth/mfa.ts';
import { saveConnection, type SsoSettingsInput } from '../../src/auth/sso/connection-settings.ts';
import { withOrg } from '../../src/db/connection.ts';
import { buildApp } from '../../src/web/app.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { CookieJar, signInAtProvider, startTestProvider, type TestProvider } from '../helpers/oidc-provider.ts';
import { cookiesOf, createTestApp, csrfFrom, PASSWORD, testConfig, type TestApp } from '../helpers/test-app.ts';

const form = 'application/x-www-form-urlencoded';
/** Where the app sends the provider back to under app.inject (host localhost:80, no public URL). */
const REDIRECT_URI = 'http://localhost/login/sso/callback';
/** A page behind re-authentication (token creation), and where the re-authentication page sends back to. */
const GUARDED = '/-/account/tokens/new';

/**
 * Re-authentication through the identity provider (auth/sso/reauthentication.ts) for accounts made by single
 * sign-on (no password), against a real OpenID provider: the round trip with prompt=login and max_age=0, bound to
 * the session, and each refusal.
 */
for (const target of databaseTargets()) {
  describe(`re-authentication through the identity provider (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let idp: TestProvider;
    let acmeId: string;
    let ownerId: string;
    let ssoSettings: SsoSettingsInput;
    let ownerActor: UserActor;
    const extraApps: FastifyInstance[] = [];

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      idp = await startTestProvider({ redirectUris: [REDIRECT_URI] });
      acmeId = (await t.context.db.selectFrom('organizations').select('id').where('slug', '=', 'acme').executeTakeFirstOrThrow()).id;
      ownerId = await userId('owner@acme.test');
      const input: SsoSettingsInput = (ssoSettings = {
        enabled: true,
        issuer: idp.issuer,
        clientId: idp.clientId,
        clientSecret: idp.clientSecret,
        allowedDomains: ['acme.test'],
        roleClaim: null,
        roleMapping: {},
        defaultRole: 'member',
        requireSso: false,
        breakGlassUserId: null,
      });
      const owner: UserActor = (ownerActor = { kind: 'user', userId: ownerId, email: 'owner@acme.test', name: 'Acme owner', memberships: new Map([[acmeId, 'owner']]) });
      await saveConnection(t.context.db, mfaSecretBox(testConfig('/nowhere').mfaKeys), owner, acmeId, input, { requestId: 'test', ip: '127.0.0.1' });
      idp.identities.set('sam', { sub: 'sub-sam', email: 'sam@acme.test', name: 'Sam Sso' });
      idp.identities.set('kim', { sub: 'sub-kim', email: 'kim@acme.test', name: 'Kim Sso' });
      idp.identities.set('stranger', { sub: 'sub-stranger', email: 'stranger@elsewhere.test' });
    });
    after(async () => {
      for (const app of extraApps) await app.close();
      await idp?.stop();
      await t?.close();
      await dispose?.();
    });
    beforeEach(() => {
      idp.tamper = null;
      idp.ignoreMaxAge = false;
      idp.loginAgeSeconds = 0;
      idp.amr = ['pwd', 'otp'];
    });

    async function userId(email: string) {
      return (await t.context.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id;
    }
    /** Another app on the same database whose auth clock runs `offsetMs` ahead (flows, ID token checks). */
    async function appAhead(offsetMs: number): Promise<FastifyInstance> {
      const app = (await buildApp(t.context, { authNow: () => Date.now() + offsetMs })).app;
      extraApps.push(app);
      return app;
    }

    /** Sign in through the provider as `login` (a new account without a password at first): the session cookie. */
    async function ssoSession(login: string, jar = new CookieJar()): Promise<string> {
      const page = await t.app.inject({ method: 'GET', url: '/login/sso' });
      const started = await t.app.inject({
        method: 'POST',
        url: '/login/sso',
        headers: { cookie: cookiesOf(page), 'content-type': form },
        payload: new URLSearchParams({ _csrf: csrfFrom(page.body), org: 'acme', next: '/' }).toString(),
      });
      const location = /^0;url=(.+)$/.exec(String(started.headers.refresh))![1]!;
      const flowCookie = started.cookies.find((c) => c.name === 'dc_sso')!;
      const callback = await signInAtProvider(location, login, REDIRECT_URI, jar);
      const done = await t.app.inject({ method: 'GET', url: `${callback.pathname}${callback.search}`, headers: { cookie: `dc_sso=${flowCookie.value}` } });
      assert.equal(done.statusCode, 303, done.body.slice(0, 300));
      const session = done.cookies.find((c) => c.name === 'dc_session')!;
      return `dc_session=${session.value}`;
    }

    /** Make every session of `email` older than the re-authentication window (as the account tests do). */
    async function ageReauthentication(email: string) {
      const id = await userId(email);
      await t.context.db.updateTable('sessions').set({ reauthenticated_at: new Date(Date.now() - 60 * 60 * 1000) }).where('user_id', '=', id).execute();
      await t.context.sessions.invalidateUser(id);
    }
    const reauthenticatedAt = async (cookie: string) => {
      const id = cookie.slice(cookie.indexOf('=') + 1);
      const { createHash } = await import('node:crypto');
      const row = await t.context.db.selectFrom('sessions').select('reauthenticated_at').where('id_hash', '=', createHash('sha256').update(id).digest('base64url')).executeTakeFirstOrThrow();
      return row.reauthenticated_at ? new Date(row.reauthenticated_at).getTime() : null;
    };

    /** Open the re-authentication page and press "Continue with …": the provider's authorization URL. */
    async function beginReauth(cookie: string, next = GUARDED, app: FastifyInstance = t.app, org = 'acme'): Promise<{ page: LightMyRequestResponse; started: LightMyRequestResponse; url: URL | null }> {
      const page = await app.inject({ method: 'GET', url: `/-/reauth?next=${encodeURIComponent(next)}`, headers: { cookie } });
      assert.equal(page.statusCode, 200);
      const started = await app.inject({
        method: 'POST',
        url: '/-/reauth/sso',
        headers: { cookie, 'content-type': form },
        payload: new URLSearchParams({ _csrf: csrfFrom(page.body), org, next }).toString(),
      });
      const refresh = /^0;url=(.+)$/.exec(String(started.headers.refresh ?? ''));
      return { page, started, url: refresh ? new URL(refresh[1]!) : null };
    }
    const callbackWith = (app: FastifyInstance, callback: URL, cookie: string) =>
      app.inject({ method: 'GET', url: `${callback.pathname}${callback.search}`, headers: cookie ? { cookie } : {} });
    const events = (action: string) =>
      withOrg(t.context.db, acmeId, (trx) => trx.selectFrom('audit_events').selectAll().where('org_id', '=', acmeId).where('action', '=', action).orderBy('seq').execute());
    const lastFailure = async () => (await events('auth.reauthentication_failed')).at(-1);
    const detailsOf = (event: { details: unknown } | undefined) => (event?.details ?? {}) as Record<string, unknown>;

    test('an account without a password confirms it is them through the provider (prompt=login, max_age=0) and gets back to the page it came from', async () => {
      const sam = await ssoSession('sam');
      const user = await t.context.db.selectFrom('users').select('password_hash').where('email', '=', 'sam@acme.test').executeTakeFirstOrThrow();
      assert.equal(user.password_hash, null, 'an account made by single sign-on has no password');
      await ageReauthentication('sam@acme.test');
      const refused = await t.app.inject({ method: 'GET', url: GUARDED, headers: { cookie: sam } });
      assert.equal(refused.statusCode, 303);
      assert.equal(refused.headers.location, `/-/reauth?next=${encodeURIComponent(GUARDED)}`);

      const { page, started, url } = await beginReauth(sam);
      const host = new URL(idp.issuer).host;
      assert.match(page.body, new RegExp(`Continue with ${host.replace(/[.]/g, '\\.')}`));
      assert.doesNotMatch(page.body, /name="password"/, 'no password form for an account without a password');
      assert.equal(started.statusCode, 200, started.body.slice(0, 300));
      assert.ok(url, 'a Refresh header leads to the provider');
      assert.equal(url.searchParams.get('prompt'), 'login');
      assert.equal(url.searchParams.get('max_age'), '0');
      assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
      assert.ok(url.searchParams.get('state') && url.searchParams.get('nonce'));
      assert.equal(url.searchParams.get('redirect_uri'), REDIRECT_URI, 'the one redirect URI registered for sign-ins');
      assert.equal(started.cookies.find((c) => c.name === 'dc_sso'), undefined, 'bound to the session, not to a browser cookie');

      const before = await reauthenticatedAt(sam);
      const other = await ssoSession('sam');
      await ageReauthentication('sam@acme.test');
      const otherBefore = await reauthenticatedAt(other);
      const callback = await signInAtProvider(url.href, 'sam', REDIRECT_URI);
      const done = await callbackWith(t.app, callback, sam);
      assert.equal(done.statusCode, 303, done.body.slice(0, 400));
      assert.equal(done.headers.location, GUARDED);
      assert.equal(done.cookies.find((c) => c.name === 'dc_session'), undefined, 'the same session: no new cookie');
      const after = await reauthenticatedAt(sam);
      assert.ok(after !== null && (before === null || after > before), 'this session is marked re-authenticated');
      assert.equal(await reauthenticatedAt(other), otherBefore, 'and only this one');
      assert.equal((await t.app.inject({ method: 'GET', url: GUARDED, headers: { cookie: sam } })).statusCode, 200, 'the guarded page opens');

      const event = (await events('auth.reauthenticated')).at(-1);
      assert.ok(event);
      assert.equal(event.actor_id, await userId('sam@acme.test'));
      assert.deepEqual(detailsOf(event), { method: 'sso', amr: 'pwd otp', mfa: true });
      const recorded = JSON.stringify(event);
      for (const secret of [callback.searchParams.get('code')!, callback.searchParams.get('state')!, url.searchParams.get('nonce')!, sam.split('=')[1]!]) {
        assert.ok(!recorded.includes(secret), 'no code, state, nonce or session id in the audit event');
      }
    });

    test('the page offers what the account has: the password form only without a linked provider, both with one', async () => {
      const passwordOnly = await t.login('member@acme.test');
      const page = await t.app.inject({ method: 'GET', url: `/-/reauth?next=${encodeURIComponent(GUARDED)}`, headers: { cookie: passwordOnly } });
      assert.match(page.body, /name="password"/);
      assert.doesNotMatch(page.body, /Continue with/);
      assert.doesNotMatch(page.body, /action="\/-\/reauth\/sso"/);
      // Not linked: asking for a provider anyway is refused and begins nothing.
      const flows = async () => Number((await t.context.db.selectFrom('sso_sign_in_flows').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
      const count = await flows();
      const refused = await t.app.inject({
        method: 'POST',
        url: '/-/reauth/sso',
        headers: { cookie: passwordOnly, 'content-type': form },
        payload: new URLSearchParams({ _csrf: csrfFrom(page.body), org: 'acme', next: GUARDED }).toString(),
      });
      assert.equal(refused.statusCode, 400);
      assert.equal(refused.headers.refresh, undefined);
      assert.equal(await flows(), count, 'no flow for an account the provider is not linked to');
      // No CSRF token: refused before anything.
      const sam = await ssoSession('sam');
      const noCsrf = await t.app.inject({ method: 'POST', url: '/-/reauth/sso', headers: { cookie: sam, 'content-type': form }, payload: `org=acme&next=${encodeURIComponent(GUARDED)}` });
      assert.equal(noCsrf.statusCode, 403);
      // Signed out: sent to sign in.
      assert.equal((await t.app.inject({ method: 'POST', url: '/-/reauth/sso', headers: { 'content-type': form }, payload: 'org=acme' })).statusCode, 403);
    });

    test('signing out ends a confirmation begun in the session: its answer finds nothing afterwards', async () => {
      const sam = await ssoSession('sam');
      await ageReauthentication('sam@acme.test');
      const { url } = await beginReauth(sam);
      const stateOf = (u: URL) => u.searchParams.get('state')!;
      const { createHash } = await import('node:crypto');
      const stored = await t.context.db
        .selectFrom('sso_sign_in_flows')
        .selectAll()
        .where('state_hash', '=', createHash('sha256').update(stateOf(url!)).digest('base64url'))
        .executeTakeFirstOrThrow();
      assert.deepEqual(
        { purpose: stored.purpose, browser: stored.browser_hash, user: stored.user_id },
        { purpose: 'reauthentication', browser: null, user: await userId('sam@acme.test') },
        'stored by the hash of its state, bound to the session and its user',
      );
      const callback = await signInAtProvider(url!.href, 'sam', REDIRECT_URI);
      assert.equal(stateOf(callback), stateOf(url!));
      const logoutPage = await t.app.inject({ method: 'GET', url: '/logout', headers: { cookie: sam } });
      const out = await t.app.inject({ method: 'POST', url: '/logout', headers: { cookie: sam, 'content-type': form }, payload: new URLSearchParams({ _csrf: csrfFrom(logoutPage.body) }).toString() });
      assert.equal(out.statusCode, 303);
      const stateHash = createHash('sha256').update(stateOf(url!)).digest('base64url');
      assert.equal(await t.context.db.selectFrom('sso_sign_in_flows').select('state_hash').where('state_hash', '=', stateHash).executeTakeFirst(), undefined, 'the flow went with its session');
      assert.equal((await callbackWith(t.app, callback, sam)).statusCode, 401);
    });

    test('a replayed state is refused: the answer confirms once', async () => {
      const sam = await ssoSession('sam');
      await ageReauthentication('sam@acme.test');
      const { url } = await beginReauth(sam);
      const callback = await signInAtProvider(url!.href, 'sam', REDIRECT_URI);
      assert.equal((await callbackWith(t.app, callback, sam)).statusCode, 303);
      await ageReauthentication('sam@acme.test');
      const aged = await reauthenticatedAt(sam);
      const again = await callbackWith(t.app, callback, sam);
      assert.equal(again.statusCode, 401);
      assert.match(again.body, /already used or is not valid/);
      assert.equal(await reauthenticatedAt(sam), aged, 'not marked again');
      assert.equal((await t.app.inject({ method: 'GET', url: GUARDED, headers: { cookie: sam } })).statusCode, 303);
    });

    test('an answer presented in another session (the same person’s, someone else’s, or none) is refused and spends the flow', async () => {
      const sam = await ssoSession('sam');
      const samElsewhere = await ssoSession('sam');
      const kim = await ssoSession('kim');
      await ageReauthentication('sam@acme.test');
      await ageReauthentication('kim@acme.test');
      const marks = async () => [await reauthenticatedAt(sam), await reauthenticatedAt(samElsewhere), await reauthenticatedAt(kim)];
      const unmarked = await marks();

      for (const presenter of [samElsewhere, kim, '']) {
        const { url } = await beginReauth(sam);
        const callback = await signInAtProvider(url!.href, 'sam', REDIRECT_URI);
        const done = await callbackWith(t.app, callback, presenter);
        assert.equal(done.statusCode, 401, presenter || 'no session');
        assert.match(done.body, /started in another session/);
        assert.equal(done.cookies.find((c) => c.name === 'dc_session'), undefined);
        const failure = await lastFailure();
        assert.equal(failure?.reason, 'sso: other-session');
        assert.equal(failure?.outcome, 'denied');
        assert.equal(failure?.target_id, await userId('sam@acme.test'), 'recorded on the account the flow was for');
        // The flow is gone: the session that began it cannot use it afterwards either.
        assert.equal((await callbackWith(t.app, callback, sam)).statusCode, 401);
      }
      assert.deepEqual(await marks(), unmarked, 'no session was marked');
    });

    test('an identity that is not the session’s user (another person’s, or linked to nobody) confirms nothing', async () => {
      const sam = await ssoSession('sam');
      await ssoSession('kim');
      await ageReauthentication('sam@acme.test');
      const aged = await reauthenticatedAt(sam);
      for (const [login, detail] of [
        ['kim', /linked to another account/],
        ['stranger', /linked to no account/],
      ] as const) {
        const { url } = await beginReauth(sam);
        const callback = await signInAtProvider(url!.href, login, REDIRECT_URI);
        const done = await callbackWith(t.app, callback, sam);
        assert.equal(done.statusCode, 401, login);
        assert.match(done.body, /as someone else/);
        const failure = await lastFailure();
        assert.equal(failure?.reason, 'sso: wrong-identity');
        assert.match(String(detailsOf(failure).detail), detail);
        assert.equal(detailsOf(failure).amr, 'pwd otp', 'the provider’s amr is recorded with the failure');
      }
      assert.equal(await reauthenticatedAt(sam), aged);
    });

    test('a provider that ignores max_age and answers from an earlier sign-in (stale auth_time) confirms nothing; the same provider honouring it does', async () => {
      // The browser signed in at the provider five minutes ago (its session there says so), then here. Asked to
      // confirm, a provider that drops prompt=login and max_age answers from that session at once.
      const jar = new CookieJar();
      idp.loginAgeSeconds = 300;
      const sam = await ssoSession('sam', jar);
      idp.loginAgeSeconds = 0;
      await ageReauthentication('sam@acme.test');
      idp.ignoreMaxAge = true;
      const { url } = await beginReauth(sam);
      assert.equal(url!.searchParams.get('max_age'), '0', 'asked for');
      // No sign-in form is shown (a login nobody has would loop on it and fail).
      const callback = await signInAtProvider(url!.href, 'nobody-has-this-login', REDIRECT_URI, jar);
      const done = await callbackWith(t.app, callback, sam);
      assert.equal(done.statusCode, 401);
      assert.match(done.body, /did not ask you to sign in again/);
      const failure = await lastFailure();
      assert.equal(failure?.reason, 'sso: stale-authentication');
      assert.match(String(detailsOf(failure).detail), /auth_time \d+ s before the flow began/);
      assert.equal((await t.app.inject({ method: 'GET', url: GUARDED, headers: { cookie: sam } })).statusCode, 303, 'not confirmed');

      // The control: the same browser and provider session, but the provider honours prompt=login.
      idp.ignoreMaxAge = false;
      const honest = await beginReauth(sam);
      const signedInAgain = await signInAtProvider(honest.url!.href, 'sam', REDIRECT_URI, jar);
      assert.equal((await callbackWith(t.app, signedInAgain, sam)).statusCode, 303);
    });

    test('an ID token without auth_time confirms nothing', async () => {
      const sam = await ssoSession('sam');
      await ageReauthentication('sam@acme.test');
      idp.tamper = { payload: ({ auth_time: _dropped, ...claims }) => claims };
      const { url } = await beginReauth(sam);
      const done = await callbackWith(t.app, await signInAtProvider(url!.href, 'sam', REDIRECT_URI), sam);
      assert.equal(done.statusCode, 401);
      assert.equal((await lastFailure())?.reason, 'sso: stale-authentication');
      assert.match(String(detailsOf(await lastFailure()).detail), /no auth_time/);
    });

    const refusals: [string, () => void, RegExp][] = [
      ['a wrong audience', () => (idp.tamper = { payload: (c) => ({ ...c, aud: 'some-other-client' }) }), /aud/],
      ['an expired ID token', () => (idp.tamper = { payload: (c) => ({ ...c, iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 }) }), /exp/],
      ['a nonce that is not the one sent', () => (idp.tamper = { payload: (c) => ({ ...c, nonce: 'forged-nonce' }) }), /nonce/],
      ['a signature by another key', () => (idp.tamper = { foreignKey: true }), /signature/i],
    ];
    for (const [name, arrange, detail] of refusals) {
      test(`an ID token with ${name} confirms nothing`, async () => {
        const sam = await ssoSession('sam');
        await ageReauthentication('sam@acme.test');
        const aged = await reauthenticatedAt(sam);
        arrange();
        const { url } = await beginReauth(sam);
        const done = await callbackWith(t.app, await signInAtProvider(url!.href, 'sam', REDIRECT_URI), sam);
        assert.equal(done.statusCode, 401);
        assert.match(done.body, /could not be verified/);
        assert.equal(await reauthenticatedAt(sam), aged);
        const failure = await lastFailure();
        assert.equal(failure?.reason, 'sso: token-refused');
        assert.match(String(detailsOf(failure).detail), detail);
      });
    }

    test('a confirmation that comes back after ten minutes is refused as expired', async () => {
      const sam = await ssoSession('sam');
      await ageReauthentication('sam@acme.test');
      const { url } = await beginReauth(sam);
      const callback = await signInAtProvider(url!.href, 'sam', REDIRECT_URI);
      const tooLate = await appAhead(11 * 60 * 1000);
      const done = await callbackWith(tooLate, callback, sam);
      assert.equal(done.statusCode, 401);
      assert.match(done.body, /took too long/);
      assert.equal((await lastFailure())?.reason, 'sso: expired');
    });

    test('the way back is a same-site path only: another origin, a scheme-relative or backslash path goes home', async () => {
      const sam = await ssoSession('sam');
      for (const next of ['https://evil.example/x', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)']) {
        await ageReauthentication('sam@acme.test');
        const { url } = await beginReauth(sam, next);
        const done = await callbackWith(t.app, await signInAtProvider(url!.href, 'sam', REDIRECT_URI), sam);
        assert.equal(done.statusCode, 303, next);
        assert.equal(done.headers.location, '/', next);
      }
    });

    test('where the organization requires single sign-on, a password confirms nothing but the break-glass owner’s', async () => {
      idp.identities.set('manager', { sub: 'sub-manager', email: 'manager@acme.test' });
      await ssoSession('manager'); // links the provider's identity to the account, which has a password
      const manager = await t.login('manager@acme.test');
      const owner = await t.login('owner@acme.test');
      const box = mfaSecretBox(testConfig('/nowhere').mfaKeys);
      const origin = { requestId: 'test', ip: '127.0.0.1' };
      await saveConnection(t.context.db, box, ownerActor, acmeId, { ...ssoSettings, clientSecret: null, requireSso: true, breakGlassUserId: ownerId }, origin);
      try {
        await ageReauthentication('manager@acme.test');
        await ageReauthentication('owner@acme.test');
        const page = await t.app.inject({ method: 'GET', url: `/-/reauth?next=${encodeURIComponent(GUARDED)}`, headers: { cookie: manager } });
        assert.doesNotMatch(page.body, /name="password"/, 'no password form for a member of an organization that requires SSO');
        assert.match(page.body, /Continue with/);
        const before = (await events('auth.reauthentication_failed')).length;
        const confirm = (cookie: string, csrf: string) =>
          t.app.inject({ method: 'POST', url: '/-/reauth', headers: { cookie, 'content-type': form }, payload: new URLSearchParams({ _csrf: csrf, password: PASSWORD, next: GUARDED }).toString() });
        const refused = await confirm(manager, csrfFrom(page.body));
        assert.equal(refused.statusCode, 403);
        assert.match(refused.body, /requires single sign-on/);
        assert.ok(((await reauthenticatedAt(manager)) ?? 0) < Date.now() - 30 * 60 * 1000, 'the session is not confirmed');
        const failures = await events('auth.reauthentication_failed');
        assert.equal(failures.length, before + 1);
        assert.equal(failures.at(-1)!.reason, 'sso required');
        assert.equal(failures.at(-1)!.outcome, 'denied');
        // the break-glass owner keeps the password
        const ownerPage = await t.app.inject({ method: 'GET', url: `/-/reauth?next=${encodeURIComponent(GUARDED)}`, headers: { cookie: owner } });
        assert.match(ownerPage.body, /name="password"/);
        const confirmed = await confirm(owner, csrfFrom(ownerPage.body));
        assert.equal(confirmed.statusCode, 303);
        assert.equal(confirmed.headers.location, GUARDED);
        assert.ok(((await reauthenticatedAt(owner)) ?? 0) > Date.now() - 60 * 1000);
        const confirmation = (await events('auth.reauthenticated')).at(-1);
        assert.equal(confirmation?.actor_id, ownerId);
        assert.deepEqual(detailsOf(confirmation), { method: 'password', mfa: false });
      } finally {
        await saveConnection(t.context.db, box, ownerActor, acmeId, { ...ssoSettings, clientSecret: null }, origin);
      }
    });

    test('an owner with a password and a linked identity sees both ways', async () => {
      idp.identities.set('owner', { sub: 'sub-owner', email: 'owner@acme.test' });
      await ssoSession('owner');
      const owner = await t.login('owner@acme.test');
      const page = await t.app.inject({ method: 'GET', url: `/-/reauth?next=${encodeURIComponent(GUARDED)}`, headers: { cookie: owner } });
      assert.match(page.body, /name="password"/);
      assert.match(page.body, /Continue with/);
      assert.equal(ownerId, await userId('owner@acme.test'));
    });
  });
}
