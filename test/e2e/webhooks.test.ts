import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { enqueueWebhookEvent } from '../../src/webhooks/outbox.ts';
import { signIn, startChromium, stopChromium, type E2eServer } from './session.ts';
import { assertFormsSubmitted } from './forms.ts';
import { outputDir } from './server.ts';

const shots = outputDir('webhooks');
let browser: Browser;
let server: E2eServer;

before(async () => ({ server, browser } = await startChromium(['owner'])));
after(() => stopChromium(server, browser));

test('an owner adds a webhook, copies its secret once, sees a failed attempt in the log, redelivers, edits and deletes it', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  const list = `${server.url}/zephyrcart/-/settings/webhooks`;
  await signIn(page, server.url, { email: 'owner@zephyrcart.test', next: '/zephyrcart/-/settings/webhooks' });
  assert.match(await page.locator('h1').innerText(), /Webhooks/);

  // a metadata address is refused by the form, the values kept
  await page.fill('input[name="url"]', 'http://169.254.169.254/latest/meta-data');
  await page.check('input[name="events"][value="document.published"]');
  await page.click('form[action="/zephyrcart/-/settings/webhooks"] button[type="submit"]');
  await page.locator('#new-webhook-url-error').waitFor();
  assert.match(await page.locator('#new-webhook-url-error').innerText(), /metadata/);
  assert.equal(await page.locator('input[name="events"][value="document.published"]').isChecked(), true);

  // .invalid never resolves: attempts fail with a DNS error, which the log shows
  await page.fill('input[name="url"]', 'https://hooks.invalid/docucommit');
  await page.check('input[name="events"][value="change_request.merged"]');
  await page.screenshot({ path: join(shots, '1-add.png'), fullPage: true });
  await page.click('form[action="/zephyrcart/-/settings/webhooks"] button[type="submit"]');
  await page.locator('#webhook-secret').waitFor();
  const secret = await page.locator('#webhook-secret').inputValue();
  assert.match(secret, /^whsec_/);
  await page.screenshot({ path: join(shots, '2-secret-once.png'), fullPage: true });
  await Promise.all([page.waitForURL(/\/settings\/webhooks\/[0-9a-f-]{36}$/), page.click('a >> text=Done')]);
  assert.ok(!(await page.content()).includes(secret), 'never shown again');
  const detailUrl = page.url();
  await page.goto(list);
  assert.match(await page.locator('table[aria-label="Webhooks"]').innerText(), /hooks\.invalid[\s\S]*2 of 8[\s\S]*Active/);
  assert.ok(!(await page.content()).includes(secret), 'not on the list either');
  await page.screenshot({ path: join(shots, '2b-list.png'), fullPage: true });
  await page.goto(detailUrl);

  const orgId = (await server.context.db.selectFrom('organizations').select('id').where('slug', '=', 'zephyrcart').executeTakeFirstOrThrow()).id;
  await enqueueWebhookEvent(server.context.db, { orgId, type: 'document.published', actor: null, data: { probe: true } });
  await server.context.webhooks.deliverDue();
  await page.reload();
  await page.locator('.webhook-attempts li').first().waitFor();
  assert.match(await page.locator('.webhook-attempts li').first().innerText(), /no answer · \d+ ms · dns/);
  assert.match(await page.locator('.webhook-log .status-badge').first().innerText(), /Retrying/);
  await page.screenshot({ path: join(shots, '3-delivery-log.png'), fullPage: true });

  await Promise.all([page.waitForURL(/\?done=redelivered$/), page.click('button >> text=Redeliver')]);
  assert.match(await page.locator('.flash').innerText(), /Queued for redelivery/);

  await page.uncheck('input[name="events"][value="change_request.merged"]');
  await page.uncheck('input[name="active"]');
  await Promise.all([page.waitForURL(/\?done=saved$/), page.click('button >> text=Save webhook')]);
  assert.equal(await page.locator('input[name="events"][value="change_request.merged"]').isChecked(), false);
  assert.equal(await page.locator('input[name="active"]').isChecked(), false);

  await Promise.all([page.waitForURL(`${list}?done=deleted`), page.click('button >> text=Delete webhook')]);
  assert.match(await page.locator('.flash').innerText(), /Webhook deleted/);
  assert.match(await page.locator('#webhooks-heading ~ p').first().innerText(), /No webhooks yet/);
  assert.deepEqual(problems, []);
  await context.close();
});

test('every form this file is listed for was submitted and accepted', () => {
  assertFormsSubmitted(server.submissions, import.meta.url);
});
