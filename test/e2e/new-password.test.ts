import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { upsertAccount } from '../../src/auth/accounts.ts';
import { signIn as signInThrough, startChromium, stopChromium, watchPage, type E2eServer } from './session.ts';
import { assertFormsSubmitted } from './forms.ts';
import { E2E_PASSWORD, outputDir } from './server.ts';

const shots = outputDir('new-password');
let browser: Browser;
let server: E2eServer;
const problems: string[] = [];

before(async () => ({ server, browser } = await startChromium(['admin'])));
after(() => stopChromium(server, browser));

const watch = (page: Page) => watchPage(page, problems);

const signIn = (page: Page, email: string, password: string) => signInThrough(page, server.url, { email, password });

test('a generated password is replaced at first sign-in, and a reset link sets a new one', async () => {
  const { generatedPassword } = await upsertAccount(server.context.db, { email: 'new@zephyrcart.test', name: 'Nia New', orgSlug: 'zephyrcart', role: 'member' });
  assert.ok(generatedPassword);

  const member = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  watch(member);
  await signIn(member, 'new@zephyrcart.test', generatedPassword);
  await member.waitForURL(/\/login\/password\?next=/);
  await member.screenshot({ path: join(shots, '1-first-password.png'), fullPage: true });
  await member.fill('input[name="password"]', 'my own long passphrase');
  await member.click('form[action="/login/password"] button[type="submit"]');
  await member.waitForURL(`${server.url}/`);
  assert.match(await member.locator('.topbar-user').innerText(), /Nia New/);

  // An admin issues a reset link from the members page.
  const admin = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  watch(admin);
  await signIn(admin, 'admin@zephyrcart.test', E2E_PASSWORD);
  await admin.waitForURL(`${server.url}/`);
  await admin.goto(`${server.url}/zephyrcart/-/members`);
  const row = admin.locator('tr', { hasText: 'new@zephyrcart.test' });
  await row.locator('form[action$="/password-reset"] button[type="submit"]').click();
  const link = await admin.locator('input[aria-label="Password-reset link"]').inputValue();
  assert.match(link, /\/password-reset\/[A-Za-z0-9_-]{43}$/);
  await admin.screenshot({ path: join(shots, '2-reset-link-issued.png'), fullPage: true });

  // The member uses it in a fresh browser; their signed-in page is signed out.
  const fresh = await browser.newContext();
  const reset = await fresh.newPage();
  await reset.setViewportSize({ width: 1280, height: 900 });
  watch(reset);
  await reset.goto(link);
  await reset.screenshot({ path: join(shots, '3-reset-form.png'), fullPage: true });
  await reset.fill('input[name="password"]', 'a reset passphrase here');
  await reset.click('form[action^="/password-reset/"] button[type="submit"]');
  await reset.locator('h1', { hasText: 'Your password is set' }).waitFor();
  await reset.screenshot({ path: join(shots, '4-reset-done.png'), fullPage: true });
  await member.reload();
  assert.equal(await member.locator('.topbar-signin').count(), 1, 'the member’s old session ended');
  await signIn(member, 'new@zephyrcart.test', 'a reset passphrase here');
  await member.waitForURL(`${server.url}/`);
  await fresh.close();
  assert.deepEqual(problems, []);
});

test('every form this file is listed for was submitted and accepted', () => {
  assertFormsSubmitted(server.submissions, import.meta.url);
});
