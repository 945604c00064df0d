import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { BranchMoved } from '../../src/changes/branch-moved.ts';
import { withOrg } from '../../src/db/connection.ts';
import { findProject } from '../../src/projects/projects.ts';
import { SearchIndexListener } from '../../src/search/search-listener.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { signedInApp } from '../helpers/signed-in-app.ts';
import { csrfFrom, type TestApp } from '../helpers/test-app.ts';

const EDIT_URL = '/acme/handbook/-/edit/policies/data-handling.md';
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const NEW_SOURCE = (word: string) =>
  `---\ntitle: Data handling\nsort: 2\ntags: [policy, compliance]\nclassification: internal\n---\n\n# Data handling\n\n${word} is now part of data handling.\n`;

for (const target of databaseTargets()) {
  describe(`search pages (${target.name})`, () => {
    const signedIn = signedInApp(target);
    const { cookies, get } = signedIn;
    let t: TestApp;
    before(() => {
      t = signedIn.t;
    });
    const titles = (html: string) => [...html.matchAll(/<h2 class="search-hit-title"><a href="([^"]+)">/g)].map((m) => m[1]!).sort();

    test('a member finds internal documents across their projects, never a restricted title, path or count', async () => {
      const res = await get('/-/search?q=bands+OR+data+OR+security+OR+response', cookies.member);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.deepEqual(titles(res.body), ['/acme/handbook/', '/acme/handbook/policies/data-handling', '/acme/handbook/security']);
      assert.doesNotMatch(res.body, /RESTRICTED-TITLE-MARKER|salary-bands|Incident response runbook|incident-response/);
      assert.match(res.body, /3 documents match/);
      const admin = await get('/-/search?q=bands+OR+data+OR+security+OR+response', cookies.admin);
      assert.ok(titles(admin.body).includes('/acme/handbook/policies/salary-bands'));
      assert.ok(titles(admin.body).includes('/acme/handbook/policies/incident-response'));
    });

    test('a restricted title searched for by a member looks exactly like a word that exists nowhere', async () => {
      const hidden = await get('/-/search?q=RESTRICTED-TITLE-MARKER', cookies.manager);
      const missing = await get('/-/search?q=NEVER-WRITTEN-WORD', cookies.manager);
      assert.equal(hidden.statusCode, 200);
      const normalize = (body: string) => body.replace(/RESTRICTED-TITLE-MARKER|NEVER-WRITTEN-WORD/g, 'Q').replace(/[0-9a-f-]{36}/g, 'ID');
      assert.equal(normalize(hidden.body), normalize(missing.body));
    });

    test('the tag and project filters narrow the results; tag links count only readable documents', async () => {
      const hr = await get('/-/search?q=bands+OR+data&tag=hr', cookies.member);
      assert.deepEqual(titles(hr.body), []);
      assert.doesNotMatch(hr.body, />hr<\/a> <span class="search-count">/);
      const adminHr = await get('/-/search?q=bands+OR+data&tag=hr', cookies.admin);
      assert.deepEqual(titles(adminHr.body), ['/acme/handbook/policies/salary-bands']);
      const project = await get('/-/search?q=data&project=acme/handbook', cookies.member);
      assert.deepEqual(titles(project.body), ['/acme/handbook/', '/acme/handbook/policies/data-handling']);
      assert.match(project.body, /<option value="acme\/handbook" selected>/);
    });

    test('another organization’s member finds nothing of acme, by global search or through acme’s project search', async () => {
      const global = await get('/-/search?q=data+OR+security', cookies.globex);
      assert.deepEqual(titles(global.body).filter((href) => href.startsWith('/acme/')), []);
      const forged = await get('/-/search?q=data&project=acme/handbook', cookies.globex);
      assert.deepEqual(titles(forged.body).filter((href) => href.startsWith('/acme/')), []);
      // acme's project search offers them only what anyone may read: its public page
      const projectSearch = await get('/acme/handbook/-/search?q=data+OR+security+OR+bands', cookies.globex);
      assert.equal(projectSearch.statusCode, 200);
      assert.deepEqual(titles(projectSearch.body), ['/acme/handbook/security']);
      // globex's wiki offers an acme member its public page only, never its internal one
      const wiki = await get('/globex/wiki/-/search?q=globex', cookies.member);
      assert.equal(wiki.statusCode, 200);
      assert.deepEqual(titles(wiki.body), ['/globex/wiki/about']);
      assert.doesNotMatch(wiki.body, /GLOBEX-INTERNAL-MARKER|Globex wiki</);
      const missing = await get('/acme/nothing-here/-/search?q=x', cookies.member);
      assert.equal(missing.statusCode, 404);
    });

    test('anonymous readers search a project’s public pages; the all-projects search asks them to sign in', async () => {
      const res = await get('/acme/handbook/-/search?q=encrypt+OR+data');
      assert.equal(res.statusCode, 200);
      assert.deepEqual(titles(res.body), ['/acme/handbook/security']);
      const all = await get('/-/search?q=data');
      assert.equal(all.statusCode, 303);
      assert.match(String(all.headers.location), /^\/login\?next=/);
      const missing = await get('/acme/nothing-here/-/search?q=x');
      assert.equal(missing.statusCode, 303, 'a project that does not exist asks for sign-in, like its pages');
    });

    test('query text is shown escaped, and snippets carry only <mark> tags', async () => {
      const res = await get(`/-/search?q=${encodeURIComponent('<script>alert(1)</script> "data')}`, cookies.member);
      assert.equal(res.statusCode, 200);
      assert.doesNotMatch(res.body, /<script>alert/);
      assert.match(res.body, /&lt;script>alert\(1\)&lt;\/script>/);
      const hit = await get('/-/search?q=data', cookies.member);
      const snippets = [...hit.body.matchAll(/<p class="search-snippet">([\s\S]*?)<\/p>/g)].map((m) => m[1]!);
      assert.ok(snippets.length > 0);
      for (const snippet of snippets) assert.deepEqual(snippet.match(/<\/?[a-z]+/g)?.filter((tag) => !/^<\/?mark$/.test(tag)) ?? [], []);
      assert.match(snippets.join(''), /<mark>[Dd]ata<\/mark>/);
    });

    test('a browser save is searchable at once; the branch-move listener is idempotent and follows deletions', async () => {
      const editor = await get(EDIT_URL, cookies.member);
      const base = /name="base" value="([0-9a-f]{40})"/.exec(editor.body)![1]!;
      const saved = await t.app.inject({
        method: 'POST',
        url: EDIT_URL,
        headers: { cookie: cookies.member!, 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ _csrf: csrfFrom(editor.body), base, content: NEW_SOURCE('Wombatology'), message: 'Searchable' }),
      });
      assert.equal(saved.statusCode, 303);
      // The branch-move listener indexes the save (the search below would also catch up, so look first).
      await t.context.branchMoves.idle();
      const project = (await findProject(t.context.db, 'acme', 'handbook'))!;
      assert.ok(t.context.searchIndex.isCurrent(project), 'the listener brought the index to the published commit');
      const row = await withOrg(t.context.db, project.orgId, (trx) =>
        trx.selectFrom('search_documents').select('body').where('project_id', '=', project.id).where('path', '=', 'policies/data-handling.md').executeTakeFirstOrThrow(),
      );
      assert.match(row.body, /Wombatology/);
      const found = await get('/acme/handbook/-/search?q=wombatology', cookies.member);
      assert.deepEqual(titles(found.body), ['/acme/handbook/policies/data-handling']);
      assert.match(found.body, /<mark>Wombatology<\/mark>/);

      // The listener again, with the event the protocol delivered (delivery is at least once).
      const listener = new SearchIndexListener(t.context.db, t.context.searchIndex);
      const head = t.context.publisher.snapshotOf(project.id)!.commit!;
      const event: BranchMoved = {
        id: '1', orgId: project.orgId, projectId: project.id, ref: 'refs/heads/main', oldCommit: base, newCommit: head, kind: 'save',
        actor: { type: 'user', id: 'u', label: 'member@acme.test' }, changedPaths: ['policies/data-handling.md'], pathsTruncated: false,
        recovered: false, at: new Date().toISOString(),
      };
      await listener.handle(event);
      await listener.handle(event);
      assert.deepEqual(await t.context.searchIndex.ensureIndexed(project), { commit: head, written: 0, removed: 0, full: false }, 'nothing left to do');
      // A lost index row is restored by a truncated event (everything compared).
      await withOrg(t.context.db, project.orgId, (trx) => trx.deleteFrom('search_documents').where('path', '=', 'security.md').execute());
      await withOrg(t.context.db, project.orgId, (trx) => trx.updateTable('search_index_state').set({ commit_id: base }).execute());
      t.context.searchIndex.forget(project.id);
      await listener.handle({ ...event, id: '2', oldCommit: base, changedPaths: [], pathsTruncated: true });
      assert.deepEqual(titles((await get('/acme/handbook/-/search?q=encrypt')).body), ['/acme/handbook/security']);
      // events of other branches are ignored
      await listener.handle({ ...event, id: '3', ref: 'refs/heads/draft' });
    });
  });
}
