import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { findProject, type ProjectRecord } from '../../src/projects/projects.ts';
import { rewriteThroughProtocol } from '../evidence/helpers.ts';
import { asDatabaseOwner } from '../helpers/databases.ts';
import { signIn as signInThrough, startChromium, stopChromium, watchPage, type E2eServer } from './session.ts';
import { assertFormsSubmitted } from './forms.ts';
import { outputDir } from './server.ts';

const shots = outputDir('acknowledgments');
const PATH = 'policies/code-of-conduct.md';
const DOC = '/zephyrcart/intranet/policies/code-of-conduct';
let browser: Browser;
let server: E2eServer;
let project: ProjectRecord;
const problems: string[] = [];

/** Publish a new text of the code of conduct through the branch-move protocol (listeners included). */
const publish = (change: (source: string) => string, message: string) => rewriteThroughProtocol(server, project, PATH, change, message);

before(async () => {
  ({ server, browser } = await startChromium(['member', 'manager']));
  project = (await findProject(server.context.db, 'zephyrcart', 'intranet'))!;
  await publish((source) => source.replace(/^---\n/, '---\nacknowledge: everyone\n'), 'Ask everyone to acknowledge the code of conduct');
});
after(() => stopChromium(server, browser));

const watch = (page: Page) => watchPage(page, problems);

const signIn = (page: Page, email: string, at: string) => signInThrough(page, server.url, { email, next: at });

test('a member acknowledges, a change is published, the member reads their redline and acknowledges again', async () => {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  watch(page);
  await signIn(page, 'member@zephyrcart.test', DOC);

  const banner = page.locator('.ack-banner');
  assert.match(await banner.innerText(), /Read and acknowledge — due/);
  assert.match(await page.locator('.topbar-acknowledgments').innerText(), /To acknowledge\s*1/);
  await page.screenshot({ path: join(shots, 'banner.png'), fullPage: false });

  await Promise.all([page.waitForURL(`${server.url}${DOC}`), banner.locator('button', { hasText: 'I have read and understood' }).click()]);
  assert.match(await page.locator('.ack-banner-done').innerText(), /You acknowledged this document on/);
  assert.equal(await page.locator('.topbar-acknowledgments').count(), 0, 'nothing left to acknowledge');

  await page.goto(`${server.url}/zephyrcart/-/acknowledgments`);
  assert.match(await page.locator('#ack-done-heading').innerText(), /Acknowledged \(1\)/);
  await page.screenshot({ path: join(shots, 'list-done.png'), fullPage: true });

  // a material change: asked again, with what changed since their acknowledgment
  await publish((source) => source.replace(/\n\n([^\n#][^\n]*)/, '\n\nEveryone signs the updated conduct pledge every year.\n\n$1'), 'Add the yearly pledge');
  await page.goto(`${server.url}/zephyrcart/-/acknowledgments`);
  assert.match(await page.locator('#ack-open-heading').innerText(), /Waiting for you \(1\)/);
  await page.screenshot({ path: join(shots, 'list-open.png'), fullPage: true });
  await page.goto(`${server.url}${DOC}`);
  assert.match(await banner.innerText(), /This document changed since you acknowledged it/);
  await page.screenshot({ path: join(shots, 'banner-again.png'), fullPage: false });
  await Promise.all([page.waitForURL(/\/-\/compare\//), banner.locator('a', { hasText: 'See what changed for you' }).click()]);
  assert.match(await page.locator('.redline').innerText(), /yearly|conduct pledge/);
  await page.screenshot({ path: join(shots, 'redline.png'), fullPage: false });
  await page.goBack();
  await Promise.all([page.waitForURL(`${server.url}${DOC}`), page.locator('.ack-banner button').click()]);
  assert.match(await page.locator('.ack-banner-done').innerText(), /You acknowledged this document/);

  // an editorial change (commit trailer) asks nothing more
  await publish((source) => source.replace('conduct pledge', 'code-of-conduct pledge'), 'Wording\n\nAcknowledgment: not-required');
  await page.goto(`${server.url}${DOC}`);
  assert.match(await page.locator('.ack-banner-done').innerText(), /You acknowledged this document/);
  await page.close();
});

test('a manager sees who has and has not acknowledged, and can download it', async () => {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  watch(page);
  await signIn(page, 'manager@zephyrcart.test', '/zephyrcart/-/acknowledgments');
  const row = page.locator('table[aria-label="Acknowledgment progress by document"] tbody tr').first();
  assert.match(await row.innerText(), /Code of conduct/);
  await page.screenshot({ path: join(shots, 'manager-list.png'), fullPage: true });
  await Promise.all([page.waitForURL(/\/-\/acknowledgments\/policies\/code-of-conduct\.md$/), row.locator('a').first().click()]);
  const table = page.locator('table[aria-label="Acknowledgment status by person"]');
  assert.match(await table.locator('tr[data-status="done"]').innerText(), /member@zephyrcart\.test/);
  assert.match(await table.locator('tr[data-status="open"]').innerText(), /manager@zephyrcart\.test/);
  await page.screenshot({ path: join(shots, 'manager-status.png'), fullPage: true });
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('a', { hasText: 'Download CSV' }).click()]);
  assert.equal(download.suggestedFilename(), 'acknowledgments-policies-code-of-conduct.csv');
  await page.close();
});

test('a manager downloads the overdue acknowledgments of the organization as CSV', async () => {
  // the version asking now was published 30 days ago: everyone who has not acknowledged it is overdue
  await asDatabaseOwner(server.context.db, (owner) =>
    owner.updateTable('ack_versions').set({ published_at: new Date(Date.now() - 30 * 24 * 60 * 60 * 1000) }).where('path', '=', PATH).execute(),
  );
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  watch(page);
  await signIn(page, 'manager@zephyrcart.test', '/zephyrcart/-/acknowledgments');
  const link = page.locator('a', { hasText: 'Download overdue acknowledgments (CSV)' });
  await link.waitFor();
  await page.screenshot({ path: join(shots, 'manager-list-overdue.png'), fullPage: true });
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  assert.equal(download.suggestedFilename(), 'overdue-acknowledgments-zephyrcart.csv');
  await page.close();
});

test('no console errors, every claimed form submitted', () => {
  assert.deepEqual(problems, []);
  assertFormsSubmitted(server.submissions, import.meta.url);
});
