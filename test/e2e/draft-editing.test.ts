/**
 * One browser proposal spanning two documents, in Chromium: a member proposes a change of the data-handling
 * policy from the editor (it names `approvers: [manager]`, so it cannot be published directly), then continues the
 * same draft — "Edit another document in this draft" opens the code of conduct in the draft's editor, "Save to
 * draft" commits it there — and once more on the first document through its "Edit in this draft" link. Both
 * documents are on the change request's page with their redlines, and its commits are listed; a manager approves,
 * the member merges, and both are published. Every new form is submitted.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { findProject } from '../../src/projects/projects.ts';
import { launchChromium } from './browser.ts';
import { assertFormsSubmitted } from './forms.ts';
import { E2E_PASSWORD, outputDir, startServer } from './server.ts';

const shots = outputDir('draft-editing');
const PROJECT = '/zephyrcart/intranet';
let browser: Browser;
let server: Awaited<ReturnType<typeof startServer>>;
const problems: string[] = [];

before(async () => {
  server = await startServer(['member', 'manager']);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function signedIn(role: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
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

/** Types `text` at the end of the editor's document (CodeMirror, as a person would). */
async function typeAtEnd(page: Page, text: string): Promise<void> {
  await page.locator('.editor-island .cm-editor').waitFor();
  await page.locator('.cm-content').click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type(text);
}

test('a proposal spanning three documents (one new) is continued from the browser, approved by a second person, merged and published', async () => {
  const author = await signedIn('member');
  const repository = await server.context.repositories.get((await findProject(server.context.db, 'zephyrcart', 'intranet'))!);
  const mainBefore = await repository.headOf('main');

  // document A: "Propose change" in the editor (the policy needs review: it is the only button)
  await author.goto(`${server.url}${PROJECT}/-/edit/policies/data-handling.md`);
  await typeAtEnd(author, '\nDRAFT-A: encrypt every laptop.\n');
  await author.fill('#editor-message', 'Data handling and conduct, together');
  await Promise.all([author.waitForURL(/\/-\/changes\/(\d+)\?notice=opened$/), author.click('button:text-is("Propose change")')]);
  const crUrl = author.url().replace(/\?.*$/, '');

  // document B, in the same draft: the page's "Edit another document in this draft" form
  await author.fill('#cr-add-path', 'policies/code-of-conduct.md');
  await Promise.all([author.waitForURL(/\/-\/changes\/\d+\/edit\/policies\/code-of-conduct\.md$/), author.click('form.cr-add-document button[type="submit"]')]);
  assert.match(await author.locator('.editor-draft-of').innerText(), /in the draft of\s+!\d+ Data handling and conduct, together/);
  assert.equal(await author.locator('button:text-is("Propose change")').count(), 0, 'the draft editor neither publishes nor proposes');
  await typeAtEnd(author, '\nDRAFT-B: be kind in reviews.\n');
  await author.fill('#editor-message', 'Conduct in reviews');
  await author.screenshot({ path: join(shots, 'draft-editor.png'), fullPage: true });
  await Promise.all([author.waitForURL(/\/-\/changes\/\d+\?notice=updated$/), author.click('button:text-is("Save to draft")')]);
  assert.equal(author.url().replace(/\?.*$/, ''), crUrl, 'the same change request');

  // document A again, through its "Edit in this draft" link: the draft's text is what the editor opens
  await Promise.all([
    author.waitForURL(/\/-\/changes\/\d+\/edit\/policies\/data-handling\.md$/),
    author.locator('details.cr-document', { hasText: 'policies/data-handling.md' }).locator('a.cr-edit-in-draft').click(),
  ]);
  // (the form's text field holds the draft's version; CodeMirror draws only the lines in view)
  assert.match(await author.locator('#editor-source').inputValue(), /DRAFT-A: encrypt every laptop\./);
  await typeAtEnd(author, '\nDRAFT-A2: and every phone.\n');
  await author.fill('#editor-message', 'Phones too');
  await Promise.all([author.waitForURL(/notice=updated$/), author.click('button:text-is("Save to draft")')]);

  // document C, new, in the same draft: "New document in this draft"
  await Promise.all([author.waitForURL(/\/-\/changes\/\d+\/new$/), author.click('a:text-is("New document in this draft")')]);
  assert.match(await author.locator('.page-lead').innerText(), /A new document in the draft of !\d+ Data handling and conduct, together\. Write Markdown/);
  await author.fill('#editor-path', 'policies/dpa-annex.md');
  await typeAtEnd(author, '\nDRAFT-C: the processors we use.\n');
  await author.screenshot({ path: join(shots, 'draft-new-document.png'), fullPage: true });
  await Promise.all([author.waitForURL(/\/-\/changes\/\d+\?notice=updated$/), author.click('button:text-is("Add to draft")')]);
  assert.equal(author.url().replace(/\?.*$/, ''), crUrl, 'the same change request');

  // the three documents with their redlines; the four commits listed
  assert.equal(await author.locator('details.cr-document').count(), 3);
  assert.match(await author.locator('details.cr-document', { hasText: 'policies/dpa-annex.md' }).locator('> summary').innerText(), /new/);
  assert.equal(await author.locator('.cr-redline ins', { hasText: 'DRAFT-B: be kind in reviews.' }).count(), 1);
  assert.equal(await author.locator('.cr-redline ins', { hasText: 'DRAFT-A2: and every phone.' }).count(), 1);
  assert.deepEqual(await author.locator('.cr-commit-subject').allInnerTexts(), ['Create policies/dpa-annex.md', 'Phones too', 'Conduct in reviews', 'Data handling and conduct, together']);
  await author.screenshot({ path: join(shots, 'change-request-two-documents.png'), fullPage: true });
  assert.equal(await repository.headOf('main'), mainBefore, 'nothing was published yet');

  // a second person approves
  const reviewer = await signedIn('manager');
  await reviewer.goto(crUrl);
  await Promise.all([reviewer.waitForURL(/notice=approve$/), reviewer.click('button:text-is("Approve")')]);
  assert.match(await reviewer.locator('.cr-rules').innerText(), /The review rules are met/);

  // the author merges: both documents are published
  await author.goto(crUrl);
  await Promise.all([author.waitForURL(/notice=merged$/), author.click('form[action$="/merge"] button')]);
  await author.screenshot({ path: join(shots, 'merged.png'), fullPage: true });
  await author.goto(`${server.url}${PROJECT}/policies/data-handling`);
  assert.match(await author.locator('main').innerText(), /DRAFT-A: encrypt every laptop\.[\s\S]*DRAFT-A2: and every phone\./);
  await author.goto(`${server.url}${PROJECT}/policies/code-of-conduct`);
  assert.match(await author.locator('main').innerText(), /DRAFT-B: be kind in reviews\./);
  await author.goto(`${server.url}${PROJECT}/policies/dpa-annex`);
  assert.match(await author.locator('main').innerText(), /DRAFT-C: the processors we use\./);
  assert.deepEqual(problems, []);
});

test('every form this file is listed for was submitted and accepted', () => {
  assertFormsSubmitted(server.submissions, import.meta.url);
});
