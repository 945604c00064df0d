/**
 * The change request page as a reviewer sees it, in Chromium, on a desktop and a phone: a request touching
 * several documents (rendered redlines, source diffs folded, a Markdown description), one whose draft conflicts
 * with main (base, main and draft side by side, or one under the other on a phone), and a draft's preview. The
 * pages must fit the screen (nothing wider than the viewport) and are screenshotted for a look. Then the author
 * resolves the conflict in the resolution editor, which merges main into the draft.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { UserActor } from '../../src/access/actor.ts';
import { findProject, type ProjectRecord } from '../../src/projects/projects.ts';
import { launchChromium } from './browser.ts';
import { assertFormsSubmitted } from './forms.ts';
import { E2E_PASSWORD, outputDir, startServer } from './server.ts';

const shots = outputDir('change-request-page');
const CHANGES = '/zephyrcart/intranet/-/changes';
let browser: Browser;
let server: Awaited<ReturnType<typeof startServer>>;
let project: ProjectRecord;
const problems: string[] = [];
const numbers = { several: 0, conflict: 0 };

const DESCRIPTION = `Three policies and a new travel page, after the **Q3 audit**.

## What changes

- incident escalation within *15 minutes*
- a retention section in [data handling](policies/data-handling.md)
- onboarding links the new travel policy

> Reviewers: the travel page is new; the rest are small edits.`;

before(async () => {
  server = await startServer(['owner', 'manager']);
  browser = await launchChromium();
  project = (await findProject(server.context.db, 'zephyrcart', 'intranet'))!;
  const repository = await server.context.repositories.get(project);
  const user = await server.context.db.selectFrom('users').select(['id', 'name']).where('email', '=', 'manager@zephyrcart.test').executeTakeFirstOrThrow();
  const manager: UserActor = { kind: 'user', userId: user.id, email: 'manager@zephyrcart.test', name: user.name ?? 'Zed manager', memberships: new Map([[project.orgId, 'manager']]) };
  const textOf = async (commit: string, path: string) => (await repository.readBlob((await repository.entryAt(commit, path))!.oid)).toString('utf8');
  async function commit(branch: string, changes: Record<string, (text: string) => string>) {
    const current = await repository.headOf(branch);
    const from = current ?? (await repository.headOf('main'))!;
    const files = [];
    for (const [path, edit] of Object.entries(changes)) files.push({ path, content: edit(await textOf(from, path).catch(() => '')) });
    await server.context.branchMoves.commit(
      project,
      repository,
      { branch, expectedOld: current, ...(current ? {} : { startFrom: from }), mode: 'patch', changes: files, author: { name: 'Zed manager', email: manager.email }, message: `Edit ${branch}` },
      // main moving under the drafts is set up as an import would move it (protected main refuses direct saves of
      // these policies; it is not what this file tests)
      { kind: branch === 'main' ? 'import' : 'save', actor: { type: 'user', id: user.id, label: manager.email }, events: () => [] },
    );
    await server.context.branchMoves.idle();
  }
  await commit('q3-audit', {
    'policies/incident-response.md': (s) => s.replace(/\n$/, '\n\nEscalate every severity-1 incident within 15 minutes, and page the incident commander directly.\n'),
    'policies/data-handling.md': (s) => `${s}\n## Log retention\n\nAccess logs are kept for 400 days, then deleted. Backups of logs follow the same schedule.\n`,
    'onboarding.md': (s) => `${s}\nBefore your first trip, read the [travel policy](policies/travel.md).\n`,
    'policies/travel.md': () => '---\ntitle: Travel\nclassification: internal\n---\n\n# Travel\n\nBook through the travel desk. Economy for flights under six hours.\n\n## Expenses\n\nKeep receipts; see the expenses page.\n',
  });
  numbers.several = await server.context.changeRequests.open(project, manager, { branch: 'q3-audit', title: 'Q3 audit follow-ups', description: DESCRIPTION }, new Set());

  const conduct = await textOf((await repository.headOf('main'))!, 'policies/code-of-conduct.md');
  const last = conduct.trimEnd().split('\n').pop()!;
  await commit('conduct-draft', { 'policies/code-of-conduct.md': (s) => s.replace(last, 'Report concerns to people@zephyrcart.test or anonymously through the ethics line.') });
  numbers.conflict = await server.context.changeRequests.open(project, manager, { branch: 'conduct-draft', title: 'Name the ethics line', description: 'Readers asked where to report.' }, new Set());
  await commit('main', { 'policies/code-of-conduct.md': (s) => s.replace(last, 'Report concerns to your manager or to people@zephyrcart.test.') });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function signedIn(role: string, viewport: { width: number; height: number }): Promise<Page> {
  const page = await browser.newPage({ viewport });
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

/** Nothing on the page is wider than the screen (the page does not scroll sideways). */
async function assertFits(page: Page, what: string): Promise<void> {
  // a string: the test runner's transform would add helpers the page does not have to named functions
  const { scroll, width, widest } = await page.evaluate<{ scroll: number; width: number; widest: string[] }>(`(() => {
    const width = window.innerWidth;
    const right = (el) => el.getBoundingClientRect().right;
    const label = (el) => el.tagName.toLowerCase() + '.' + [...el.classList].join('.') + ' (' + Math.round(right(el)) + 'px)';
    // the innermost elements that reach past the screen's right edge, and where the first one is
    const clipped = (el) => { for (let a = el.parentElement; a; a = a.parentElement) if (getComputedStyle(a).overflowX !== 'visible') return true; return false; };
    const over = [...document.querySelectorAll('body *')].filter((el) => right(el) > width + 1 && !clipped(el) && ![...el.children].some((c) => right(c) > width + 1));
    const chain = [];
    for (let el = over[0] ? over[0].parentElement : null; el && chain.length < 8; el = el.parentElement) chain.push(label(el));
    return { scroll: document.documentElement.scrollWidth, width, widest: [...over.slice(0, 3).map(label), 'in', ...chain] };
  })()`);
  assert.ok(scroll <= width, `${what}: ${scroll}px wide on a ${width}px screen: ${widest.join(', ')}`);
}

for (const [device, viewport] of [
  ['desktop', { width: 1280, height: 900 }],
  ['phone', { width: 390, height: 844 }],
] as const) {
  test(`a reviewer reads a change of several documents, a conflicting one and a preview (${device})`, async () => {
    const reviewer = await signedIn('owner', viewport);
    await reviewer.goto(`${server.url}${CHANGES}/${numbers.several}`);
    assert.equal(await reviewer.locator('details.cr-document').count(), 4);
    assert.equal(await reviewer.locator('.cr-redline').count(), 4);
    assert.equal(await reviewer.locator('.cr-description h2', { hasText: 'What changes' }).count(), 1);
    assert.equal(await reviewer.locator('.cr-description a').getAttribute('href'), '/zephyrcart/intranet/policies/data-handling');
    await reviewer.screenshot({ path: join(shots, `several-documents-${device}.png`), fullPage: true });
    await assertFits(reviewer, 'several documents');
    // the source diff opens without script
    await reviewer.locator('.cr-source summary').first().click();
    assert.equal(await reviewer.locator('.cr-source pre.diff').first().isVisible(), true);
    await assertFits(reviewer, 'a source diff opened');

    await reviewer.goto(`${server.url}${CHANGES}/${numbers.conflict}`);
    assert.match(await reviewer.locator('.cr-conflicts').innerText(), /Conflicts with main/);
    assert.match(await reviewer.locator('.cr-conflict-ours').innerText(), /your manager or to people@/);
    assert.match(await reviewer.locator('.cr-conflict-theirs').innerText(), /ethics line/);
    assert.equal(await reviewer.locator('form[action$="/merge"] button').isDisabled(), true);
    await reviewer.screenshot({ path: join(shots, `conflict-${device}.png`), fullPage: true });
    await assertFits(reviewer, 'a conflict');

    await reviewer.goto(`${server.url}${CHANGES}/${numbers.several}/preview/policies/travel`);
    assert.match(await reviewer.locator('.cr-preview-banner').innerText(), new RegExp(`Preview of change request !${numbers.several} — not published`));
    assert.match(await reviewer.locator('article.cr-preview h1').innerText(), /Travel/);
    // navigation of the change's documents
    await Promise.all([reviewer.waitForURL(/\/preview\/onboarding$/), reviewer.click('.cr-preview-list a:text-is("Onboarding")')]);
    assert.match(await reviewer.locator('article.cr-preview').innerText(), /Before your first trip/);
    await reviewer.screenshot({ path: join(shots, `preview-${device}.png`), fullPage: true });
    await assertFits(reviewer, 'a preview');
    await reviewer.close();
    assert.deepEqual(problems, []);
  });
}

test('the author resolves the conflict in the editor: main is merged into the draft, the request can be merged', async () => {
  const author = await signedIn('manager', { width: 1280, height: 900 });
  await author.goto(`${server.url}${CHANGES}/${numbers.conflict}`);
  await Promise.all([author.waitForURL(/\/resolve$/), author.click('a:text-is("Resolve in the editor")')]);
  const text = await author.inputValue('#resolve-0');
  assert.match(text, /^<{7} /m, 'git\'s conflict markers');
  await author.screenshot({ path: join(shots, 'resolve-editor.png'), fullPage: true });
  // saving with the markers still in is refused (400, which the browser logs), the text kept
  const logged = problems.length;
  await Promise.all([author.waitForURL(/\/resolve$/), author.click('button:text-is("Save the resolution to the draft")')]);
  assert.match(await author.locator('.form-error').innerText(), /conflict markers/);
  assert.equal(await author.inputValue('#resolve-0'), text);
  problems.splice(logged, problems.length - logged, ...problems.slice(logged).filter((p) => !/status of 400/.test(p)));
  const resolved = text.replace(/^<{7} .*\n([\s\S]*?)^={7}\n[\s\S]*?^>{7} .*\n/m, '$1').replace('your manager or to people@zephyrcart.test.', 'your manager, people@zephyrcart.test, or the ethics line.');
  await author.fill('#resolve-0', resolved);
  await Promise.all([author.waitForURL(/notice=resolved$/), author.click('button:text-is("Save the resolution to the draft")')]);
  assert.equal(await author.locator('.cr-conflicts').count(), 0, 'no conflict left');
  // the code of conduct names approvers (a manager or above): the owner approves the resolved head
  assert.equal(await author.locator('form[action$="/merge"] button').isDisabled(), true, 'not before its approval');
  const owner = await server.context.db.selectFrom('users').select(['id', 'name']).where('email', '=', 'owner@zephyrcart.test').executeTakeFirstOrThrow();
  const ownerActor: UserActor = { kind: 'user', userId: owner.id, email: 'owner@zephyrcart.test', name: owner.name ?? 'Zed owner', memberships: new Map([[project.orgId, 'owner']]) };
  await server.context.changeRequests.review(project, ownerActor, numbers.conflict, { verdict: 'approve', body: '' }, new Set());
  await author.reload();
  assert.equal(await author.locator('form[action$="/merge"] button').isDisabled(), false, 'approved: it may be merged');
  const repository = await server.context.repositories.get(project);
  const head = await repository.readCommit((await repository.headOf('conduct-draft'))!);
  assert.equal(head.parents.length, 2, 'a merge commit on the draft');
  assert.equal(head.parents[1], await repository.headOf('main'));
  await Promise.all([author.waitForURL(/notice=merged$/), author.click('form[action$="/merge"] button')]);
  await author.goto(`${server.url}/zephyrcart/intranet/policies/code-of-conduct`);
  assert.match(await author.locator('main').innerText(), /your manager, people@zephyrcart\.test, or the ethics line\./);
  assert.deepEqual(problems, []);
});

test('every form this file is listed for was submitted and accepted', () => {
  assertFormsSubmitted(server.submissions, import.meta.url);
});
