import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { signIn, startChromium, stopChromium, type E2eServer } from './session.ts';
import { asDatabaseOwner } from '../helpers/databases.ts';
import { assertFormsSubmitted } from './forms.ts';
import { outputDir } from './server.ts';

const shots = outputDir('settings');
const DOC = '/zephyrcart/intranet/policies/data-handling';
let browser: Browser;
let server: E2eServer;

before(async () => ({ server, browser } = await startChromium(['owner'])));
after(() => stopChromium(server, browser));

test('an owner allows an image host in the settings form; the organization’s pages then allow images from it', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await signIn(page, server.url, { email: 'owner@zephyrcart.test', next: '/zephyrcart/-/settings' });

  const before = await page.request.get(`${server.url}${DOC}`);
  assert.match(before.headers()['content-security-policy'] ?? '', /img-src 'self' data:;/);

  await page.fill('textarea[name="image_hosts"]', 'not a host/at all');
  await page.click('form button[type="submit"] >> text=Save settings');
  // the error block is on the form page too (empty, for aria-describedby): wait for the answer's message
  await page.locator('#setting-image_hosts-error', { hasText: /is not a host name/ }).waitFor();

  await page.fill('textarea[name="image_hosts"]', 'images.zephyrcart.example');
  await page.screenshot({ path: join(shots, '1-image-hosts.png'), fullPage: true });
  await Promise.all([page.waitForURL(/\/zephyrcart\/-\/settings\?done=saved$/), page.click('form button[type="submit"] >> text=Save settings')]);
  assert.match(await page.locator('.flash').first().innerText(), /Settings saved/);
  assert.equal(await page.locator('textarea[name="image_hosts"]').inputValue(), 'images.zephyrcart.example');

  const response = await page.goto(`${server.url}${DOC}`);
  assert.equal(response?.status(), 200);
  assert.match((await response.allHeaders())['content-security-policy'] ?? '', /img-src 'self' data: https:\/\/images\.zephyrcart\.example;/);
  assert.deepEqual(problems, []);
  await context.close();
});

test('an owner turns on "refuse changes that add broken links"; an editor save adding one is then refused, the text kept', async () => {
  // without JavaScript: the plain form and the plain textarea (the setting and the refusal need no script)
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page, server.url, { email: 'owner@zephyrcart.test', next: '/zephyrcart/-/settings' });
  const box = page.locator('input[name="refuse_broken_links"]');
  assert.equal(await box.isChecked(), false, 'off by default');
  await box.check();
  await page.locator('#links-heading').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, '2-refuse-broken-links.png') });
  await Promise.all([page.waitForURL(/\/zephyrcart\/-\/settings\?done=saved$/), page.click('form button[type="submit"] >> text=Save settings')]);
  assert.equal(await page.locator('input[name="refuse_broken_links"]').isChecked(), true, 'saved');

  await page.goto(`${server.url}/zephyrcart/intranet/-/edit/onboarding.md`);
  const text = page.locator('textarea[name="content"]');
  const typed = `${await text.inputValue()}\nSee [the archive](archive/retired.md).\n`;
  await text.fill(typed);
  await page.click('form[data-editor] button[type="submit"]');
  await page.locator('#editor-errors', { hasText: /refuses changes/ }).waitFor();
  const error = await page.locator('#editor-errors').innerText();
  assert.match(error, /this organization refuses changes that add broken links/);
  assert.match(error, /onboarding\.md:\d+: link archive\/retired\.md leads to a page that does not exist/);
  assert.equal(await page.locator('textarea[name="content"]').inputValue(), typed, 'the text is kept');
  await page.screenshot({ path: join(shots, '3-save-refused.png'), fullPage: true });
  await context.close();
});

test('an owner turns review on for internal documents; restricted keeps the two-person rule; the editor then proposes', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await signIn(page, server.url, { email: 'owner@zephyrcart.test', next: '/zephyrcart/-/settings' });
  const form = page.locator('form[action="/zephyrcart/-/settings/review"]');
  assert.equal(await form.locator('input[name="review_restricted"]').isDisabled(), true, 'restricted review cannot be turned off');

  // lowering the two-person rule is refused with a message next to the classification
  await form.locator('input[name="approvals_restricted"]').fill('1');
  await form.locator('button[type="submit"]').click();
  await page.locator('#review-restricted-error', { hasText: /two-person rule/ }).waitFor();

  await form.locator('input[name="approvals_restricted"]').fill('2');
  await form.locator('input[name="review_internal"]').check();
  await form.locator('input[name="approvals_internal"]').fill('1');
  await form.locator('select[name="role_internal"]').selectOption('manager');
  await page.screenshot({ path: join(shots, '2-review-settings.png'), fullPage: true });
  await Promise.all([page.waitForURL(/\/zephyrcart\/-\/settings\?done=review-saved/), form.locator('button[type="submit"]').click()]);
  assert.match(await page.locator('.flash').first().innerText(), /Review settings saved/);
  assert.equal(await form.locator('input[name="review_internal"]').isChecked(), true);

  // an internal document now offers "Propose change" only
  await page.goto(`${server.url}/zephyrcart/intranet/-/edit/onboarding.md`);
  assert.match(await page.locator('[data-review-required]').innerText(), /internal and needs 1 approval by a manager or above/);
  assert.equal(await page.locator('button:text-is("Save")').count(), 0);
  const events = await asDatabaseOwner(server.context.db, (db) => db.selectFrom('audit_events').select(['details']).where('action', '=', 'settings.review_changed').execute());
  assert.deepEqual(events.map((e) => e.details), [{ changed: 'internal', internal_from: 'off', internal_to: '1 manager' }]);
  assert.deepEqual(problems, []);
  await context.close();
});

test('every form this file is listed for was submitted and accepted', () => {
  assertFormsSubmitted(server.submissions, import.meta.url);
});
