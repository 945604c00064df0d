import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createReadStream } from 'node:fs';
import { after, before, test } from 'node:test';
import { createGunzip } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { readTar } from '../../src/evidence/tar.ts';
import { signIn, startChromium, stopChromium, watchPage, type E2eServer } from './session.ts';
import { assertFormsSubmitted } from './forms.ts';
import { outputDir } from './server.ts';

const shots = outputDir('organization-data');
let browser: Browser;
let server: E2eServer;
const problems: string[] = [];

before(async () => ({ server, browser } = await startChromium(['owner'])));
after(() => stopChromium(server, browser));

async function signedIn(next: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  // the wrong slug is answered with 400 on purpose (the form again, with its error), which Chromium logs
  watchPage(page, problems, { expectedConsole: /status of 400/ });
  await signIn(page, server.url, { email: 'owner@zephyrcart.test', next });
  return page;
}

test('an owner downloads the organization export: repositories, members, audit log and a manifest', async () => {
  const page = await signedIn('/zephyrcart/-/data');
  assert.match(await page.locator('h1').innerText(), /Export and deletion/);
  await page.screenshot({ path: join(shots, '1-data-page.png'), fullPage: true });
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('form button[type="submit"] >> text=Download the export')]);
  assert.match(download.suggestedFilename(), /^docucommit-zephyrcart-export-\d{4}-\d{2}-\d{2}\.tar\.gz$/);
  const file = join(shots, 'export.tar.gz');
  await download.saveAs(file);
  const names: string[] = [];
  await readTar(createReadStream(file).pipe(createGunzip()), (name) => void names.push(name));
  for (const name of ['README.md', 'members.csv', 'audit/events.jsonl', 'acknowledgments.jsonl', 'manifest.json']) assert.ok(names.includes(name), name);
  assert.ok(names.some((name) => name.startsWith('repositories/') && name.endsWith('.bundle')));
  await page.close();
});

test('an owner schedules the deletion by typing the slug, sees the schedule, and cancels it', async () => {
  const page = await signedIn('/zephyrcart/-/data');
  await page.fill('input[name="confirm_slug"]', 'zephyr');
  await page.click('form button[type="submit"] >> text=Delete');
  await page.locator('.form-error').waitFor();
  assert.match(await page.locator('.form-error').innerText(), /type the organization/i);
  await page.screenshot({ path: join(shots, '2-wrong-slug.png'), fullPage: true });
  await page.fill('input[name="confirm_slug"]', 'zephyrcart');
  await Promise.all([page.waitForURL(/\/zephyrcart\/-\/data\?done=scheduled$/), page.click('form button[type="submit"] >> text=Delete')]);
  await page.locator('#scheduled-heading').waitFor();
  await page.screenshot({ path: join(shots, '3-scheduled.png'), fullPage: true });
  // every other page of the organization sends its owner here
  await page.goto(`${server.url}/zephyrcart/-/settings`);
  await page.locator('#scheduled-heading').waitFor();
  assert.match(page.url(), /\/zephyrcart\/-\/data$/);
  await Promise.all([page.waitForURL(/\/zephyrcart\/-\/data\?done=cancelled$/), page.click('form button[type="submit"] >> text=Cancel the deletion')]);
  assert.equal(await page.locator('#scheduled-heading').count(), 0);
  await page.goto(`${server.url}/zephyrcart/-/settings`);
  await page.locator('h1').waitFor();
  assert.match(page.url(), /\/zephyrcart\/-\/settings$/);
  await page.close();
});

test('no console errors, every claimed form submitted', () => {
  assert.deepEqual(problems, []);
  assertFormsSubmitted(server.submissions, import.meta.url);
});
