import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { base32Decode, hotp, timeStep } from '../../src/auth/totp.ts';
import { signIn, startChromium, stopChromium, watchPage, type E2eServer } from './session.ts';
import { assertFormsSubmitted } from './forms.ts';
import { E2E_PASSWORD, outputDir } from './server.ts';

const shots = outputDir('account');
let email = 'member@zephyrcart.test';
let password = E2E_PASSWORD;
let browser: Browser;
let server: E2eServer;
const problems: string[] = [];

before(async () => ({ server, browser } = await startChromium(['member'])));
after(() => stopChromium(server, browser));

async function signedIn(next = '/-/account'): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  const page = await context.newPage();
  watchPage(page, problems);
  await signIn(page, server.url, { email, password, next });
  return { context, page };
}

/** Pretend the sign-in was long ago, so the next sensitive action asks to confirm it's you. */
async function ageSignIn() {
  const user = await server.context.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow();
  await server.context.db.updateTable('sessions').set({ reauthenticated_at: new Date(Date.now() - 3600_000) }).where('user_id', '=', user.id).execute();
  server.context.sessions.invalidateUser(user.id);
}

const clipboard = (page: Page) => page.evaluate(() => navigator.clipboard.readText());

test('sessions: one ended, then all others', async () => {
  const main = await signedIn('/-/account/sessions');
  const second = await signedIn();
  const third = await signedIn();
  await main.page.reload();
  assert.equal(await main.page.locator('form[action="/-/account/sessions/revoke"]').count(), 2);
  await Promise.all([main.page.waitForURL(/notice=revoked$/), main.page.locator('form[action="/-/account/sessions/revoke"] button').first().click()]);
  assert.equal(await main.page.locator('form[action="/-/account/sessions/revoke"]').count(), 1);
  await Promise.all([main.page.waitForURL(/notice=others$/), main.page.click('form[action="/-/account/sessions/revoke-others"] button')]);
  assert.equal(await main.page.locator('form[action="/-/account/sessions/revoke"]').count(), 0);
  for (const other of [second, third]) {
    await other.page.goto(`${server.url}/-/account`);
    assert.match(other.page.url(), /\/login/, 'the other browsers are signed out');
    await other.context.close();
  }
  await main.context.close();
  assert.deepEqual(problems, []);
});

test('a personal access token is created, copied with its button, and revoked', async () => {
  const { context, page } = await signedIn('/-/account/tokens/new');
  await page.fill('input[name="name"]', 'Laptop git');
  await page.click('form[action="/-/account/tokens/new"] button[type="submit"]');
  await page.locator('#new-token').waitFor();
  const token = await page.locator('#new-token').inputValue();
  assert.match(token, /^dcpat_/);
  await page.click('button[data-copy="new-token"]');
  assert.equal(await clipboard(page), token);
  assert.equal(await page.locator('button[data-copy="new-token"]').innerText(), 'Copied');
  await page.screenshot({ path: join(shots, '1-new-token.png') });
  await Promise.all([page.waitForURL(/\/-\/account\/tokens$/), page.click('a >> text=Done')]);
  await Promise.all([page.waitForURL(/\/-\/account\/tokens\?/), page.locator('form[action$="/revoke"] button', { hasText: 'Revoke' }).first().click()]);
  assert.equal(await page.locator('form[action$="/revoke"]').count(), 0);
  await context.close();
  assert.deepEqual(problems, []);
});

test('tokens for the REST API: the scope chosen in the form decides; the browser session alone never authorizes the API', async () => {
  const { context, page } = await signedIn('/-/account/tokens/new');
  const create = async (name: string, access: 'read' | 'write') => {
    await page.goto(`${server.url}/-/account/tokens/new`);
    await page.fill('input[name="name"]', name);
    await page.check(`input[name="access"][value="${access}"]`);
    // the page that shows the new token once (waiting for 'load' would resolve on the form page itself)
    await page.click('form[action="/-/account/tokens/new"] button[type="submit"]');
    await page.locator('#new-token').waitFor();
    await page.screenshot({ path: join(shots, `api-1-new-${access}-token.png`) });
    return page.locator('#new-token').inputValue();
  };
  const read = await create('API read', 'read');
  const write = await create('API write', 'write');
  await page.goto(`${server.url}/-/account/tokens`);
  assert.match(await page.locator('main').innerText(), /API read[\s\S]*API write|API write[\s\S]*API read/);

  // requests with the signed-in browser's cookies (Playwright's request context shares them): the API does not accept them
  assert.ok((await context.cookies()).some((c) => c.name === 'dc_session'));
  const listed = await context.request.get(`${server.url}/api/v1/projects`);
  const posted = await context.request.post(`${server.url}/api/v1/projects/zephyrcart/intranet/change-requests`, { data: { title: 'x', branch: 'y' } });
  assert.deepEqual([listed.status(), posted.status(), ((await listed.json()) as { error: { code: string } }).error.code], [401, 401, 'not_authenticated']);

  const api = (path: string, token: string, body?: unknown) =>
    fetch(`${server.url}/api/v1${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const projects = (await (await api('/projects', read)).json()) as { items: { org: string; project: string }[] };
  assert.ok(projects.items.some((p) => p.org === 'zephyrcart' && p.project === 'intranet'));
  const source = (await (await api('/projects/zephyrcart/intranet/document/markdown?path=onboarding.md', read)).json()) as { markdown: string };
  const proposal = { title: 'Onboarding via the API', edit: { path: 'onboarding.md', content: `${source.markdown}\nAdded through the API.\n` } };
  assert.equal((await api('/projects/zephyrcart/intranet/change-requests', read, proposal)).status, 403);
  const opened = await api('/projects/zephyrcart/intranet/change-requests', write, proposal);
  assert.equal(opened.status, 201);
  const number = ((await opened.json()) as { number: number }).number;
  // the change request opened through the API is the one the pages show
  await page.goto(`${server.url}/zephyrcart/intranet/-/changes/${number}`);
  assert.match(await page.locator('main').innerText(), /Onboarding via the API/);
  await page.screenshot({ path: join(shots, 'api-2-change-request-from-api.png') });
  await context.close();
  assert.deepEqual(problems, []);
});

test('email address and password changed; the sign-out page signs out', async () => {
  const { context, page } = await signedIn('/-/account/email');
  await page.fill('input[name="email"]', 'member.renamed@zephyrcart.test');
  await Promise.all([page.waitForURL(/\/-\/account\?/), page.click('form[action="/-/account/email"] button[type="submit"]')]);
  email = 'member.renamed@zephyrcart.test';

  await page.goto(`${server.url}/-/account/security/password`);
  await page.fill('input[name="current"]', password);
  await page.fill('input[name="password"]', 'another long passphrase');
  await Promise.all([page.waitForURL(/\/-\/account\/security\?/), page.click('form[action="/-/account/security/password"] button[type="submit"]')]);
  password = 'another long passphrase';

  await page.goto(`${server.url}/logout`);
  await Promise.all([page.waitForURL(`${server.url}/`), page.click('form[action="/logout"] button >> text=Sign out')]);
  await context.close();

  const again = await signedIn();
  assert.match(await again.page.locator('main').innerText(), /member\.renamed@zephyrcart\.test/);
  await again.context.close();
  assert.deepEqual(problems, []);
});

test('recovery codes: regenerated after confirming it is you, copied and downloaded; two-step verification turned off', async () => {
  const { context, page } = await signedIn('/-/account/security');
  await page.goto(`${server.url}/-/account/security/enroll`);
  const key = base32Decode(await page.locator('#mfa-secret').innerText());
  await page.click('button[data-copy="mfa-secret"]');
  assert.equal((await clipboard(page)).replace(/\s/g, ''), (await page.locator('#mfa-secret').innerText()).replace(/\s/g, ''));
  await page.fill('input[name="code"]', hotp(key, timeStep(Date.now() / 1000)));
  await page.click('form.mfa-confirm button[type="submit"]');
  await page.locator('.mfa-recovery-codes').waitFor();
  await page.goto(`${server.url}/-/account/security`);

  await ageSignIn();
  await Promise.all([page.waitForURL(/\/-\/reauth\?next=/), page.click('form[action="/-/account/security/recovery-codes"] button')]);
  await page.fill('input[name="password"]', password);
  await page.fill('input[name="code"]', hotp(key, timeStep(Date.now() / 1000) + 1));
  await Promise.all([page.waitForURL(/\/-\/account\/security$/), page.click('form[action="/-/reauth"] button[type="submit"]')]);
  await page.click('form[action="/-/account/security/recovery-codes"] button');
  await page.locator('.mfa-recovery-codes code').first().waitFor();
  const codes = await page.locator('.mfa-recovery-codes code').allInnerTexts();
  assert.equal(codes.length, 10);
  await page.click('button[data-copy="recovery-codes"]');
  assert.equal(await clipboard(page), codes.join('\n') + '\n');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('a >> text=Download as text')]);
  assert.equal(download.suggestedFilename(), 'docucommit-recovery-codes.txt');
  assert.equal(readFileSync((await download.path()), 'utf8'), codes.join('\n') + '\n');
  await page.screenshot({ path: join(shots, '2-recovery-codes.png'), fullPage: true });

  await page.goto(`${server.url}/-/account/security`);
  await Promise.all([page.waitForURL(/notice=disabled$/), page.click('form[action="/-/account/security/disable"] button')]);
  assert.match(await page.locator('.mfa-status').innerText(), /Off/);
  await context.close();
  assert.deepEqual(problems, []);
});

test('every form this file is listed for was submitted and accepted', () => {
  assertFormsSubmitted(server.submissions, import.meta.url);
});
