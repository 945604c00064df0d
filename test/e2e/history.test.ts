import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { findProject } from '../../src/projects/projects.ts';
import { signIn, startChromium, stopChromium, watchPage, type E2eServer } from './session.ts';
import { assertFormsSubmitted } from './forms.ts';
import { outputDir } from './server.ts';

const shots = outputDir('history');
const DOC = '/zephyrcart/intranet/policies/data-handling';
let browser: Browser;
let server: E2eServer;
const problems: string[] = [];

before(async () => {
  ({ server, browser } = await startChromium(['member']));
  // a second version of the data-handling policy, by someone else
  const project = (await findProject(server.context.db, 'zephyrcart', 'intranet'))!;
  const repository = await server.context.repositories.get(project);
  const head = await repository.headOf('main');
  const blob = await repository.listTree(head!).then((entries) => entries.find((e) => e.path === 'policies/data-handling.md')!);
  const source = (await repository.readBlob(blob.oid)).toString('utf8');
  assert.match(source, /pick the stricter one/);
  // the demo's policy names approvers, and protected main would send its restore to review: this test's copy
  // names none (a version of its own, before the one restored)
  const unreviewed = source.replace(/^approvers:.*\n/m, '');
  assert.notEqual(unreviewed, source);
  const fixture = await repository.commitFiles({
    branch: 'main',
    expectedOld: head,
    mode: 'patch',
    changes: [{ path: 'policies/data-handling.md', content: unreviewed }],
    author: { name: 'Fixture', email: 'fixture@zephyrcart.test' },
    message: 'Publish the data-handling policy without named approvers',
  });
  await repository.commitFiles({
    branch: 'main',
    expectedOld: fixture.commit,
    mode: 'patch',
    changes: [{ path: 'policies/data-handling.md', content: unreviewed.replace('pick the stricter one', 'always pick the most protective one') }],
    author: { name: 'Priya Editor', email: 'priya@zephyrcart.test' },
    message: 'Tighten the classification advice',
  });
  await server.context.publisher.publish(project);
});
after(() => stopChromium(server, browser));

const watch = (page: Page) => watchPage(page, problems);

test('open a document history, read the redline against the previous version, restore the older version', async () => {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  watch(page);
  await signIn(page, server.url, { email: 'member@zephyrcart.test', next: DOC, from: 'page' });
  assert.match(await page.locator('.doc-body').innerText(), /always pick the most protective one/);

  // history
  await Promise.all([page.waitForURL(/\/-\/history\/policies\/data-handling\.md$/), page.locator('a.doc-history-link').click()]);
  const rows = page.locator('.version-list > li');
  assert.ok((await rows.count()) >= 2, 'two versions at least');
  assert.match(await rows.first().innerText(), /Tighten the classification advice/);
  assert.match(await rows.first().innerText(), /Priya Editor/);
  await page.screenshot({ path: join(shots, 'history.png'), fullPage: true });

  // any two versions: pick the oldest as From and the newest as To, then compare them
  await rows.last().locator('input[name="from"]').check();
  await rows.first().locator('input[name="to"]').check();
  await Promise.all([page.waitForURL(/\/-\/compare\/[0-9a-f]+\.\.[0-9a-f]+\/policies\/data-handling\.md$/), page.click('form#compare-versions button[type="submit"]')]);
  assert.ok((await page.locator('.diff .diff-added').count()) >= 1, 'the picked versions are compared');
  await page.goBack();

  // redline against the previous version
  await Promise.all([page.waitForURL(/\/-\/compare\//), rows.first().locator('a', { hasText: 'Compare with previous' }).click()]);
  assert.match(await page.locator('.redline-summary').innerText(), /Changed: Classification/);
  const changed = page.locator('.redline .rl-changed').first();
  assert.match(await changed.innerText(), /most protective one and ask the Security team/);
  assert.match(await changed.locator('del').first().innerText(), /stricter/);
  assert.match(await changed.locator('ins').first().innerText(), /always|most protective/);
  assert.ok((await page.locator('.diff .diff-added').count()) >= 1, 'source diff shows the added line');
  await page.screenshot({ path: join(shots, 'compare.png'), fullPage: true });

  // the older version on its own page
  await Promise.all([page.waitForURL(/\/-\/blob\//), page.locator('.compare-side').first().locator('a').click()]);
  assert.match(await page.locator('.version-banner').innerText(), /An earlier version/);
  assert.match(await page.locator('.doc-body').innerText(), /pick the stricter one/);
  await page.screenshot({ path: join(shots, 'version.png'), fullPage: false });

  // restore it: a confirmation page asks for a reason first (the browser will not send the form without one)
  await Promise.all([page.waitForURL(/\/-\/restore\//), page.locator('.version-banner a', { hasText: 'Restore this version' }).click()]);
  assert.match(await page.locator('h1').innerText(), /Restore this version of/);
  const confirmUrl = page.url();
  await page.click('form button[type="submit"] >> text=Restore this version');
  assert.equal(page.url(), confirmUrl, 'not sent without a reason');
  await page.fill('textarea[name="reason"]', 'The stricter advice was approved by the Security team');
  await page.screenshot({ path: join(shots, 'restore-confirm.png'), fullPage: false });
  await Promise.all([page.waitForURL(`${server.url}${DOC}`), page.click('form button[type="submit"] >> text=Restore this version')]);
  const body = await page.locator('.doc-body').innerText();
  assert.match(body, /pick the stricter one/);
  assert.doesNotMatch(body, /always pick the most protective one/);

  await Promise.all([page.waitForURL(/\/-\/history\//), page.locator('a.doc-history-link').click()]);
  // the restored version came with the import, which also touched documents a member may not read: its author is not named
  assert.match(await rows.first().innerText(), /Restore version of .* by Fixture/);
  assert.doesNotMatch(await rows.first().innerText(), /by E2E/);
  assert.match(await rows.first().innerText(), /Zed member/);

  await page.goto(`${server.url}/zephyrcart/intranet/-/commits`);
  assert.match(await page.locator('.version-list').innerText(), /Restore version of/);
  await page.screenshot({ path: join(shots, 'commits.png'), fullPage: false });
  await page.close();
  assert.deepEqual(problems, []);
});

test('the redline reads well on a phone-width screen and in dark mode', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, colorScheme: 'dark' });
  const page = await context.newPage();
  watch(page);
  await signIn(page, server.url, { email: 'member@zephyrcart.test', next: DOC, from: 'page' });
  await page.goto(`${server.url}/zephyrcart/intranet/-/history/policies/data-handling.md`);
  await page.screenshot({ path: join(shots, 'history-phone-dark.png'), fullPage: false });
  await Promise.all([page.waitForURL(/\/-\/compare\//), page.locator('.version-list a', { hasText: 'Compare with previous' }).first().click()]);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `no horizontal scrolling (${width}px)`);
  await page.screenshot({ path: join(shots, 'compare-phone-dark.png'), fullPage: true });
  await context.close();
  assert.deepEqual(problems, []);
});

test('every form this file is listed for was submitted and accepted', () => {
  assertFormsSubmitted(server.submissions, import.meta.url);
});
