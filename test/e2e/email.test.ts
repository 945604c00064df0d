import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { SmtpReceiver } from '../helpers/smtp-receiver.ts';
import { launchChromium } from './browser.ts';
import { assertFormsSubmitted } from './forms.ts';
import { E2E_PASSWORD, outputDir, startServer } from './server.ts';

const shots = outputDir('email');
const smtp = new SmtpReceiver();
let browser: Browser;
let server: Awaited<ReturnType<typeof startServer>>;
const problems: string[] = [];

before(async () => {
  await smtp.start();
  server = await startServer(['member'], {}, { email: { smtpUrl: smtp.url, from: 'DocuCommit <docs@zephyrcart.test>', digestWindowMs: 0 } });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.stop();
  await smtp.close();
});

function watch(page: Page) {
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
}

test('"Forgot password?" emails a link that sets a new password; the account page turns email off', async () => {
  await server.context.email!.runFeeds();
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  watch(page);
  await page.goto(`${server.url}/login`);
  await page.click('a[href="/login/forgot"]');
  await page.locator('h1', { hasText: 'Forgot your password?' }).waitFor();
  await page.screenshot({ path: join(shots, '1-forgot-form.png'), fullPage: true });
  await page.fill('input[name="email"]', 'member@zephyrcart.test');
  await page.click('form[action="/login/forgot"] button[type="submit"]');
  await page.locator('#forgot-sent').waitFor();
  await page.screenshot({ path: join(shots, '2-forgot-sent.png'), fullPage: true });

  await server.context.email!.runOnce();
  const mail = smtp.to('member@zephyrcart.test').find((m) => /Reset your DocuCommit password/.test(m.subject));
  assert.ok(mail, 'the reset email arrived');
  const link = /http:\/\/[^\s]+\/password-reset\/[A-Za-z0-9_-]{43}/.exec(mail.text)?.[0];
  assert.ok(link);
  await page.goto(`${server.url}${new URL(link).pathname}`);
  await page.fill('input[name="password"]', 'an emailed reset passphrase');
  await page.click('form[action^="/password-reset/"] button[type="submit"]');
  await page.locator('h1', { hasText: 'Your password is set' }).waitFor();

  await page.goto(`${server.url}/login`);
  await page.fill('input[name="email"]', 'member@zephyrcart.test');
  await page.fill('input[name="password"]', 'an emailed reset passphrase');
  await page.click('form[action="/login"] button[type="submit"]');
  await page.waitForURL(`${server.url}/`);
  await page.goto(`${server.url}/-/account`);
  const box = page.locator('input[name="notify"]');
  assert.equal(await box.isChecked(), true);
  await page.locator('#email').screenshot({ path: join(shots, '3-email-section.png') });
  await box.uncheck();
  await page.click('form[action="/-/account/email-notifications"] button[type="submit"]');
  await page.waitForURL(/notice=email-off/);
  await page.screenshot({ path: join(shots, '4-email-off.png'), fullPage: true });
  assert.equal(await page.locator('input[name="notify"]').isChecked(), false);
  assert.match(await page.locator('body').innerText(), /Security notices and password resets are still sent/);
  assert.ok(E2E_PASSWORD.length > 0);
  assert.deepEqual(problems, []);
});

test('every form this file is listed for was submitted and accepted', () => {
  assertFormsSubmitted(server.submissions, import.meta.url);
});
