import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { base32Decode, hotp, timeStep } from '../../src/auth/totp.ts';
import { launchChromium } from './browser.ts';
import { assertFormsSubmitted } from './forms.ts';
import { E2E_PASSWORD, outputDir, startServer } from './server.ts';

const shots = outputDir('members');
const MEMBERS = '/zephyrcart/-/members';
const NEW_HIRE = 'new.hire@zephyrcart.test';
const NEW_PASSWORD = 'a brand new passphrase';
let browser: Browser;
let server: Awaited<ReturnType<typeof startServer>>;
const problems: string[] = [];
let ownerRecoveryCode = '';

before(async () => {
  server = await startServer(['owner']);
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

async function newPage(width = 1280): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width, height: 860 } });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return { context, page };
}

async function signIn(page: Page, email: string, password: string, next: string) {
  await page.goto(`${server.url}/login?next=${encodeURIComponent(next)}`);
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', password);
  await Promise.all([page.waitForURL(`${server.url}${next}`), page.click('form[action="/login"] button[type="submit"]')]);
}

async function invite(owner: Page, email: string): Promise<string> {
  await owner.goto(`${server.url}${MEMBERS}`);
  await owner.fill('input[name="email"]', email);
  await owner.selectOption('select[name="role"]#invite-role', 'member');
  await owner.click('button >> text=Create invitation link');
  await owner.locator('.invite-link-value').waitFor();
  return owner.locator('.invite-link-value').inputValue();
}

const rowOf = (page: Page, email: string) => page.locator('table.data-table tbody tr', { hasText: email });

test('an invitation is accepted with a new account, the member’s role changed, removed, invited again and rejoins', async () => {
  const owner = await newPage();
  await signIn(owner.page, 'owner@zephyrcart.test', E2E_PASSWORD, MEMBERS);
  const link = await invite(owner.page, NEW_HIRE);

  // A fresh browser opens the link and creates the account: the form's POST carries this site's Origin.
  const guest = await newPage();
  const origins: (string | undefined)[] = [];
  guest.page.on('request', (r) => {
    if (r.method() === 'POST') origins.push(r.headers()['origin']);
  });
  const invitation = await guest.page.goto(link);
  assert.match(await guest.page.locator('h1').innerText(), /Join/);
  await guest.page.fill('input[name="name"]', 'New Hire');
  await guest.page.fill('input[name="password"]', NEW_PASSWORD);
  const [accepted] = await Promise.all([
    guest.page.waitForResponse((r) => r.request().method() === 'POST'),
    guest.page.click('form[action^="/invite/"] button[type="submit"]'),
  ]);
  assert.equal(accepted.status(), 303, 'the account is created (not "Cross-site request refused")');
  assert.deepEqual(origins, [new URL(server.url).origin]);
  // The page keeps its token out of every Referer, this site's included.
  assert.equal(invitation?.headers()['referrer-policy'], 'strict-origin');
  assert.equal(accepted.request().headers()['referer'], `${new URL(server.url).origin}/`);
  await guest.page.waitForURL(`${server.url}/`);
  assert.ok(await guest.page.locator('.topbar-signout').isVisible(), 'signed in as the new member');
  await guest.page.screenshot({ path: join(shots, '1-joined.png') });

  // The owner sees them, makes them a viewer, then removes them.
  await owner.page.goto(`${server.url}${MEMBERS}`);
  const row = rowOf(owner.page, NEW_HIRE);
  await row.locator('select[name="role"]').selectOption('viewer');
  await Promise.all([owner.page.waitForURL(/done=role$/), row.locator('button', { hasText: 'Change role' }).click()]);
  assert.match(await rowOf(owner.page, NEW_HIRE).locator('.role').innerText(), /Viewer/);
  await Promise.all([owner.page.waitForURL(/done=removed$/), rowOf(owner.page, NEW_HIRE).locator('button', { hasText: 'Remove' }).click()]);
  assert.equal(await rowOf(owner.page, NEW_HIRE).count(), 0);

  // Invited again: the account exists, so they sign in first and then accept.
  const again = await invite(owner.page, NEW_HIRE);
  await guest.context.clearCookies();
  await guest.page.goto(again);
  await Promise.all([guest.page.waitForURL(/\/login\?next=/), guest.page.click('.panel a.button-primary')]);
  await guest.page.fill('input[name="email"]', NEW_HIRE);
  await guest.page.fill('input[name="password"]', NEW_PASSWORD);
  await Promise.all([guest.page.waitForURL(/\/invite\//), guest.page.click('form[action="/login"] button[type="submit"]')]);
  await Promise.all([guest.page.waitForURL(`${server.url}/#zephyrcart`), guest.page.click('button >> text=Accept invitation')]);
  await owner.page.goto(`${server.url}${MEMBERS}`);
  assert.equal(await rowOf(owner.page, NEW_HIRE).count(), 1, 'member again');

  // An invitation withdrawn.
  await invite(owner.page, 'never.mind@zephyrcart.test');
  const open = owner.page.locator('.invitation-list li', { hasText: 'never.mind@zephyrcart.test' });
  await Promise.all([owner.page.waitForURL(/done=withdrawn$/), open.locator('button', { hasText: 'Withdraw' }).click()]);
  assert.equal(await owner.page.locator('.invitation-list li', { hasText: 'never.mind@zephyrcart.test' }).count(), 0);

  await guest.context.close();
  await owner.context.close();
  assert.deepEqual(problems, []);
});

test('an owner requires two-step verification; a member enrolls at their next sign-in', async () => {
  const owner = await newPage();
  await signIn(owner.page, 'owner@zephyrcart.test', E2E_PASSWORD, '/zephyrcart/-/settings');
  await owner.page.check('input[name="require_mfa"][value="everyone"]');
  await Promise.all([owner.page.waitForURL(/\/zephyrcart\/-\/settings\?/), owner.page.click('form[action$="/settings"] button[type="submit"]')]);
  assert.ok(await owner.page.locator('input[name="require_mfa"][value="everyone"]').isChecked());
  await owner.context.close();

  const member = await newPage();
  await member.page.goto(`${server.url}/login`);
  await member.page.fill('input[name="email"]', NEW_HIRE);
  await member.page.fill('input[name="password"]', NEW_PASSWORD);
  await Promise.all([member.page.waitForURL(/\/login\/mfa\/enroll/), member.page.click('form[action="/login"] button[type="submit"]')]);
  const key = base32Decode(await member.page.locator('#mfa-secret').innerText());
  await member.page.fill('input[name="code"]', hotp(key, timeStep(Date.now() / 1000)));
  await member.page.click('form.mfa-confirm button[type="submit"]');
  await member.page.locator('.mfa-recovery-codes').waitFor();
  await member.context.close();
  assert.deepEqual(problems, []);
});

test('the audit log is filtered by actor', async () => {
  const owner = await newPage();
  // The owner must enroll now too (the previous test requires it of everyone).
  await owner.page.goto(`${server.url}/login`);
  await owner.page.fill('input[name="email"]', 'owner@zephyrcart.test');
  await owner.page.fill('input[name="password"]', E2E_PASSWORD);
  await Promise.all([owner.page.waitForURL(/\/login\/mfa\/enroll/), owner.page.click('form[action="/login"] button[type="submit"]')]);
  const key = base32Decode(await owner.page.locator('#mfa-secret').innerText());
  await owner.page.fill('input[name="code"]', hotp(key, timeStep(Date.now() / 1000)));
  await owner.page.click('form.mfa-confirm button[type="submit"]');
  await owner.page.locator('.mfa-recovery-codes').waitFor();
  ownerRecoveryCode = (await owner.page.locator('.mfa-recovery-codes code').allInnerTexts())[0]!;

  await owner.page.goto(`${server.url}/zephyrcart/-/audit`);
  await owner.page.fill('input[name="actor"]', NEW_HIRE);
  await Promise.all([owner.page.waitForURL(/\/-\/audit\?actor=/), owner.page.click('form.audit-filters button[type="submit"]')]);
  const rows = owner.page.locator('table tbody tr');
  assert.ok((await rows.count()) > 0);
  for (const text of await rows.allInnerTexts()) assert.match(text, /new\.hire@zephyrcart\.test/);
  await owner.context.close();
  assert.deepEqual(problems, []);
});

/** Line breaks inside `selector`'s text: the text of each line after the first. */
async function linesOf(page: Page, selector: string): Promise<string[][]> {
  return page.locator(selector).evaluateAll((cells) =>
    cells.map((cell) => {
      const lines: string[] = [];
      let top: number | null = null;
      const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (let i = 0; i < (node.textContent ?? '').length; i++) {
          const range = document.createRange();
          range.setStart(node, i);
          range.setEnd(node, i + 1);
          const rect = range.getClientRects()[0];
          if (!rect) continue;
          if (top === null || rect.top > top + 2) {
            lines.push(node.textContent![i]!);
            top = rect.top;
          } else {
            lines[lines.length - 1] += node.textContent![i]!;
          }
        }
      }
      return lines;
    }),
  );
}

test('at phone width (375 px) the members page and the audit log fit the screen; emails wrap at @ and dots only', async () => {
  const owner = await newPage(375);
  await owner.page.goto(`${server.url}/login`);
  await owner.page.fill('input[name="email"]', 'owner@zephyrcart.test');
  await owner.page.fill('input[name="password"]', E2E_PASSWORD);
  await Promise.all([owner.page.waitForURL(/\/login\/mfa\?/), owner.page.click('form[action="/login"] button[type="submit"]')]);
  await owner.page.fill('input[name="code"]', ownerRecoveryCode);
  await Promise.all([owner.page.waitForURL(`${server.url}/`), owner.page.click('form[action="/login/mfa"] button[type="submit"]')]);

  const fits = () => owner.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  const tableFits = (selector: string) =>
    owner.page.locator(selector).evaluate((wrap) => wrap.scrollWidth <= wrap.clientWidth);
  await owner.page.goto(`${server.url}${MEMBERS}`);
  await owner.page.screenshot({ path: join(shots, '2-members-375.png'), fullPage: true });
  assert.ok(await fits(), 'the members page does not scroll sideways');
  assert.ok(await tableFits('.table-wrap'), 'the members table fits its box');
  assert.ok(await rowOf(owner.page, NEW_HIRE).locator('button', { hasText: 'Change role' }).isVisible());

  await owner.page.goto(`${server.url}/zephyrcart/-/audit`);
  await owner.page.screenshot({ path: join(shots, '3-audit-375.png'), fullPage: true });
  assert.ok(await fits(), 'the audit page does not scroll sideways');
  for (const lines of await linesOf(owner.page, '.audit-actor')) {
    for (const line of lines.slice(1)) assert.match(line, /^[@.]/, `an email breaks only before @ or a dot: ${JSON.stringify(lines)}`);
  }
  await owner.context.close();
  assert.deepEqual(problems, []);
});

test('every form this file is listed for was submitted and accepted', () => {
  assertFormsSubmitted(server.submissions, import.meta.url);
});
