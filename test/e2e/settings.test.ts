import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from './browser.ts';
import { E2E_PASSWORD, outputDir, startServer } from './server.ts';

const shots = outputDir('settings');
const DOC = '/zephyrcart/intranet/policies/data-handling';
let browser: Browser;
let server: Awaited<ReturnType<typeof startServer>>;

before(async () => {
  server = await startServer(['owner']);
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test('an owner allows an image host in the settings form; the organization’s pages then allow images from it', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${server.url}/login?next=${encodeURIComponent('/zephyrcart/-/settings')}`);
  await page.fill('input[name="email"]', 'owner@zephyrcart.test');
  await page.fill('input[name="password"]', E2E_PASSWORD);
  await Promise.all([page.waitForURL(`${server.url}/zephyrcart/-/settings`), page.click('form[action="/login"] button[type="submit"]')]);

  const before = await page.request.get(`${server.url}${DOC}`);
  assert.match(before.headers()['content-security-policy'] ?? '', /img-src 'self' data:;/);

  await page.fill('textarea[name="image_hosts"]', 'not a host/at all');
  await Promise.all([page.waitForLoadState('load'), page.click('form button[type="submit"] >> text=Save settings')]);
  assert.match(await page.locator('#setting-image_hosts-error').innerText(), /is not a host name/);

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
