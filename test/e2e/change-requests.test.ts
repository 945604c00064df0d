/**
 * The change-request flow in Chromium, with two reviewers: a manager proposes a change of a confidential policy
 * (a draft branch), opens the change request from the list page, comments; an admin requests changes; the
 * owner dismisses that review and approves; the author closes and reopens it, then merges, and the published
 * page shows the new text. The redline is shown rendered, a Markdown comment is rendered (its hostile part
 * inert), and the draft's page is previewed. A move, a deletion and a restore of the policy are proposed from their
 * pages. Every form on the pages is submitted.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { findProject, type ProjectRecord } from '../../src/projects/projects.ts';
import { launchChromium } from './browser.ts';
import { assertFormsSubmitted } from './forms.ts';
import { E2E_PASSWORD, outputDir, startServer } from './server.ts';

const shots = outputDir('change-requests');
const CHANGES = '/zephyrcart/intranet/-/changes';
let browser: Browser;
let server: Awaited<ReturnType<typeof startServer>>;
let project: ProjectRecord;
const problems: string[] = [];

before(async () => {
  server = await startServer(['manager', 'admin', 'owner']);
  browser = await launchChromium();
  project = (await findProject(server.context.db, 'zephyrcart', 'intranet'))!;
  // the manager's draft: what "Propose change" in the editor commits
  const repository = await server.context.repositories.get(project);
  const main = (await repository.headOf('main'))!;
  const entry = (await repository.entryAt(main, 'policies/incident-response.md'))!;
  const source = (await repository.readBlob(entry.oid)).toString('utf8');
  const user = await server.context.db.selectFrom('users').select('id').where('email', '=', 'manager@zephyrcart.test').executeTakeFirstOrThrow();
  await server.context.branchMoves.commit(
    project,
    repository,
    {
      branch: 'faster-escalation',
      expectedOld: null,
      startFrom: main,
      mode: 'patch',
      changes: [{ path: 'policies/incident-response.md', content: `${source}\nEscalate every severity-1 incident within 15 minutes.\n` }],
      author: { name: 'Zed manager', email: 'manager@zephyrcart.test' },
      message: 'Escalate faster',
    },
    { kind: 'save', actor: { type: 'user', id: user.id, label: 'manager@zephyrcart.test' }, events: () => [] },
  );
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function signedIn(role: string, options: { javaScript?: boolean } = {}): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, javaScriptEnabled: options.javaScript ?? true });
  page.on('pageerror', (e) => problems.push(`${role} pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`${role} console: ${m.text()}`);
  });
  await page.goto(`${server.url}/login`);
  await page.fill('input[name="email"]', `${role}@zephyrcart.test`);
  await page.fill('input[name="password"]', E2E_PASSWORD);
  await Promise.all([page.waitForURL((url) => !url.pathname.startsWith('/login')), page.click('form[action="/login"] button[type="submit"]')]);
  return page;
}

test('a manager proposes, two reviewers review, the author merges, and readers see the change', async () => {
  const author = await signedIn('manager');
  await author.goto(`${server.url}${CHANGES}`);
  assert.match(await author.locator('h1').innerText(), /Change requests/);
  await author.fill('#cr-branch', 'faster-escalation');
  await author.fill('#cr-title', 'Escalate severity-1 incidents faster');
  await author.fill('#cr-description', 'After the November retro.');
  await Promise.all([author.waitForURL(/\/-\/changes\/1\?notice=opened$/), author.click('section.cr-open button[type="submit"]')]);
  assert.match(await author.locator('h1').innerText(), /Escalate severity-1 incidents faster/);
  assert.match(await author.locator('.cr-rules').innerText(), /1 more approval by a manager or above/);
  assert.equal(await author.locator('.diff-added', { hasText: 'within 15 minutes' }).count(), 1);
  assert.equal(await author.locator('button[formaction$="/approve"]').count(), 0, 'the author is not offered Approve');
  assert.equal(await author.locator('form[action$="/merge"] button').isDisabled(), true);
  // the redline is shown rendered; the source diff is folded under it
  assert.equal(await author.locator('.cr-redline', { hasText: 'within 15 minutes' }).count(), 1);
  assert.equal(await author.locator('.cr-source').first().evaluate((el) => (el as HTMLDetailsElement).open), false);
  // a comment in Markdown is rendered like a document, and its hostile part is inert
  await author.fill('#cr-comment', '**Ready** for review.\n\n- see [the policy](policies/incident-response.md)\n\n<p onclick="document.title=\'pwned\'">Click me</p>');
  await Promise.all([author.waitForURL(/notice=comment$/), author.click('form[action$="/comment"] button:text-is("Comment")')]);
  assert.match(await author.locator('.cr-timeline').innerText(), /Ready for review\./);
  assert.equal(await author.locator('.cr-timeline .cr-markdown strong', { hasText: 'Ready' }).count(), 1);
  assert.equal(await author.locator('.cr-timeline .cr-markdown li a').getAttribute('href'), '/zephyrcart/intranet/policies/incident-response');
  await author.locator('.cr-timeline p', { hasText: 'Click me' }).click();
  assert.notEqual(await author.title(), 'pwned');
  assert.equal(await author.locator('.cr-timeline [onclick]').count(), 0);
  // the draft's page as it would read after the merge, from the document list
  await Promise.all([author.waitForURL(/\/-\/changes\/1\/preview\/policies\/incident-response$/), author.click('a:text-is("Preview after the merge")')]);
  assert.match(await author.locator('.cr-preview-banner').innerText(), /Preview of change request !1 — not published/);
  assert.match(await author.locator('article.cr-preview').innerText(), /within 15 minutes/);
  await author.screenshot({ path: join(shots, 'draft-preview.png'), fullPage: true });
  await author.goto(`${server.url}${CHANGES}/1`);

  const admin = await signedIn('admin');
  await admin.goto(`${server.url}${CHANGES}`);
  assert.match(await admin.locator('.data-table').innerText(), /Waiting for my review/);
  await Promise.all([admin.waitForURL(/\/-\/changes\/1$/), admin.click('a:has-text("!1")')]);
  await admin.fill('#cr-comment', 'Say who is paged.');
  await Promise.all([admin.waitForURL(/notice=request-changes$/), admin.click('button:text-is("Request changes")')]);
  assert.match(await admin.locator('.cr-rules').innerText(), /requested changes/);

  // the second reviewer's browser runs no script: the forms are plain HTML forms
  const owner = await signedIn('owner', { javaScript: false });
  await owner.goto(`${server.url}${CHANGES}/1`);
  await owner.fill('input[name="reason"]', 'The on-call rota names who is paged.');
  await Promise.all([owner.waitForURL(/notice=dismissed$/), owner.click('button:text-is("Dismiss review")')]);
  await Promise.all([owner.waitForURL(/notice=approve$/), owner.click('button:text-is("Approve")')]);
  assert.match(await owner.locator('.cr-rules').innerText(), /The review rules are met/);
  await owner.screenshot({ path: join(shots, 'change-request-approved.png'), fullPage: true });

  await author.goto(`${server.url}${CHANGES}/1`);
  await Promise.all([author.waitForURL(/notice=closed$/), author.click('form[action$="/close"] button')]);
  await Promise.all([author.waitForURL(/notice=reopened$/), author.click('form[action$="/reopen"] button')]);
  await Promise.all([author.waitForURL(/notice=merged$/), author.click('form[action$="/merge"] button')]);
  assert.match(await author.locator('.page-lead').innerText(), /Merged/);
  // the timeline: everything that happened, in order
  const timeline = (await author.locator('.cr-timeline > li').allInnerTexts()).map((line) => line.replace(/\s+/g, ' '));
  const expected = [/Zed manager opened this change request/, /Zed manager commented/, /Zed admin requested changes.*dismissed by Zed owner: The on-call rota names who is paged\./, /Zed owner approved/, /Zed manager closed this change request/, /Zed manager reopened this change request/, /Zed manager merged this change request as [0-9a-f]{10}/];
  assert.equal(timeline.length, expected.length, timeline.join('\n'));
  expected.forEach((pattern, i) => assert.match(timeline[i]!, pattern));
  await author.locator('.cr-timeline').screenshot({ path: join(shots, 'timeline.png') });
  await author.goto(`${server.url}/zephyrcart/intranet/policies/incident-response`);
  assert.match(await author.locator('main').innerText(), /within 15 minutes/);

  // the merge commit carries the approval in the repository
  const repository = await server.context.repositories.get(project);
  const commit = await repository.readCommit((await repository.headOf('main'))!);
  assert.match(commit.message, /^Change-Request: 1$/m);
  assert.match(commit.message, /^Approved-by: Zed owner <owner@zephyrcart\.test>$/m);
  assert.deepEqual(problems, []);
});

test('"Propose change" in the editor commits a draft and opens a change request instead of publishing', async () => {
  const author = await signedIn('manager');
  const before = await (await server.context.repositories.get(project)).headOf('main');
  await author.goto(`${server.url}/zephyrcart/intranet/-/edit/policies/incident-response.md`);
  await author.locator('.editor-island .cm-editor').waitFor();
  await author.locator('.cm-content').click();
  await author.keyboard.press('Control+End');
  await author.keyboard.type('\nProposed from the editor.\n');
  await author.fill('#editor-message', 'Mention the editor');
  await Promise.all([author.waitForURL(/\/-\/changes\/2\?notice=opened$/), author.click('button:text-is("Propose change")')]);
  assert.match(await author.locator('h1').innerText(), /Mention the editor/);
  assert.equal(await author.locator('.diff-added', { hasText: 'Proposed from the editor.' }).count(), 1);
  assert.equal(await (await server.context.repositories.get(project)).headOf('main'), before, 'nothing was published');
  await author.screenshot({ path: join(shots, 'proposed-from-editor.png'), fullPage: true });
  assert.deepEqual(problems, []);
});

test('a move, a deletion and a restore of a document that needs review are proposed from their pages, not published', async () => {
  const author = await signedIn('manager');
  const repository = await server.context.repositories.get(project);
  const path = 'policies/incident-response.md';
  // an older version to restore: the current text, before a newer one lands (fixture content, as an import)
  const older = (await repository.headOf('main'))!;
  const current = (await repository.readBlob((await repository.entryAt(older, path))!.oid)).toString('utf8');
  const bot = { type: 'system' as const, id: '', label: 'fixture' };
  await server.context.branchMoves.commit(
    project,
    repository,
    { branch: 'main', expectedOld: older, mode: 'patch', changes: [{ path, content: `${current}
A newer paragraph.
` }], author: { name: 'Fixture', email: 'fixture@zephyrcart.test' }, message: 'Newer' },
    { kind: 'import', actor: bot, events: () => [] },
  );
  const before = await repository.headOf('main');

  await author.goto(`${server.url}/zephyrcart/intranet/-/rename/${path}`);
  assert.match(await author.locator('[data-review-required]').innerText(), /cannot be moved directly/);
  assert.equal(await author.locator('button:text-is("Move document")').count(), 0, 'no direct move');
  await author.fill('#change-new-path', 'policies/incident-runbook.md');
  await author.screenshot({ path: join(shots, 'propose-move.png'), fullPage: true });
  await Promise.all([author.waitForURL(/\/-\/changes\/\d+\?notice=opened$/), author.click('button:text-is("Propose change")')]);
  assert.match(await author.locator('h1').innerText(), /Move policies\/incident-response\.md to policies\/incident-runbook\.md/);

  await author.goto(`${server.url}/zephyrcart/intranet/-/delete/${path}`);
  assert.match(await author.locator('[data-review-required]').innerText(), /cannot be deleted directly/);
  await author.screenshot({ path: join(shots, 'propose-delete.png'), fullPage: true });
  await Promise.all([author.waitForURL(/\/-\/changes\/\d+\?notice=opened$/), author.click('button:text-is("Propose change")')]);
  assert.match(await author.locator('h1').innerText(), /Delete policies\/incident-response\.md/);

  await author.goto(`${server.url}/zephyrcart/intranet/-/restore/${older}/${path}`);
  assert.match(await author.locator('[data-review-required]').innerText(), /cannot be restored directly/);
  await author.fill('#restore-reason', 'The newer paragraph was premature');
  await author.screenshot({ path: join(shots, 'propose-restore.png'), fullPage: true });
  await Promise.all([author.waitForURL(/\/-\/changes\/\d+\?notice=opened$/), author.click('button:text-is("Propose change")')]);
  assert.match(await author.locator('h1').innerText(), /Restore policies\/incident-response\.md: The newer paragraph was premature/);
  assert.equal(await author.locator('.diff-removed', { hasText: 'A newer paragraph.' }).count(), 1, 'the redline shows what the restore takes away');
  await author.screenshot({ path: join(shots, 'proposed-restore.png'), fullPage: true });

  assert.equal(await repository.headOf('main'), before, 'nothing was published');
  assert.deepEqual(problems, []);
});

test('every form this file is listed for was submitted and accepted', () => {
  assertFormsSubmitted(server.submissions, import.meta.url);
});
