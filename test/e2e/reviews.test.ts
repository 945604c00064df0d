import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { findProject, type ProjectRecord } from '../../src/projects/projects.ts';
import { headOf, rewriteThroughProtocol } from '../evidence/helpers.ts';
import { signIn as signInThrough, startChromium, stopChromium, watchPage, type E2eServer } from './session.ts';
import { assertFormsSubmitted } from './forms.ts';
import { outputDir } from './server.ts';

const shots = outputDir('reviews');
const PATH = 'policies/code-of-conduct.md';
const DOC = '/zephyrcart/intranet/policies/code-of-conduct';
const DAY = 24 * 60 * 60 * 1000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
let browser: Browser;
let server: E2eServer;
let project: ProjectRecord;
const problems: string[] = [];

/** Publish a new text of the code of conduct through the branch-move protocol (listeners included). */
const publish = (change: (source: string) => string, message: string) => rewriteThroughProtocol(server, project, PATH, change, message);

before(async () => {
  ({ server, browser } = await startChromium(['member']));
  project = (await findProject(server.context.db, 'zephyrcart', 'intranet'))!;
  // due for review yesterday
  await publish((source) => source.replace(/^review_by: .*$/m, `review_by: ${day(Date.now() - DAY)}`), 'Set a review date');
});
after(() => stopChromium(server, browser));

const watch = (page: Page) => watchPage(page, problems);

const signIn = (page: Page, email: string, at: string) => signInThrough(page, server.url, { email, next: at });

test('an editor sees the overdue review, finds it in "Reviews due", and marks it reviewed without changes', async () => {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  watch(page);
  await signIn(page, 'member@zephyrcart.test', DOC);
  // editors find the list from the project's navigation
  await Promise.all([page.waitForURL(`${server.url}/zephyrcart/-/reviews`), page.locator('.project-nav a', { hasText: 'Reviews due' }).click()]);
  const row = page.locator(`tr[data-path="${PATH}"]`);
  assert.match(await row.innerText(), /Overdue/);
  await page.screenshot({ path: join(shots, 'reviews-due.png'), fullPage: true });
  await Promise.all([page.waitForURL(`${server.url}${DOC}`), row.locator('a').first().click()]);

  const box = page.locator('.review-banner');
  assert.match(await box.innerText(), /Review overdue/);
  await page.screenshot({ path: join(shots, 'overdue.png'), fullPage: false });
  const before = await headOf(server, project);
  await Promise.all([page.waitForURL(`${server.url}${DOC}`), box.locator('button', { hasText: 'Mark reviewed — no changes' }).click()]);
  assert.match(await page.locator('.review-banner').innerText(), /Reviewed/);
  assert.doesNotMatch(await page.locator('.review-banner').innerText(), /overdue/);
  await page.screenshot({ path: join(shots, 'reviewed.png'), fullPage: false });
  // an empty commit on main, with the trailer
  const repository = await server.context.repositories.get(project);
  const head = await repository.readCommit(await headOf(server, project));
  assert.deepEqual(head.parents, [before]);
  assert.match(head.message, /Reviewed-by: Zed member <member@zephyrcart\.test>/);

  await page.goto(`${server.url}/zephyrcart/-/reviews`);
  assert.equal(await page.locator(`tr[data-path="${PATH}"]`).count(), 0);
  await page.close();
});

test('an upcoming version shows a notice; the project as of today has a banner and navigation within that day', async () => {
  await publish((source) => source.replace(/^effective: .*$/m, `effective: ${day(Date.now() + 7 * DAY)}`).replace(/\n\n([^\n#][^\n]*)/, '\n\nA new rule from next week.\n\n$1'), 'New rule next week');
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  watch(page);
  await signIn(page, 'member@zephyrcart.test', DOC);
  const notice = page.locator('.upcoming-notice');
  assert.match(await notice.innerText(), /A new version takes effect on/);
  assert.equal(await page.locator('.doc-body', { hasText: 'A new rule from next week.' }).count(), 0, 'the version in effect is shown');
  await page.screenshot({ path: join(shots, 'upcoming.png'), fullPage: false });
  await Promise.all([page.waitForURL(/\/-\/compare\//), notice.locator('a').click()]);
  assert.match(await page.locator('.redline').innerText(), /A new rule from next week/);

  const today = day(Date.now());
  const asOf = `/zephyrcart/intranet/-/at/${today}/policies/code-of-conduct`;
  await page.goto(`${server.url}${asOf}`);
  assert.match(await page.locator('.as-of-banner').innerText(), /As in effect on/);
  await page.screenshot({ path: join(shots, 'as-of.png'), fullPage: false });
  const link = page.locator('.project-nav a.nav-link').first();
  await Promise.all([page.waitForURL(new RegExp(`/-/at/${today}/`)), link.click()]);
  assert.equal(await page.locator('.as-of-banner').count(), 1);
  await page.close();
});

test('no console errors, every claimed form submitted', () => {
  assert.deepEqual(problems, []);
  assertFormsSubmitted(server.submissions, import.meta.url);
});
