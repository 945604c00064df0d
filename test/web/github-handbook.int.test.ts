import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, unlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { importFolder } from '../../src/projects/import-folder.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { crawlProject } from '../helpers/crawl.ts';
import { createTestApp, fixtureProject, type TestApp } from '../helpers/test-app.ts';

const author = { name: 'Fixture Bot', email: 'bot@acme.test' };

for (const target of databaseTargets()) {
  describe(`a handbook written for GitHub, imported and crawled (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let admin: string;
    let work: string;

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      admin = await t.login('admin@acme.test');
      work = mkdtempSync(join(tmpdir(), 'docucommit-handbook-'));
    });
    after(async () => {
      await t.close();
      await dispose();
      rmSync(work, { recursive: true, force: true });
    });

    test('imports with zero problems, and every link, image and anchor of the site answers', async () => {
      const result = await importFolder(t.context, { folder: fixtureProject('github-handbook'), orgSlug: 'acme', projectSlug: 'northwind', author });
      assert.deepEqual(result.linkProblems, []);
      assert.deepEqual(result.contentErrors, []);

      const crawl = await crawlProject(t.app, '/acme/northwind/', admin);
      assert.deepEqual(crawl.failures, []);
      // the whole handbook was reached: every document and every image
      for (const page of ['/acme/northwind/', '/acme/northwind/engineering/', '/acme/northwind/engineering/on-call', '/acme/northwind/people/time-off', '/acme/northwind/security/incident-playbook']) {
        assert.ok(crawl.pages.has(page), page);
      }
      assert.deepEqual([...crawl.images].sort(), [
        '/acme/northwind/assets/logo.svg',
        '/acme/northwind/assets/org-chart.png',
        '/acme/northwind/engineering/diagrams/deploy-flow.png',
        '/acme/northwind/security/playbook-tree.png',
        '/acme/northwind/security/severity-matrix.png',
      ]);

      // GitHub Markdown came out as GitHub shows it
      const onCall = crawl.pages.get('/acme/northwind/engineering/on-call')!;
      assert.match(onCall, /<div class="markdown-alert markdown-alert-important"><p class="markdown-alert-title">Important<\/p>/);
      assert.match(onCall, /<sup class="footnote-ref"><a href="#fn1" id="fnref1">1<\/a><\/sup>/);
      assert.match(onCall, /📟/);
      assert.match(onCall, /<a href="\.\.\/people\/#managers">people manager<\/a>/);
      // README.md is the home page and a folder's page
      assert.match(crawl.pages.get('/acme/northwind/')!, /Northwind Handbook/);
      assert.match(crawl.pages.get('/acme/northwind/engineering/')!, /Everything about how we build/);

      const problems = await t.app.inject({ method: 'GET', url: '/acme/northwind/-/problems', headers: { cookie: admin } });
      assert.equal(problems.statusCode, 200);
      assert.match(problems.body, /No front-matter errors, broken links, missing images or unknown anchors/);
    });

    test('what a crawl finds broken is exactly what the problems page and the import report', async () => {
      const folder = join(work, 'broken');
      cpSync(fixtureProject('github-handbook'), folder, { recursive: true });
      unlinkSync(join(folder, 'engineering/diagrams/deploy-flow.png'));
      appendFileSync(join(folder, 'README.md'), '\nSee the [old wiki](wiki/home.md) and <a href="people/holidays.md">holidays</a>.\n');
      appendFileSync(join(folder, 'people/benefits.md'), '\n<img src="../assets/missing-badge.png" alt="badge">\n\n[Pension](index.md#pension)\n');
      writeFileSync(join(folder, 'people/folder-link.md'), '# Folder link\n\n[Nothing here](../nowhere/)\n');

      const result = await importFolder(t.context, { folder, orgSlug: 'acme', projectSlug: 'broken-handbook', author });
      const reported = result.linkProblems.map((p) => `${p.from}:${p.line}: ${p.message}`);
      assert.deepEqual(reported, [
        'README.md:24: link wiki/home.md leads to a page that does not exist',
        'README.md:24: link people/holidays.md leads to a page that does not exist',
        'engineering/deploys.md:3: image diagrams/deploy-flow.png does not exist',
        'people/benefits.md:10: image ../assets/missing-badge.png does not exist',
        'people/benefits.md:12: link index.md#pension: people/index.md has no heading #pension',
        'people/folder-link.md:3: link ../nowhere/ leads to a page that does not exist',
      ]);

      const crawl = await crawlProject(t.app, '/acme/broken-handbook/', admin);
      const found = crawl.failures.map((f) => `${f.kind} ${f.url}`).sort();
      assert.deepEqual(found, [
        'anchor /acme/broken-handbook/people/#pension',
        'image /acme/broken-handbook/assets/missing-badge.png',
        'image /acme/broken-handbook/engineering/diagrams/deploy-flow.png',
        'link /acme/broken-handbook/nowhere/',
        'link /acme/broken-handbook/people/holidays',
        'link /acme/broken-handbook/wiki/home',
      ]);
      assert.equal(crawl.failures.length, result.linkProblems.length);

      const page = await t.app.inject({ method: 'GET', url: '/acme/broken-handbook/-/problems', headers: { cookie: admin } });
      assert.match(page.body, /0 front-matter errors and 6 link problems/);
      for (const line of reported) {
        const [location, ...message] = line.split(': ');
        assert.ok(page.body.includes(`<code>${location}</code>: ${message.join(': ')}`), line);
      }
    });
  });
}
