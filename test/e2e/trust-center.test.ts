import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { findProject } from '../../src/projects/projects.ts';
import { DEMO } from '../../src/projects/demo-project.ts';
import { versionPdfJob } from '../../src/web/document-pdf.ts';
import { ProjectHistory } from '../../src/changes/history.ts';
import { signIn, startChromium, stopChromium, watchPage, type E2eServer } from './session.ts';
import { outputDir } from './server.ts';

const shots = outputDir('trust-center');
let browser: Browser;
let server: E2eServer;
const problems: string[] = [];
let faqCommit = '';

const doc = (title: string, classification: string, body: string) => `---\ntitle: ${title}\nclassification: ${classification}\n---\n\n${body}\n`;

before(async () => {
  ({ server, browser } = await startChromium(['member']));
  const project = (await findProject(server.context.db, DEMO.orgSlug, DEMO.projectSlug))!;
  const repository = await server.context.repositories.get(project);
  const commit = async (changes: { path: string; content: string }[], message: string) => {
    const result = await repository.commitFiles({ branch: 'main', expectedOld: await repository.headOf('main'), mode: 'patch', changes, author: { name: 'Ann', email: 'ann@zephyrcart.test' }, message });
    await server.context.publisher.publish(project);
    return result.commit!;
  };
  await commit(
    [
      { path: 'trust/subprocessors.md', content: doc('Subprocessors', 'public', 'We use these subprocessors:\n\n| Name | Purpose | Region |\n|---|---|---|\n| CloudCo | Hosting | EU |\n| MailCo | Email | EU |') },
      { path: 'trust/security-faq.md', content: doc('Security FAQ', 'public', '## Do you encrypt data?\n\nYes, in transit and at rest.') },
    ],
    'Trust pages for the ACQUISITION-CODENAME deal\n\nPublic-Summary: New trust pages: subprocessors and a security FAQ',
  );
  faqCommit = await commit(
    [{ path: 'trust/security-faq.md', content: doc('Security FAQ', 'public', '## Do you encrypt data?\n\nYes, in transit (TLS 1.3) and at rest (AES-256).\n\n## Do you have SOC 2?\n\nYes, Type II.') }],
    'FAQ: SOC 2\n\nPublic-Summary: Added our SOC 2 Type II report & encryption details',
  );
  await commit([{ path: 'trust/subprocessors.md', content: doc('Subprocessors', 'public', 'We use these subprocessors:\n\n| Name | Purpose | Region |\n|---|---|---|\n| CloudCo | Hosting | EU |\n| MailCo | Email | EU |\n| PayCo | Payments | EU |') }], 'Add PayCo');
});
after(() => stopChromium(server, browser));

const watch = (page: Page) => watchPage(page, problems);

test('anyone reads the trust center, follows a change to its public redline, and the Atom feed parses', async () => {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  watch(page);
  await page.goto(`${server.url}/zephyrcart`);
  assert.equal(await page.locator('h1').first().innerText(), 'ZephyrCart Trust Center');
  assert.ok(await page.locator('.trust-document a', { hasText: 'Subprocessors' }).isVisible());
  assert.ok(await page.locator('.trust-document a', { hasText: 'Code of conduct' }).isVisible());
  assert.equal(await page.locator('text=Open the intranet').count(), 0);
  const text = await page.locator('main').innerText();
  assert.doesNotMatch(text, /ACQUISITION-CODENAME|Add PayCo|Data handling/);
  assert.match(text, /Added our SOC 2 Type II report & encryption details/);
  await page.screenshot({ path: join(shots, 'trust-center-anonymous.png'), fullPage: true });

  await page.locator(`a.trust-change-redline[href*="${faqCommit}"]`).click();
  await page.waitForSelector('.redline ins');
  assert.match(await page.locator('.redline').innerText(), /SOC 2/);
  await page.screenshot({ path: join(shots, 'public-redline.png'), fullPage: true });

  // the feed, parsed by the browser's XML parser (a strict one: any error gives a parsererror document)
  const feed = await page.evaluate(async (url) => {
    const response = await fetch(url);
    const xml = new DOMParser().parseFromString(await response.text(), 'application/xml');
    const ns = 'http://www.w3.org/2005/Atom';
    const entries = Array.from(xml.getElementsByTagNameNS(ns, 'entry'));
    return {
      type: response.headers.get('content-type'),
      error: xml.getElementsByTagName('parsererror').length,
      root: xml.documentElement.localName,
      feedUpdated: xml.documentElement.getElementsByTagNameNS(ns, 'updated')[0]?.textContent ?? null,
      entries: entries.map((e) => ({
        id: e.getElementsByTagNameNS(ns, 'id')[0]?.textContent ?? '',
        title: e.getElementsByTagNameNS(ns, 'title')[0]?.textContent ?? '',
        updated: e.getElementsByTagNameNS(ns, 'updated')[0]?.textContent ?? '',
        link: e.getElementsByTagNameNS(ns, 'link')[0]?.getAttribute('href') ?? '',
      })),
    };
  }, `${server.url}/zephyrcart/-/changelog.atom`);
  assert.match(feed.type ?? '', /^application\/atom\+xml/);
  assert.equal(feed.error, 0);
  assert.equal(feed.root, 'feed');
  assert.ok(feed.feedUpdated && !Number.isNaN(Date.parse(feed.feedUpdated)));
  assert.ok(feed.entries.length >= 4);
  assert.equal(new Set(feed.entries.map((e) => e.id)).size, feed.entries.length, 'ids are unique');
  for (const entry of feed.entries) {
    assert.match(entry.id, /^tag:docucommit,2026:zephyrcart\/intranet\/[0-9a-f]{40}\//);
    assert.ok(!Number.isNaN(Date.parse(entry.updated)));
    assert.match(entry.link, /^\/zephyrcart\/-\/changelog\/intranet\/[0-9a-f]{40}\//);
  }
  assert.ok(feed.entries.some((e) => e.title === 'Security FAQ: Added our SOC 2 Type II report & encryption details'));
  await page.close();
});

test('a member sees the same page with a way into the intranet', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  watch(page);
  await signIn(page, server.url, { email: 'member@zephyrcart.test' });
  await page.waitForSelector('.topbar form[action="/logout"], .topbar-user, .card-grid');
  await page.goto(`${server.url}/zephyrcart`);
  await page.waitForSelector('text=Open the intranet');
  await page.screenshot({ path: join(shots, 'trust-center-member.png'), fullPage: false });
  await page.click('text=Open the intranet');
  await page.waitForSelector('.card-grid');
  assert.equal(new URL(page.url()).pathname, '/');
  await page.close();
});

test('the print page of a version (what the PDF is printed from) looks right', async () => {
  const project = (await findProject(server.context.db, DEMO.orgSlug, DEMO.projectSlug))!;
  const history = new ProjectHistory(server.context.repositories, server.context.publisher);
  const { ANONYMOUS } = await import('../../src/access/actor.ts');
  const version = await history.version({ actor: ANONYMOUS, project, grants: new Set() }, faqCommit, 'trust/security-faq.md');
  const job = versionPdfJob({ project, version });
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.emulateMedia({ media: 'print' });
  await page.setContent(job.html);
  assert.match(await page.locator('.print-facts').innerText(), new RegExp(`Version ${faqCommit}`));
  await page.screenshot({ path: join(shots, 'print-page.png'), fullPage: true });
  await context.close();
  assert.deepEqual(problems, []);
});
