import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './browser.ts';
import { assertFormsSubmitted } from './forms.ts';
import { E2E_PASSWORD, outputDir, startServer } from './server.ts';

const shots = outputDir('search');
let browser: Browser;
let server: Awaited<ReturnType<typeof startServer>>;
const problems: string[] = [];

before(async () => {
  server = await startServer(['member', 'admin']);
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

async function open(role: string | null, next: string, options: { javaScript?: boolean } = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, javaScriptEnabled: options.javaScript ?? true });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 40\d/.test(m.text())) problems.push(`${role} console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${role} pageerror: ${e.message}`));
  if (role === null) {
    await page.goto(`${server.url}${next}`);
    return { context, page };
  }
  await page.goto(`${server.url}/login?next=${encodeURIComponent(next)}`);
  await page.fill('input[name="email"]', `${role}@zephyrcart.test`);
  await page.fill('input[name="password"]', E2E_PASSWORD);
  await Promise.all([page.waitForURL(`${server.url}${next}`), page.click('form[action="/login"] button[type="submit"]')]);
  return { context, page };
}

const hitLinks = (page: Page) => page.locator('.search-hit-title a').evaluateAll((links) => links.map((a) => a.getAttribute('href')));

test('a member presses / to search from the top bar, refines by tag, and never sees a confidential title', async () => {
  const { context, page } = await open('member', '/');
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'topbar-search-q', '/ focuses the top bar search box');
  await page.keyboard.type('incid');
  await Promise.all([page.waitForURL(/\/-\/search\?q=incid$/), page.keyboard.press('Enter')]);
  const prefix = await hitLinks(page);
  assert.ok(prefix.length > 0, 'the prefix finds documents about incidents');
  assert.ok(!prefix.includes('/zephyrcart/intranet/policies/incident-response'), 'the confidential runbook is not offered to a member');
  assert.doesNotMatch(await page.locator('main').innerText(), /Incident response\n/);
  assert.ok((await page.locator('.search-snippet mark').count()) > 0, 'matches are highlighted');
  await page.screenshot({ path: join(shots, '1-member-results.png'), fullPage: true });

  // Refine: a phrase in the results page's own box, and a tag.
  await page.fill('#search-q', 'deploy');
  await Promise.all([page.waitForURL(/q=deploy/), page.click('.search-form button[type="submit"]')]);
  const tags = await page.locator('#search-tag option').evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value).filter(Boolean));
  assert.ok(tags.length > 0, 'tags of the results are offered');
  await page.selectOption('#search-tag', tags[0]!);
  await Promise.all([page.waitForURL(new RegExp(`tag=${encodeURIComponent(tags[0]!)}`)), page.click('.search-form button[type="submit"]')]);
  assert.ok((await hitLinks(page)).length > 0);
  await page.screenshot({ path: join(shots, '2-member-tag-filter.png'), fullPage: true });
  await context.close();
});

test('an admin searches one project from its navigation, and finds what their clearance opens', async () => {
  const { context, page } = await open('admin', '/zephyrcart/intranet/policies/');
  await page.fill('#project-search-q', 'incident');
  await Promise.all([page.waitForURL(/\/zephyrcart\/intranet\/-\/search\?q=incident$/), page.click('.project-search button[type="submit"]')]);
  const links = await hitLinks(page);
  assert.equal(links[0], '/zephyrcart/intranet/policies/incident-response', 'the title match ranks first');
  await page.screenshot({ path: join(shots, '3-admin-project-search.png'), fullPage: true });
  await page.fill('#search-q', 'compensaton');
  await Promise.all([page.waitForURL(/q=compensaton/), page.click('.search-form button[type="submit"]')]);
  assert.match(await page.locator('.search-summary').innerText(), /Titles that look close/);
  assert.deepEqual(await hitLinks(page), ['/zephyrcart/intranet/team-handbook/compensation-bands']);
  await page.screenshot({ path: join(shots, '4-admin-typo.png'), fullPage: true });
  await context.close();
});

test('without JavaScript, an anonymous reader searches the public pages of a project', async () => {
  const { context, page } = await open(null, '/zephyrcart/intranet/-/search', { javaScript: false });
  await page.fill('#search-q', 'security');
  await Promise.all([page.waitForURL(/\/zephyrcart\/intranet\/-\/search\?q=security/), page.click('.search-form button[type="submit"]')]);
  const body = await page.locator('main').innerText();
  assert.doesNotMatch(body, /Incident response|Compensation bands|Expenses and travel/);
  await page.screenshot({ path: join(shots, '5-anonymous-no-script.png'), fullPage: true });
  await context.close();
});

test('no console errors, and every search form was submitted', () => {
  assert.deepEqual(problems, []);
  assertFormsSubmitted(server.submissions, import.meta.url);
});
