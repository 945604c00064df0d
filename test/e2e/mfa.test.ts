import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { base32Decode, hotp, timeStep } from '../../src/auth/totp.ts';
import { signIn as signInThrough, startChromium, stopChromium, watchPage, type E2eServer } from './session.ts';
import { assertFormsSubmitted } from './forms.ts';
import { outputDir } from './server.ts';

const shots = outputDir('mfa');
const EMAIL = 'member@zephyrcart.test';
const PAGE = '/zephyrcart/intranet/policies/data-handling';
let browser: Browser;
let server: E2eServer;
const problems: string[] = [];

before(async () => ({ server, browser } = await startChromium(['member'])));
after(() => stopChromium(server, browser));

// A wrong code is answered 401 on purpose; the browser logs that status as a console error.
const watch = (page: Page) => watchPage(page, problems, { expectedConsole: /status of 401/ });

const signInWithPassword = (page: Page) => signInThrough(page, server.url, { email: EMAIL, next: PAGE, wait: false });

async function signOut(page: Page) {
  await page.click('.topbar-signout button[type="submit"]');
  await page.waitForURL(`${server.url}/`);
}

const step = () => timeStep(Date.now() / 1000);

test('enroll TOTP, sign in with a code, then with a recovery code', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  watch(page);

  // Sign in with the password only (not enrolled yet) and open the security page.
  await signInWithPassword(page);
  await page.waitForURL(`${server.url}${PAGE}`);
  await page.goto(`${server.url}/-/account/security`);
  await page.screenshot({ path: join(shots, '1-security-off.png'), fullPage: true });
  await page.click('a[href="/-/account/security/enroll"]');
  await page.waitForURL(`${server.url}/-/account/security/enroll`);
  assert.ok(await page.locator('svg.mfa-qr').isVisible(), 'QR code drawn');
  await page.screenshot({ path: join(shots, '2-enroll.png'), fullPage: true });
  const key = base32Decode(await page.locator('#mfa-secret').innerText());
  assert.equal(key.length, 20);
  await page.fill('input[name="code"]', hotp(key, step()));
  await page.click('form.mfa-confirm button[type="submit"]');
  await page.locator('.mfa-recovery-codes').waitFor();
  const codes = await page.locator('.mfa-recovery-codes code').allInnerTexts();
  assert.equal(codes.length, 10);
  await page.screenshot({ path: join(shots, '3-recovery-codes.png'), fullPage: true });
  await page.click('a.button-primary');
  await page.waitForURL(/\/-\/account\/security\?notice=enrolled$/);
  assert.match(await page.locator('.mfa-status').innerText(), /On/);
  await page.screenshot({ path: join(shots, '4-security-on.png'), fullPage: true });
  await signOut(page);

  // Sign in again: password, then a TOTP code (the next step: enrollment spent the current one).
  await signInWithPassword(page);
  await page.waitForURL(/\/login\/mfa\?next=/);
  const blocked = await page.context().request.get(`${server.url}${PAGE}`, { maxRedirects: 0 });
  assert.equal(blocked.status(), 303, 'the document is out of reach while the code is pending');
  await page.screenshot({ path: join(shots, '5-challenge.png'), fullPage: true });
  await page.fill('input[name="code"]', '000000');
  await page.click('form[action="/login/mfa"] button[type="submit"]');
  await page.locator('#mfa-error').filter({ hasText: 'not correct' }).waitFor();
  await page.screenshot({ path: join(shots, '6-challenge-wrong-code.png'), fullPage: true });
  await page.fill('input[name="code"]', hotp(key, step() + 1));
  await page.click('form[action="/login/mfa"] button[type="submit"]');
  await page.waitForURL(`${server.url}${PAGE}`);
  assert.equal(await page.locator('h1').first().innerText(), 'Data handling');
  await signOut(page);

  // And with a recovery code.
  await signInWithPassword(page);
  await page.waitForURL(/\/login\/mfa\?next=/);
  await page.fill('input[name="code"]', codes[0]!);
  await page.click('form[action="/login/mfa"] button[type="submit"]');
  await page.waitForURL(`${server.url}${PAGE}`);
  await page.goto(`${server.url}/-/account/security`);
  assert.match(await page.locator('#mfa-heading + .mfa-lead').innerText(), /9 unused/);

  // Phone-sized challenge page.
  await signOut(page);
  await page.setViewportSize({ width: 390, height: 844 });
  await signInWithPassword(page);
  await page.waitForURL(/\/login\/mfa\?next=/);
  await page.screenshot({ path: join(shots, '7-challenge-mobile.png'), fullPage: true });

  assert.deepEqual(problems, []);
  await page.close();
});

test('every form this file is listed for was submitted and accepted', () => {
  assertFormsSubmitted(server.submissions, import.meta.url);
});
