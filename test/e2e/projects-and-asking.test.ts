import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { signIn, startChromium, stopChromium, watchPage, type E2eServer } from './session.ts';
import { assertFormsSubmitted } from './forms.ts';
import { outputDir } from './server.ts';

const shots = outputDir('projects-and-asking');
const RUNBOOK = '/zephyrcart/intranet/policies/incident-response';
let browser: Browser;
let server: E2eServer;
const problems: string[] = [];

before(async () => ({ server, browser } = await startChromium(['owner', 'manager', 'member'])));
after(() => stopChromium(server, browser));

async function signedIn(role: string, next: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const page = await context.newPage();
  // 404s and refused forms are answered with their status on purpose; the browser logs those as errors.
  watchPage(page, problems, { label: role, expectedConsole: /status of 40\d/ });
  await signIn(page, server.url, { email: `${role}@zephyrcart.test`, next });
  return { context, page };
}

test('a member asks for access from a 404; the manager sees the count in the top bar', async () => {
  const member = await signedIn('member', '/');
  const hidden = await member.page.goto(`${server.url}${RUNBOOK}`);
  assert.equal(hidden?.status(), 404);
  await member.page.screenshot({ path: join(shots, '1-404-ask.png') });
  await Promise.all([
    member.page.waitForURL(/\/zephyrcart\/intranet\/-\/access-requests\/new\?path=/),
    member.page.click('a:has-text("Ask for access to this address")'),
  ]);
  assert.equal(await member.page.inputValue('input[name="path"]'), RUNBOOK);
  await member.page.fill('textarea[name="reason"]', 'A colleague sent me this link for the drill.');
  await Promise.all([member.page.waitForURL(/done=created$/), member.page.click('form button[type="submit"] >> text=Send request')]);

  // Without a Referer the address is typed (the GET form).
  await member.page.goto(`${server.url}/zephyrcart/-/access-requests/ask`);
  await member.page.screenshot({ path: join(shots, '2-ask-by-address.png') });
  await member.page.fill('input[name="address"]', `${server.url}/zephyrcart/intranet/policies/never-written`);
  await Promise.all([member.page.waitForURL(/access-requests\/new\?path=/), member.page.click('form button[type="submit"] >> text=Continue')]);
  assert.equal(await member.page.inputValue('input[name="path"]'), '/zephyrcart/intranet/policies/never-written');

  const manager = await signedIn('manager', '/');
  assert.equal(await manager.page.locator('.topbar-waiting .topbar-count').innerText(), '1');
  await manager.page.screenshot({ path: join(shots, '3-topbar-count.png') });
  await Promise.all([manager.page.waitForURL(/\/zephyrcart\/-\/access-requests/), manager.page.click('.topbar-waiting')]);
  assert.match(await manager.page.locator('.request-card').first().innerText(), /incident-response/);
  await member.context.close();
  await manager.context.close();
});

test('an owner creates a project from the starter, renames it, copies its clone URL and deletes it', async () => {
  const owner = await signedIn('owner', '/');
  const page = owner.page;
  await Promise.all([page.waitForURL(/\/zephyrcart\/-\/projects\/new$/), page.click('a:has-text("New project")')]);
  await page.fill('input[name="name"]', 'Team handbook');
  await page.fill('input[name="slug"]', 'team');
  await page.fill('textarea[name="description"]', 'How the team works');
  await page.check('input[name="starter"][value="handbook"]');
  await page.screenshot({ path: join(shots, '4-new-project.png'), fullPage: true });
  await Promise.all([page.waitForURL(`${server.url}/zephyrcart/team/`), page.click('form button[type="submit"] >> text=Create project')]);
  assert.match(await page.locator('nav.project-nav').innerText(), /Policies/);
  await page.screenshot({ path: join(shots, '5-new-project-home.png'), fullPage: true });

  await Promise.all([page.waitForURL(/\/zephyrcart\/team\/-\/settings$/), page.click('nav.project-nav a:has-text("Project settings")')]);
  await page.fill('input[name="name"]', 'Team guide');
  await Promise.all([page.waitForURL(/settings\?done=saved$/), page.click('form button[type="submit"] >> text=Save')]);
  assert.equal(await page.inputValue('input[name="name"]'), 'Team guide');
  const copy = page.locator('button[data-copy="clone-url"]');
  assert.ok(await copy.isVisible(), 'the copy button shows once its script runs');
  await copy.click();
  await page.locator('button[data-copy="clone-url"]:has-text("Copied")').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `${server.url}/zephyrcart/team.git`);
  await page.screenshot({ path: join(shots, '6-settings.png'), fullPage: true });

  await page.fill('input[name="confirm"]', 'team');
  await page.click('form button[type="submit"] >> text=Delete project');
  await page.locator('.form-error', { hasText: 'to confirm' }).waitFor();
  await page.fill('input[name="confirm"]', 'Team guide');
  await Promise.all([page.waitForURL(`${server.url}/`), page.click('form button[type="submit"] >> text=Delete project')]);
  assert.doesNotMatch(await page.locator('main').innerText(), /Team guide/);
  const gone = await page.goto(`${server.url}/zephyrcart/team/`);
  assert.equal(gone?.status(), 404);

  await page.goto(`${server.url}/zephyrcart/intranet/-/clone`);
  await page.screenshot({ path: join(shots, '7-clone-page.png'), fullPage: true });
  await owner.context.close();
  assert.deepEqual(problems, []);
});

test('every form this file is listed for was submitted and accepted', () => {
  assertFormsSubmitted(server.submissions, import.meta.url);
});
