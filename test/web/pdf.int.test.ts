import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { findProject, type ProjectRecord } from '../../src/projects/projects.ts';
import { buildApp } from '../../src/web/app.ts';
import { CHROMIUM_MISSING_MESSAGE, PdfRenderer } from '../../src/web/pdf-renderer.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { pdfImageSizes, pdfShows } from '../helpers/pdf-text.ts';
import { createTestApp, fixtureProject, type TestApp } from '../helpers/test-app.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`;

const doc = (title: string, classification: string, body: string, extra = '') => `---\ntitle: ${title}\nclassification: ${classification}\n${extra}---\n\n${body}\n`;

/** The PDF's text as far as a simple reader gets: its literal strings and its inflated streams (metadata, ToUnicode maps). */
function pdfText(pdf: Buffer): string {
  const parts = [pdf.toString('latin1')];
  const source = pdf.toString('latin1');
  for (const match of source.matchAll(/stream\r?\n/g)) {
    const start = match.index! + match[0].length;
    const end = source.indexOf('endstream', start);
    if (end < 0) continue;
    try {
      parts.push(inflateSync(pdf.subarray(start, end)).toString('latin1'));
    } catch {
      // not a Flate stream
    }
  }
  return parts.join('\n');
}

const detailsText = (details: unknown) => (typeof details === 'string' ? details : JSON.stringify(details));

/** A listener that counts every request it gets (the hostile document's "remote" resources). */
async function countingListener(): Promise<{ server: Server; url: string; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((request, response) => {
    hits.push(request.url ?? '');
    response.writeHead(200, { 'content-type': 'image/png' }).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
}

for (const target of databaseTargets()) {
  describe(`PDF of a document version (${target.name})`, { skip }, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let project: ProjectRecord;
    let listener: Awaited<ReturnType<typeof countingListener>>;
    const cookies: Record<string, string> = {};
    const commits: Record<string, string> = {};

    async function commit(changes: { path: string; content: string | Buffer }[], message: string, kind?: 'import') {
      const repository = await t.context.repositories.get(project);
      const head = await repository.headOf('main');
      const result = await repository.commitFiles({ branch: 'main', expectedOld: head, mode: 'patch', changes, author: { name: 'Ann', email: 'ann@acme.test' }, message, ...(kind ? { kind } : {}) });
      await t.context.publisher.publish(project);
      return result.commit!;
    }

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      listener = await countingListener();
      for (const role of ['manager', 'member']) cookies[role] = await t.login(`${role}@acme.test`);
      project = (await findProject(opened.db, 'acme', 'handbook'))!;
      commits.policy = await commit(
        [{ path: 'policies/printing.md', content: doc('Printing policy', 'internal', '# Printing policy\n\nPrint only what you must.\n\n| a | b |\n|---|---|\n| 1 | 2 |', 'effective: 2026-01-15\n') }],
        'Add printing policy',
      );
      commits.secret = await commit([{ path: 'policies/vault.md', content: doc('Vault', 'confidential', 'VAULT-TEXT') }], 'Add vault', 'import');
      commits.hostile = await commit(
        [
          {
            path: 'policies/hostile.md',
            content: doc(
              'Hostile',
              'internal',
              `![remote](${listener.url}/markdown-image.png)\n\n<img src="${listener.url}/html-image.png">\n\n<script>fetch('${listener.url}/script')</script>\n\n<link rel="stylesheet" href="${listener.url}/style.css">\n\n<iframe src="${listener.url}/frame"></iframe>\n\n<style>@import url('${listener.url}/import.css');</style>\n\nHOSTILE-BODY`,
            ),
          },
        ],
        'Add hostile',
      );
      // two images beside the documents (360x120 and 240x80 pixels); the first version of "Figures" embeds both,
      // its second only the chart: then only a confidential document embeds the matrix, so members may not fetch it
      commits.figures = await commit(
        [
          { path: 'images/shared-chart.png', content: readFileSync(join(fixtureProject('github-handbook'), 'assets/org-chart.png')) },
          { path: 'images/vault-only.png', content: readFileSync(join(fixtureProject('github-handbook'), 'security/severity-matrix.png')) },
          { path: 'policies/vault-figure.md', content: doc('Vault figure', 'confidential', '![matrix](../images/vault-only.png)') },
          { path: 'policies/figures.md', content: doc('Figures', 'internal', 'FIGURES-BODY\n\n![chart](../images/shared-chart.png)\n\n![matrix](../images/vault-only.png)') },
        ],
        'Add figures',
      );
      await commit([{ path: 'policies/figures.md', content: doc('Figures', 'internal', 'FIGURES-BODY two\n\n![chart](../images/shared-chart.png)') }], 'Figures: without the matrix');
    });
    after(async () => {
      await t.close();
      await dispose();
      listener.server.close();
    });

    const get = (url: string, cookie?: string) => t.app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} });

    test('a member gets the PDF of a version, with its version id, classification and effective date', async () => {
      const response = await get(`/acme/handbook/-/pdf/${commits.policy}/policies/printing.md`, cookies.member);
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['content-type'], 'application/pdf');
      const pdf = response.rawPayload;
      assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
      const text = pdfText(pdf);
      // the document title (with the version id) is the PDF's title
      assert.ok(text.includes(`/Title (Printing policy \\(version ${commits.policy!.slice(0, 8)}\\))`), 'the version id is in the PDF');
      // a short commit id also works, and the same version is served again (from the cache)
      const again = await get(`/acme/handbook/-/pdf/${commits.policy!.slice(0, 10)}/policies/printing.md`, cookies.member);
      assert.equal(again.statusCode, 200);
      assert.equal(again.rawPayload.subarray(0, 5).toString('latin1'), '%PDF-');
    });

    test('a version the reader may not read is missing, and a confidential PDF is an audited read', async () => {
      assert.equal((await get(`/acme/handbook/-/pdf/${commits.secret}/policies/vault.md`, cookies.member)).statusCode, 404);
      assert.equal((await get(`/acme/handbook/-/pdf/${commits.policy}/policies/nothing.md`, cookies.member)).statusCode, 404);
      assert.equal((await get(`/acme/handbook/-/pdf/${commits.policy}/policies/printing.md`)).statusCode, 303);
      const globex = await t.login('member@globex.test');
      assert.equal((await get(`/acme/handbook/-/pdf/${commits.policy}/policies/printing.md`, globex)).statusCode, 404);
      const response = await get(`/acme/handbook/-/pdf/${commits.secret}/policies/vault.md`, cookies.manager);
      assert.equal(response.statusCode, 200);
      const events = await asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('audit_events').select(['target_id', 'details']).where('action', '=', 'document.read').execute());
      const pdfReads = events.filter((e) => e.target_id === `${project.id}:policies/vault.md` && detailsText(e.details).includes('"format":"pdf"'));
      assert.equal(pdfReads.length, 1);
      // a cached PDF is still an audited read
      assert.equal((await get(`/acme/handbook/-/pdf/${commits.secret}/policies/vault.md`, cookies.manager)).statusCode, 200);
      const after = await asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('audit_events').select(['target_id', 'details']).where('action', '=', 'document.read').execute());
      assert.equal(after.filter((e) => e.target_id === `${project.id}:policies/vault.md` && detailsText(e.details).includes('"format":"pdf"')).length, 2);
    });

    test('a version’s own images are in its PDF, but only those the reader may fetch (a file only a confidential document embeds is left out)', async () => {
      const url = `/acme/handbook/-/pdf/${commits.figures}/policies/figures.md`;
      const CHART = '360x120';
      const MATRIX = '240x80';
      // the attachment addresses' rule, as the reader meets it on the pages
      assert.equal((await get('/acme/handbook/images/shared-chart.png', cookies.member)).statusCode, 200);
      assert.equal((await get('/acme/handbook/images/vault-only.png', cookies.member)).statusCode, 404);
      assert.equal((await get('/acme/handbook/images/vault-only.png', cookies.manager)).statusCode, 200);

      const forMember = await get(url, cookies.member);
      assert.equal(forMember.statusCode, 200);
      assert.ok(pdfShows(forMember.rawPayload, 'FIGURES-BODY'));
      assert.ok(pdfImageSizes(forMember.rawPayload).includes(CHART), 'the image the member may fetch is in the PDF');
      assert.ok(!pdfImageSizes(forMember.rawPayload).includes(MATRIX), 'the image the member may not fetch is not');

      const audited = () =>
        asDatabaseOwner(t.context.db, (owner) =>
          owner.selectFrom('audit_events').select(['target_type', 'details']).where('action', '=', 'document.read').where('target_id', '=', `${project.id}:images/vault-only.png`).execute(),
        );
      const before = (await audited()).length;
      const forManager = await get(url, cookies.manager);
      assert.equal(forManager.statusCode, 200);
      assert.ok(pdfImageSizes(forManager.rawPayload).includes(CHART));
      assert.ok(pdfImageSizes(forManager.rawPayload).includes(MATRIX), 'the manager may fetch the matrix: it is in their PDF');
      // that file is audited like its address: a read of a confidential attachment
      const after = await audited();
      assert.equal(after.length, before + 1);
      assert.equal(after.at(-1)!.target_type, 'attachment');
      assert.match(detailsText(after.at(-1)!.details), /"format":"pdf"/);

      // the member's PDF again (PDFs are cached by the files their reader may fetch): still without the matrix
      assert.ok(!pdfImageSizes((await get(url, cookies.member)).rawPayload).includes(MATRIX));
      // a document without images has none of these
      const plain = pdfImageSizes((await get(`/acme/handbook/-/pdf/${commits.policy}/policies/printing.md`, cookies.member)).rawPayload);
      assert.ok(!plain.includes(CHART) && !plain.includes(MATRIX));
    });

    test('a hostile document (remote images, script, stylesheet, frame) makes no request while printed', async () => {
      const response = await get(`/acme/handbook/-/pdf/${commits.hostile}/policies/hostile.md`, cookies.member);
      assert.equal(response.statusCode, 200);
      assert.deepEqual(listener.hits, []);
    });

    test('the renderer itself lets no request out, even for HTML that was never sanitized', async () => {
      const renderer = new PdfRenderer({ executablePath: CHROMIUM });
      try {
        const u = listener.url;
        const pdf = await renderer.render({
          key: null,
          html: `<!doctype html><html><head><link rel="stylesheet" href="${u}/raw-style.css"><style>@import url('${u}/raw-import.css'); body { background: url('${u}/raw-bg.png'); }</style></head><body><img src="${u}/raw-image.png"><script>fetch('${u}/raw-fetch'); new Image().src='${u}/raw-js-image';</script><iframe src="${u}/raw-frame"></iframe><object data="${u}/raw-object"></object><video src="${u}/raw-video"></video>RAW</body></html>`,
          headerHtml: `<img src="${u}/raw-header.png"><span></span>`,
          footerHtml: '<span></span>',
        });
        assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
        assert.deepEqual(listener.hits, []);
      } finally {
        await renderer.close();
      }
    });

    test('without Chromium the PDF link answers 503 with a clear message, and the rest of the app works', async () => {
      const built = await buildApp(t.context, { pdf: { executablePath: '/nonexistent/chromium' } });
      try {
        const response = await built.app.inject({ method: 'GET', url: `/acme/handbook/-/pdf/${commits.policy}/policies/printing.md`, headers: { cookie: cookies.member! } });
        assert.equal(response.statusCode, 503);
        assert.match(response.headers['content-type'] as string, /^text\/html/);
        assert.ok(response.body.includes(CHROMIUM_MISSING_MESSAGE.slice(0, 40)), 'the message says Chromium is missing');
        // still 404 for what the reader may not read (the policy answers before the renderer is asked)
        assert.equal((await built.app.inject({ method: 'GET', url: `/acme/handbook/-/pdf/${commits.secret}/policies/vault.md`, headers: { cookie: cookies.member! } })).statusCode, 404);
        assert.equal((await built.app.inject({ method: 'GET', url: `/acme/handbook/policies/printing`, headers: { cookie: cookies.member! } })).statusCode, 200);
      } finally {
        await built.app.close();
      }
    });

    test('the server prints with the configuration’s Chromium (CHROMIUM_PATH is read by config.ts)', async () => {
      const built = await buildApp({ ...t.context, config: { ...t.context.config, chromiumPath: '/nonexistent/configured-chromium' } });
      try {
        const response = await built.app.inject({ method: 'GET', url: `/acme/handbook/-/pdf/${commits.policy}/policies/nothing-cached.md`, headers: { cookie: cookies.member! } });
        assert.equal(response.statusCode, 404);
        const printed = await built.app.inject({ method: 'GET', url: `/acme/handbook/-/pdf/${commits.hostile}/policies/hostile.md`, headers: { cookie: cookies.member! } });
        assert.equal(printed.statusCode, 503);
        assert.ok(printed.body.includes(CHROMIUM_MISSING_MESSAGE.slice(0, 40)));
      } finally {
        await built.app.close();
      }
    });
  });
}
