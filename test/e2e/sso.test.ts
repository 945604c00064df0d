import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startTestProvider, type TestProvider } from '../helpers/oidc-provider.ts';
import { launchChromium } from './browser.ts';
import { assertFormsSubmitted } from './forms.ts';
import { E2E_PASSWORD, outputDir, startServer } from './server.ts';

const shots = outputDir('sso');
const PAGE = '/zephyrcart/intranet/policies/data-handling';
let browser: Browser;
let server: Awaited<ReturnType<typeof startServer>>;
let idp: TestProvider;
const problems: string[] = [];

before(async () => {
  server = await startServer(['owner', 'member']);
  idp = await startTestProvider({ redirectUris: [`${server.url}/login/sso/callback`] });
  idp.identities.set('jane', { sub: 'jane-1', email: 'jane.doe@zephyrcart.test', name: 'Jane Doe', groups: ['policy-editors'] });
  idp.identities.set('member', { sub: 'member-1', email: 'member@zephyrcart.test', name: 'Zed member' });
  idp.amr = ['pwd', 'mfa'];
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await idp?.stop();
  await server?.stop();
});

function watch(page: Page) {
  page.on('console', (m) => {
    // Refusals are answered 401/403 on purpose; the browser logs those statuses as console errors.
    if (m.type() === 'error' && !/status of 40[134]/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('response', (r) => {
    // The test provider has no favicon (the app's own 404s still count).
    if (r.status() === 404 && !r.url().startsWith(idp.issuer)) problems.push(`404: ${r.url()}`);
  });
}

async function passwordSignIn(page: Page, email: string, next: string) {
  await page.goto(`${server.url}/login?next=${encodeURIComponent(next)}`);
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', E2E_PASSWORD);
  await page.click('form[action="/login"] button[type="submit"]');
}

async function ssoSignIn(page: Page, login: string, next: string, shot?: string) {
  await page.goto(`${server.url}/login?next=${encodeURIComponent(next)}`);
  await page.click('a:has-text("Sign in with SSO")');
  await page.waitForURL(/\/login\/sso\?/);
  await page.fill('input[name="org"]', 'zephyrcart');
  if (shot) await page.screenshot({ path: join(shots, shot), fullPage: true });
  await page.click('form[action="/login/sso"] button[type="submit"]');
  // The app's Refresh header leads to the provider's sign-in page.
  await page.waitForURL(`${idp.issuer}/interaction/**`);
  await page.fill('input[name="login"]', login);
  await page.click('button[type="submit"]');
}

test('an owner sets up single sign-on; a new person signs in through the provider with the mapped role; required SSO refuses a member’s password', async () => {
  const ownerContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const owner = await ownerContext.newPage();
  watch(owner);
  await passwordSignIn(owner, 'owner@zephyrcart.test', '/zephyrcart/-/settings/sso');
  await owner.waitForURL(`${server.url}/zephyrcart/-/settings/sso`);
  assert.equal(await owner.locator('#sso-redirect-uri').innerText(), `${server.url}/login/sso/callback`);
  await owner.check('input[name="enabled"]');
  await owner.fill('input[name="issuer"]', idp.issuer);
  await owner.fill('input[name="client_id"]', idp.clientId);
  await owner.fill('input[name="client_secret"]', idp.clientSecret);
  await owner.fill('textarea[name="allowed_domains"]', 'zephyrcart.test');
  await owner.selectOption('select[name="default_role"]', 'viewer');
  await owner.fill('input[name="role_claim"]', 'groups');
  await owner.fill('textarea[name="role_mapping"]', 'policy-editors = member');
  await owner.screenshot({ path: join(shots, '1-settings.png'), fullPage: true });
  await Promise.all([owner.waitForURL(/\/zephyrcart\/-\/settings\/sso\?done=saved$/), owner.click('button:has-text("Save single sign-on")')]);
  assert.match(await owner.locator('.flash').first().innerText(), /saved/);
  assert.equal(await owner.locator('input[name="client_secret"]').inputValue(), '', 'the secret is never shown again');

  // A new person signs in through the provider: just-in-time membership with the role the claim maps to.
  const janeContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const jane = await janeContext.newPage();
  watch(jane);
  await ssoSignIn(jane, 'jane', PAGE, '2-sso-start.png');
  await jane.waitForURL(`${server.url}${PAGE}`);
  assert.match(await jane.locator('.topbar').innerText(), /Jane Doe/);
  await jane.screenshot({ path: join(shots, '3-signed-in.png'), fullPage: true });
  const flowCookie = (await janeContext.cookies()).find((c) => c.name === 'dc_sso');
  assert.ok(flowCookie?.httpOnly && flowCookie.sameSite === 'Lax', 'the flow cookie is httpOnly and SameSite=Lax');
  await janeContext.close();

  // The owner requires single sign-on, keeping their own password as the break-glass owner.
  await owner.reload();
  await owner.check('input[name="require_sso"]');
  const ownerId = await owner.locator('select[name="break_glass_user_id"] option:has-text("owner@zephyrcart.test")').getAttribute('value');
  await owner.selectOption('select[name="break_glass_user_id"]', ownerId!);
  await Promise.all([owner.waitForURL(/\?done=saved$/), owner.click('button:has-text("Save single sign-on")')]);
  await ownerContext.close();

  const memberContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const member = await memberContext.newPage();
  watch(member);
  await passwordSignIn(member, 'member@zephyrcart.test', PAGE);
  await member.waitForLoadState('load');
  assert.match(await member.locator('#login-error').innerText(), /requires single sign-on/);
  await member.screenshot({ path: join(shots, '4-password-refused.png'), fullPage: true });
  // ...but single sign-on lets the member in.
  await ssoSignIn(member, 'member', PAGE);
  await member.waitForURL(`${server.url}${PAGE}`);
  assert.match(await member.locator('.topbar').innerText(), /Zed member/);
  await memberContext.close();

  // The break-glass owner still signs in with the password.
  const breakGlassContext = await browser.newContext();
  const breakGlass = await breakGlassContext.newPage();
  await passwordSignIn(breakGlass, 'owner@zephyrcart.test', PAGE);
  await breakGlass.waitForURL(`${server.url}${PAGE}`);
  await breakGlassContext.close();

  assert.deepEqual(problems, []);
  assertFormsSubmitted(server.submissions, import.meta.url);
});
