import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { UserActor } from '../../src/access/actor.ts';
import { mfaSecretBox } from '../../src/auth/mfa.ts';
import { saveConnection } from '../../src/auth/sso/connection-settings.ts';
import { startTestProvider, type TestProvider } from '../helpers/oidc-provider.ts';
import { testConfig } from '../helpers/test-app.ts';
import { assertFormsSubmitted } from './forms.ts';
import { outputDir } from './server.ts';
import { startChromium, stopChromium, watchPage, type E2eServer } from './session.ts';

const shots = outputDir('sso-reauthentication');
const GUARDED = '/-/account/tokens/new';
let browser: Browser;
let server: E2eServer;
let idp: TestProvider;
const problems: string[] = [];

before(async () => {
  ({ server, browser } = await startChromium(['owner']));
  idp = await startTestProvider({ redirectUris: [`${server.url}/login/sso/callback`] });
  idp.identities.set('jane', { sub: 'jane-1', email: 'jane.doe@zephyrcart.test', name: 'Jane Doe' });
  idp.amr = ['pwd', 'mfa'];
  const db = server.context.db;
  const org = await db.selectFrom('organizations').select('id').where('slug', '=', 'zephyrcart').executeTakeFirstOrThrow();
  const owner = await db.selectFrom('users').select(['id', 'email']).where('email', '=', 'owner@zephyrcart.test').executeTakeFirstOrThrow();
  const actor: UserActor = { kind: 'user', userId: owner.id, email: owner.email, name: 'Owner', memberships: new Map([[org.id, 'owner']]) };
  await saveConnection(
    db,
    mfaSecretBox(testConfig('/nowhere').mfaKeys),
    actor,
    org.id,
    {
      enabled: true,
      issuer: idp.issuer,
      clientId: idp.clientId,
      clientSecret: idp.clientSecret,
      allowedDomains: ['zephyrcart.test'],
      roleClaim: null,
      roleMapping: {},
      defaultRole: 'member',
      requireSso: false,
      breakGlassUserId: null,
    },
    { requestId: 'e2e', ip: '127.0.0.1' },
  );
});
after(async () => {
  await stopChromium(server, browser);
  await idp?.stop();
});

test('an account made by single sign-on (no password) confirms it is them at the provider and gets back to the token form', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  // The test provider has no favicon; Chromium logs its 404 as a console error. The app's own answers are checked below.
  watchPage(page, problems, { expectedConsole: /status of 404/ });
  page.on('response', (r) => {
    if (r.url().startsWith(server.url) && r.status() >= 400) problems.push(`${r.status()}: ${r.url()}`);
  });

  // Signed in through the provider: a new account without a password.
  await page.goto(`${server.url}/login/sso?next=${encodeURIComponent('/-/account')}`);
  await page.fill('input[name="org"]', 'zephyrcart');
  await page.click('form[action="/login/sso"] button[type="submit"]');
  await page.waitForURL(`${idp.issuer}/interaction/**`);
  await page.fill('input[name="login"]', 'jane');
  await Promise.all([page.waitForURL(`${server.url}/-/account`), page.click('button[type="submit"]')]);

  // Long ago, as far as the session knows: the token form asks to confirm it's you, with the provider only.
  const jane = await server.context.db.selectFrom('users').select(['id', 'password_hash']).where('email', '=', 'jane.doe@zephyrcart.test').executeTakeFirstOrThrow();
  assert.equal(jane.password_hash, null);
  await server.context.db.updateTable('sessions').set({ reauthenticated_at: new Date(Date.now() - 3600_000) }).where('user_id', '=', jane.id).execute();
  await server.context.sessions.invalidateUser(jane.id);
  await page.goto(`${server.url}${GUARDED}`);
  await page.waitForURL(`${server.url}/-/reauth?next=${encodeURIComponent(GUARDED)}`);
  const host = new URL(idp.issuer).host;
  const button = page.locator('form[action="/-/reauth/sso"] button[type="submit"]');
  assert.equal((await button.innerText()).trim(), `Continue with ${host}`);
  assert.equal(await page.locator('input[name="password"]').count(), 0, 'no password form for an account without one');
  await page.screenshot({ path: join(shots, '1-confirm-with-provider.png'), fullPage: true });

  // The provider asks to sign in again although its own session is fresh (prompt=login), then sends back.
  await button.click();
  await page.waitForURL(`${idp.issuer}/interaction/**`);
  await page.fill('input[name="login"]', 'jane');
  await Promise.all([page.waitForURL(`${server.url}${GUARDED}`), page.click('button[type="submit"]')]);
  await page.screenshot({ path: join(shots, '2-back-at-the-form.png'), fullPage: true });

  // The action that needed it now works.
  await page.fill('input[name="name"]', 'SSO laptop');
  await page.click('form[action="/-/account/tokens/new"] button[type="submit"]');
  await page.locator('#new-token').waitFor();
  assert.match(await page.locator('#new-token').inputValue(), /^dcpat_/);
  await context.close();

  assert.deepEqual(problems, []);
  assertFormsSubmitted(server.submissions, import.meta.url);
});
