import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { importFolder } from '../../src/projects/import-folder.ts';
import { signIn, startChromium, stopChromium, watchPage, type E2eServer } from './session.ts';
import { outputDir } from './server.ts';

const shots = outputDir('github-markdown');
const HANDBOOK = fileURLToPath(new URL('../fixtures/projects/github-handbook', import.meta.url));
let browser: Browser;
let server: E2eServer;
const problems: string[] = [];

before(async () => {
  ({ server, browser } = await startChromium(['admin']));
  const result = await importFolder(server.context, { folder: HANDBOOK, orgSlug: 'zephyrcart', projectSlug: 'northwind', projectName: 'Northwind Handbook', author: { name: 'E2E', email: 'e2e@zephyrcart.test' } });
  assert.deepEqual(result.linkProblems, []);
});
after(() => stopChromium(server, browser));

const watch = (page: Page) => watchPage(page, problems, { failedRequests: true });

/** Every image of the document body was loaded and decoded by the browser. */
async function assertImagesShown(page: Page): Promise<number> {
  const images = page.locator('.doc-body img');
  const count = await images.count();
  for (let i = 0; i < count; i++) {
    const image = images.nth(i);
    await image.scrollIntoViewIfNeeded();
    const loaded = await image.evaluate((img: HTMLImageElement) => (img.complete ? img.naturalWidth : new Promise<number>((done) => img.addEventListener('load', () => done(img.naturalWidth), { once: true }))));
    assert.ok(loaded > 0, `image ${await image.getAttribute('src')} shown`);
  }
  return count;
}

test('an imported GitHub handbook shows its images, alerts, footnotes and emoji', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  watch(page);
  await signIn(page, server.url, { email: 'admin@zephyrcart.test', next: '/zephyrcart/northwind/', from: 'page' });

  // the README is the home page: the SVG logo (as an image), the PNG org chart, a note
  assert.equal(await assertImagesShown(page), 2);
  assert.ok(await page.locator('.markdown-alert-note').isVisible());
  await page.screenshot({ path: join(shots, 'home.png'), fullPage: true });

  // a raw-HTML link in the table leads to the section's index.md page
  await Promise.all([page.waitForURL(/\/northwind\/security\/$/), page.locator('.doc-body table a', { hasText: 'Security' }).click()]);
  assert.equal(await assertImagesShown(page), 1);

  await page.goto(`${server.url}/zephyrcart/northwind/engineering/on-call`);
  for (const kind of ['important', 'warning', 'caution']) {
    const alert = page.locator(`.markdown-alert-${kind}`);
    assert.ok(await alert.isVisible(), kind);
    // styled like GitHub's: a coloured bar on the left
    const bar = await alert.evaluate((el) => getComputedStyle(el).borderLeftWidth);
    assert.equal(bar, '4px');
  }
  assert.match(await page.locator('.doc-body').innerText(), /📟/);
  await page.screenshot({ path: join(shots, 'on-call.png'), fullPage: true });

  // a footnote reference jumps to its note, and back
  await page.locator('.footnote-ref a').first().click();
  await page.waitForURL(/#fn1$/);
  assert.ok(await page.locator('#fn1').isVisible());
  await page.locator('#fn1 .footnote-backref').click();
  await page.waitForURL(/#fnref1$/);

  // a raw-HTML link with an anchor leads to the heading on the People page
  await Promise.all([page.waitForURL(/\/northwind\/people\/#managers$/), page.locator('.doc-body a', { hasText: 'people manager' }).click()]);
  assert.ok(await page.locator('#managers').isVisible());

  await page.goto(`${server.url}/zephyrcart/northwind/engineering/deploys`);
  assert.equal(await assertImagesShown(page), 1);
  await page.screenshot({ path: join(shots, 'deploys.png') });
  await page.close();
  assert.deepEqual(problems, []);
});

test('the problems page lists what is broken, with file and line; the tag index lists tags with counts', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'docucommit-e2e-broken-'));
  try {
    cpSync(HANDBOOK, folder, { recursive: true });
    appendFileSync(join(folder, 'README.md'), '\nSee the [old wiki](wiki/home.md) and ![badge](assets/badge.png).\n');
    appendFileSync(join(folder, 'people/benefits.md'), '\n[Pension](index.md#pension)\n');
    const result = await importFolder(server.context, { folder, orgSlug: 'zephyrcart', projectSlug: 'broken', projectName: 'Broken Handbook', author: { name: 'E2E', email: 'e2e@zephyrcart.test' } });
    assert.equal(result.linkProblems.length, 3);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await signIn(page, server.url, { email: 'admin@zephyrcart.test', next: '/zephyrcart/broken/-/problems', from: 'page' });
  const items = await page.locator('.notice-list li').allInnerTexts();
  assert.deepEqual(items, [
    'README.md:24: link wiki/home.md leads to a page that does not exist',
    'README.md:24: image assets/badge.png does not exist',
    'people/benefits.md:10: link index.md#pension: people/index.md has no heading #pension',
  ]);
  await page.screenshot({ path: join(shots, 'problems.png') });

  await page.goto(`${server.url}/zephyrcart/intranet/-/tags`);
  assert.ok((await page.locator('main a.tag').count()) > 0);
  await page.screenshot({ path: join(shots, 'tags.png') });
  await page.close();
});
