import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { findProject, type ProjectRecord } from '../../src/projects/projects.ts';
import { CHANGELOG_PAGE_SIZE, trailerOf } from '../../src/projects/trust-center.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

const doc = (title: string, classification: string, body: string) => `---\ntitle: ${title}\nclassification: ${classification}\n---\n\n${body}\n`;

for (const target of databaseTargets()) {
  describe(`the public trust center (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let project: ProjectRecord;
    const cookies: Record<string, string> = {};
    const commits: Record<string, string> = {};

    async function commit(changes: { path: string; content: string }[], message: string) {
      const repository = await t.context.repositories.get(project);
      const head = await repository.headOf('main');
      const result = await repository.commitFiles({ branch: 'main', expectedOld: head, mode: 'patch', changes, author: { name: 'Ann', email: 'ann@acme.test' }, message });
      await t.context.publisher.publish(project);
      return result.commit!;
    }

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      cookies.member = await t.login('member@acme.test');
      cookies.globex = await t.login('member@globex.test');
      project = (await findProject(opened.db, 'acme', 'handbook'))!;
      commits.terms = await commit(
        [{ path: 'legal/terms.md', content: doc('Terms of service', 'public', 'We provide the service as is. TERMS-V1') }],
        'Add terms ahead of the FALCON-CONFIDENTIAL acquisition',
      );
      commits.termsV2 = await commit(
        [{ path: 'legal/terms.md', content: doc('Terms of service', 'public', 'We provide the service with care. TERMS-V2') }],
        'Reword terms\n\nPublic-Summary: Clarified the warranty <section> & its "limits"',
      );
      commits.secret = await commit([{ path: 'legal/merger.md', content: doc('Merger plan', 'confidential', 'MERGER-TEXT') }], 'Add MERGER-SUBJECT plan');
      commits.mixed = await commit(
        [
          { path: 'legal/terms.md', content: doc('Terms of service', 'public', 'We provide the service with great care. TERMS-V3') },
          { path: 'legal/merger.md', content: doc('Merger plan', 'confidential', 'MERGER-TEXT-2') },
        ],
        'Terms and MIXED-SUBJECT merger update',
      );
      commits.pricing = await commit([{ path: 'legal/pricing.md', content: doc('Pricing', 'public', 'PRICING-PUBLIC-TEXT') }], 'Add pricing');
      commits.pricingInternal = await commit([{ path: 'legal/pricing.md', content: doc('Pricing', 'internal', 'PRICING-INTERNAL-TEXT') }], 'Pricing is internal now');
    });
    after(async () => {
      await t.close();
      await dispose();
    });

    const get = (url: string, cookie?: string) => t.app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} });

    test('anyone sees the public documents of every project, grouped by section, with when they were last updated', async () => {
      const page = await get('/acme');
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /Acme Handbook/);
      assert.match(page.body, /Security overview/);
      assert.match(page.body, /Terms of service/);
      assert.match(page.body, /Last updated/);
      assert.match(page.body, /trust-section-title">Legal</);
      // internal, confidential and now-internal documents are missing, and so are other organizations'
      for (const hidden of ['Merger plan', 'Pricing', 'Data handling', 'Salary', 'About Globex']) assert.doesNotMatch(page.body, new RegExp(hidden, 'i'));
      assert.doesNotMatch(page.body, /Open the intranet/);
    });

    test('the changelog shows public summaries, never commit messages, and nothing of documents that are not public now', async () => {
      const body = (await get('/acme')).body;
      assert.match(body, /Clarified the warranty &lt;section> &amp; its &quot;limits&quot;/);
      for (const leak of ['FALCON-CONFIDENTIAL', 'MERGER', 'MIXED-SUBJECT', 'Reword terms', 'Pricing', 'pricing', 'Ann']) assert.doesNotMatch(body, new RegExp(leak));
      // the three public versions of the terms are listed, each linked to its public redline
      for (const commit of [commits.terms, commits.termsV2, commits.mixed]) assert.match(body, new RegExp(`/acme/-/changelog/handbook/${commit}/legal/terms.md`));
      assert.doesNotMatch(body, new RegExp(commits.secret!));
      assert.doesNotMatch(body, new RegExp(commits.pricing!));
    });

    test('the public redline shows what changed in a public document, and nothing for a document that is no longer public', async () => {
      const redline = await get(`/acme/-/changelog/handbook/${commits.termsV2}/legal/terms.md`);
      assert.equal(redline.statusCode, 200);
      assert.match(redline.body, /TERMS-<del>V1<\/del><ins>V2<\/ins>/);
      assert.doesNotMatch(redline.body, /Reword terms|Ann/);
      const first = await get(`/acme/-/changelog/handbook/${commits.terms}/legal/terms.md`);
      assert.equal(first.statusCode, 200);
      assert.match(first.body, /First public version/);
      // a past public version of a document that is internal now: missing (sign-in offered, as for any page)
      const past = await get(`/acme/-/changelog/handbook/${commits.pricing}/legal/pricing.md`);
      assert.equal(past.statusCode, 303);
      assert.equal((await get(`/acme/-/changelog/handbook/${commits.pricing}/legal/pricing.md`, cookies.member)).statusCode, 404);
      // a confidential document's commit, another organization's project, a forged commit: missing
      assert.equal((await get(`/acme/-/changelog/handbook/${commits.secret}/legal/merger.md`, cookies.member)).statusCode, 404);
      assert.equal((await get(`/globex/-/changelog/handbook/${commits.termsV2}/legal/terms.md`, cookies.member)).statusCode, 404);
      assert.equal((await get(`/acme/-/changelog/handbook/${'0'.repeat(40)}/legal/terms.md`, cookies.member)).statusCode, 404);
      assert.equal((await get(`/acme/-/changelog/handbook/${commits.termsV2}/../legal/terms.md`, cookies.member)).statusCode, 404);
    });

    test('the Atom feed lists the same public entries, XML-escaped, with ids, dates and links', async () => {
      const feed = await get('/acme/-/changelog.atom');
      assert.equal(feed.statusCode, 200);
      assert.match(feed.headers['content-type'] as string, /^application\/atom\+xml/);
      const xml = feed.body;
      assert.match(xml, /^<\?xml version="1.0" encoding="utf-8"\?>\n<feed xmlns="http:\/\/www.w3.org\/2005\/Atom">/);
      assert.match(xml, /<updated>\d{4}-\d\d-\d\dT[\d:.]+Z<\/updated>/);
      assert.match(xml, /Clarified the warranty &lt;section&gt; &amp; its &quot;limits&quot;/);
      assert.equal((xml.match(/<entry>/g) ?? []).length, (xml.match(/<id>tag:docucommit,2026:acme\/handbook\/[0-9a-f]{40}\//g) ?? []).length);
      assert.ok((xml.match(/<entry>/g) ?? []).length >= 3);
      for (const leak of ['FALCON-CONFIDENTIAL', 'MERGER', 'MIXED-SUBJECT', 'Pricing', 'Globex']) assert.doesNotMatch(xml, new RegExp(leak));
      assert.equal((await get('/globex/-/changelog.atom')).body.includes('Terms of service'), false);
      assert.equal((await get('/nobody/-/changelog.atom')).statusCode, 404);
    });

    test('members of the organization see the same page with a link into the intranet; members of others do not', async () => {
      const member = await get('/acme', cookies.member);
      assert.equal(member.statusCode, 200);
      assert.match(member.body, /Open the intranet/);
      const outsider = await get('/acme', cookies.globex);
      assert.equal(outsider.statusCode, 200);
      assert.doesNotMatch(outsider.body, /Open the intranet/);
      // an unknown organization is missing
      assert.equal((await get('/nobody', cookies.member)).statusCode, 404);
      assert.equal((await get('/nobody')).statusCode, 303);
      // what cannot be an organization's address is the plain 404 it always was
      assert.equal((await get('/robots.txt')).statusCode, 404);
      assert.equal((await get('/acme?page=x', cookies.member)).statusCode, 404);
      // member navigation still works
      assert.equal((await get('/acme/handbook/', cookies.member)).statusCode, 200);
      assert.equal((await get('/acme/-/reviews', cookies.member)).statusCode !== 500, true);
    });

    test('the changelog is paginated: a page does not grow with the project', async () => {
      for (let i = 0; i < CHANGELOG_PAGE_SIZE + 5; i++) {
        await commit([{ path: 'legal/faq.md', content: doc('FAQ', 'public', `Answer number ${i}.`) }], `FAQ ${i}`);
      }
      const first = await get('/acme');
      assert.equal((first.body.match(/class="trust-change"/g) ?? []).length, CHANGELOG_PAGE_SIZE);
      assert.match(first.body, /href="\/acme\?page=2"/);
      const second = await get('/acme?page=2');
      assert.equal(second.statusCode, 200);
      const onSecond = (second.body.match(/class="trust-change"/g) ?? []).length;
      assert.ok(onSecond > 0 && onSecond <= CHANGELOG_PAGE_SIZE);
      const feed = (await get('/acme/-/changelog.atom')).body;
      assert.equal((feed.match(/<entry>/g) ?? []).length, CHANGELOG_PAGE_SIZE);
      assert.equal((await get('/acme?page=99')).statusCode, 303);
    });
  });
}

test('a Public-Summary trailer is read from the trailer block only (a subject line is no trailer)', () => {
  assert.equal(trailerOf('Fix\n\nPublic-Summary: Clearer wording', 'Public-Summary'), 'Clearer wording');
  assert.equal(trailerOf('Public-Summary: subject only', 'Public-Summary'), null);
  assert.equal(trailerOf('Fix\n\nPublic-Summary: here\n\nSigned-off-by: a', 'Public-Summary'), null);
  assert.equal(trailerOf('Description\nPublic-Summary: from a description', 'Public-Summary', true), 'from a description');
});
