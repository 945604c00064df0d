import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { signIn as signInThrough, startChromium, stopChromium, watchPage, type E2eServer } from './session.ts';
import { outputDir } from './server.ts';

const shots = outputDir('reading');
let browser: Browser;
let server: E2eServer;
/** Anything the page reports that a real user would never want: CSP violations, script errors, dialogs. */
const problems: string[] = [];

before(async () => ({ server, browser } = await startChromium(['manager'])));
after(() => stopChromium(server, browser));

const watch = (page: Page) => watchPage(page, problems, { dialogs: true });

const signIn = (page: Page, next: string) => signInThrough(page, server.url, { email: 'manager@zephyrcart.test', next, from: 'page' });

test('sign in, read the data-handling policy, follow its table of contents and the navigation', async () => {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  watch(page);
  await signIn(page, '/zephyrcart/intranet/policies/data-handling');

  assert.equal(await page.locator('h1').first().innerText(), 'Data handling');
  const table = page.locator('.doc-body table').first();
  assert.ok(await table.isVisible(), 'classification table visible');
  assert.ok((await table.locator('tbody tr').count()) >= 4, 'four data classes');
  assert.ok(await page.locator('.doc-body div.text-muted').isVisible(), 'raw HTML div survives');
  await page.screenshot({ path: join(shots, 'data-handling-desktop.png'), fullPage: false });

  // Document Navigation: jump to a section of the page.
  const tocLink = page.locator('nav.toc a').nth(2);
  const target = (await tocLink.getAttribute('href'))!;
  assert.match(target, /^#[a-z0-9-]+$/);
  await tocLink.click();
  await page.waitForURL(new RegExp(`${target}$`));
  assert.ok(await page.locator(target).isVisible(), 'heading of the TOC entry is on screen');
  await page.screenshot({ path: join(shots, 'data-handling-after-toc.png') });

  // Project navigation: go to another policy.
  await Promise.all([page.waitForURL(/\/policies\/incident-response$/), page.locator('nav.project-nav a', { hasText: 'Incident response' }).first().click()]);
  assert.match(await page.locator('h1').first().innerText(), /Incident response/);
  assert.equal(await page.locator('nav.project-nav [aria-current="page"]').count(), 1, 'current page highlighted');
  await page.screenshot({ path: join(shots, 'incident-response-desktop.png') });

  // Tags link to tag pages.
  await Promise.all([page.waitForURL(/\/-\/tags\//), page.locator('.tag-list a').first().click()]);
  assert.ok((await page.locator('main a').count()) > 0);
  await page.close();
  assert.deepEqual(problems, []);
});

test('on a phone-width screen the page is one column with the navigation folded away', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
  const page = await context.newPage();
  watch(page);
  await signIn(page, '/zephyrcart/intranet/policies/data-handling');
  const nav = page.locator('nav.project-nav').first();
  assert.equal(await nav.isVisible(), false, 'navigation folded');
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `no horizontal page scroll (scrollWidth ${width})`);
  await page.screenshot({ path: join(shots, 'data-handling-phone.png') });
  await page.locator('details.fold-nav summary').click();
  assert.equal(await nav.isVisible(), true, 'navigation unfolds without JavaScript');
  await page.screenshot({ path: join(shots, 'data-handling-phone-nav-open.png') });
  await context.close();
  assert.deepEqual(problems, []);
});

test('a public page is readable without an account and shows no internal titles', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  watch(page);
  const response = await page.goto(`${server.url}/zephyrcart/intranet/policies/code-of-conduct`);
  assert.equal(response?.status(), 200);
  const navText = await page.locator('nav.project-nav').first().innerText();
  assert.doesNotMatch(navText, /Data handling|Incident response/);
  await page.screenshot({ path: join(shots, 'public-code-of-conduct.png') });
  await page.close();
  assert.deepEqual(problems, []);
});
