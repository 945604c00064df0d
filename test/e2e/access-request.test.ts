import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { signIn, startChromium, stopChromium, watchPage, type E2eServer } from './session.ts';
import { assertFormsSubmitted } from './forms.ts';
import { outputDir } from './server.ts';

const shots = outputDir('access-request');
const RUNBOOK = '/zephyrcart/intranet/policies/incident-response';
let browser: Browser;
let server: E2eServer;
const problems: string[] = [];

before(async () => ({ server, browser } = await startChromium(['owner', 'manager', 'member'])));
after(() => stopChromium(server, browser));

async function signedIn(role: string, next: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  watchPage(page, problems, { label: role, expectedConsole: /404/ });
  await signIn(page, server.url, { email: `${role}@zephyrcart.test`, next });
  return { context, page };
}

test('a member requests the confidential runbook, a manager approves, the member reads it', async () => {
  const member = await signedIn('member', '/zephyrcart/intranet/policies/data-handling');
  const hidden = await member.page.goto(`${server.url}${RUNBOOK}`);
  assert.equal(hidden?.status(), 404, 'the member cannot read the runbook yet');
  assert.equal(await member.page.locator('text=Incident response').count(), 0, 'nor see its title');

  await member.page.goto(`${server.url}/zephyrcart/intranet/policies/data-handling`);
  await Promise.all([
    member.page.waitForURL(/\/-\/access-requests\/new$/),
    member.page.locator('nav.project-nav a', { hasText: 'Request access to a document' }).first().click(),
  ]);
  await member.page.fill('input[name="path"]', 'policies/incident-response');
  await member.page.fill('textarea[name="reason"]', 'On call this week; need the triage steps before the drill.');
  await member.page.fill('input[name="ticket"]', 'OPS-1187');
  await member.page.screenshot({ path: join(shots, '1-request-form.png') });
  await Promise.all([member.page.waitForURL(/\/zephyrcart\/-\/access-requests\?done=created$/), member.page.click('form button[type="submit"] >> text=Send request')]);
  assert.match(await member.page.locator('table.data-table').innerText(), /Pending/);
  await member.page.screenshot({ path: join(shots, '2-requester-pending.png') });

  const manager = await signedIn('manager', '/zephyrcart/-/access-requests');
  const card = manager.page.locator('.request-card').first();
  assert.match(await card.innerText(), /Incident response/);
  assert.match(await card.innerText(), /OPS-1187/);
  await manager.page.screenshot({ path: join(shots, '3-approver-queue.png') });
  await Promise.all([manager.page.waitForURL(/done=approved$/), card.locator('button', { hasText: 'Approve' }).click()]);
  assert.match(await manager.page.locator('.flash').innerText(), /Approved/);
  await manager.page.screenshot({ path: join(shots, '4-approver-done.png') });

  await member.page.goto(`${server.url}/zephyrcart/-/access-requests`);
  assert.match(await member.page.locator('table.data-table').innerText(), /Approved/);
  await member.page.screenshot({ path: join(shots, '5-requester-approved.png') });
  const open = await member.page.goto(`${server.url}${RUNBOOK}`);
  assert.equal(open?.status(), 200);
  assert.match(await member.page.locator('h1').first().innerText(), /Incident response/);
  await member.page.screenshot({ path: join(shots, '6-member-reads-runbook.png') });

  await member.context.close();
  await manager.context.close();
});

test('the members page for an owner, with a fresh invitation link', async () => {
  const owner = await signedIn('owner', '/zephyrcart/-/members');
  assert.ok((await owner.page.locator('table.data-table tbody tr').count()) >= 3);
  await owner.page.fill('input[name="email"]', 'new.hire@zephyrcart.test');
  await owner.page.selectOption('select[name="role"]#invite-role', 'member');
  await owner.page.click('button >> text=Create invitation link');
  await owner.page.locator('.invite-link-value').waitFor();
  const link = await owner.page.locator('.invite-link-value').inputValue();
  assert.match(link, /\/invite\/[A-Za-z0-9_-]{43}$/);
  await owner.page.screenshot({ path: join(shots, '7-members.png'), fullPage: true });
  await owner.context.close();

  const guest = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  await guest.goto(link);
  assert.match(await guest.locator('h1').innerText(), /Join/);
  await guest.screenshot({ path: join(shots, '8-invitation.png') });
  await guest.close();
  assert.deepEqual(problems, []);
});

test('a manager denies a request; the document stays hidden', async () => {
  const member = await signedIn('member', '/zephyrcart/intranet/-/access-requests/new');
  await member.page.fill('input[name="path"]', 'team-handbook/expenses');
  await member.page.fill('textarea[name="reason"]', 'Curious about the travel rules.');
  await Promise.all([member.page.waitForURL(/done=created$/), member.page.click('form button[type="submit"] >> text=Send request')]);

  const manager = await signedIn('manager', '/zephyrcart/-/access-requests');
  const card = manager.page.locator('.request-card', { hasText: 'Expenses and travel' });
  await Promise.all([manager.page.waitForURL(/done=denied$/), card.locator('button', { hasText: 'Deny' }).click()]);
  assert.match(await manager.page.locator('.flash').innerText(), /denied/);

  await member.page.goto(`${server.url}/zephyrcart/-/access-requests`);
  assert.match(await member.page.locator('table.data-table').innerText(), /Denied/);
  assert.equal((await member.page.goto(`${server.url}/zephyrcart/intranet/team-handbook/expenses`))?.status(), 404);
  await member.context.close();
  await manager.context.close();
});

test('every form this file is listed for was submitted and accepted', () => {
  assertFormsSubmitted(server.submissions, import.meta.url);
});
