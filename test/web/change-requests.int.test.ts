/**
 * The change request page and its previews over HTTP, with real git and a real database: each changed
 * document's rendered redline with its source diff; the description and comments rendered and sanitized like
 * documents (hostile input included, in both); previews of the draft's pages as they would read after the
 * merge, with their banner, and the one 404 for a page or request the reader may not read; the conflict view
 * (base, main, draft) once main moved, and its resolution in the browser: a merge of main into the draft,
 * refused with conflict markers left, on a stale base, or against the change rules; dismissing approvals.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { PUBLISHED_BRANCH } from '../../src/content/published-branch.ts';
import { findProject, type ProjectRecord } from '../../src/projects/projects.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { signedInApp } from '../helpers/signed-in-app.ts';
import { csrfFrom, type TestApp } from '../helpers/test-app.ts';

const BASE = '/acme/handbook/-';
const normalized = (body: string) => body.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'ID').replace(/req-[0-9a-z-]+/g, 'REQ');
const doc = (title: string, classification: string, body: string) => `---\ntitle: ${title}\nclassification: ${classification}\n---\n\n${body}\n`;

/** Attacks put in descriptions and comments; none may come out active. */
const HOSTILE = [
  '<script>alert("HOSTILE-SCRIPT")</script>',
  '[js](javascript:alert(1))',
  '<a href="javascript:alert(2)">js2</a>',
  '<img src=x onerror=alert(3)>',
  '<p onclick="alert(4)">clicky</p>',
  '<a href="data:text/html,<script>alert(5)</script>">data-link</a>',
  '![pixel](data:image/png;base64,AAAA)',
  '<iframe src="https://evil.example/"></iframe>',
].join('\n\n');

/** No active content anywhere in a page: scripts only the app's own, no handlers, no javascript:/data: URLs. */
function assertNoActiveContent(html: string): void {
  for (const tag of html.match(/<script\b[^>]*>/g) ?? []) assert.match(tag, /^<script type="module" src="\/-\/assets\//, tag);
  assert.doesNotMatch(html, /<iframe/i);
  for (const tag of html.match(/<[a-zA-Z][^>]*>/g) ?? []) {
    assert.doesNotMatch(tag, /\son[a-z]+\s*=/i, tag);
    assert.doesNotMatch(tag, /\s(href|src|action|formaction)="\s*(javascript|data|vbscript):/i, tag);
  }
}

for (const target of databaseTargets()) {
  describe(`the change request page and previews (${target.name})`, () => {
    const signedIn = signedInApp(target);
    const { cookies, get, post } = signedIn;
    let t: TestApp;
    let project: ProjectRecord;
    before(async () => {
      t = signedIn.t;
      project = (await findProject(signedIn.db, 'acme', 'handbook'))!;
    });

    async function textAt(branch: string, path: string): Promise<string> {
      const repository = await t.context.repositories.get(project);
      const entry = await repository.entryAt((await repository.headOf(branch))!, path);
      return entry ? (await repository.readBlob(entry.oid)).toString('utf8') : '';
    }

    /** A commit on `branch` (a draft started from main when new, or main itself), through the branch-move protocol. */
    async function commit(who: string, branch: string, edits: Record<string, (text: string) => string>): Promise<string> {
      const repository = await t.context.repositories.get(project);
      const current = await repository.headOf(branch);
      const from = current ?? (await repository.headOf(PUBLISHED_BRANCH))!;
      const changes = [];
      for (const [path, edit] of Object.entries(edits)) {
        const entry = await repository.entryAt(from, path);
        changes.push({ path, content: edit(entry ? (await repository.readBlob(entry.oid)).toString('utf8') : '') });
      }
      const user = await t.context.db.selectFrom('users').select('id').where('email', '=', `${who}@acme.test`).executeTakeFirstOrThrow();
      const result = await t.context.branchMoves.commit(
        project,
        repository,
        { branch, expectedOld: current, ...(current ? {} : { startFrom: from }), mode: 'patch', changes, author: { name: who, email: `${who}@acme.test` }, message: `Edit on ${branch}` },
        // main moving under a draft is set up as an import would move it: protected main (which the page's
        // tests do not test) would refuse a direct save of these confidential documents
        { kind: branch === PUBLISHED_BRANCH ? 'import' : 'save', actor: { type: 'user', id: user.id, label: `${who}@acme.test` }, events: () => [] },
      );
      await t.context.branchMoves.idle();
      return result.commit!;
    }

    /** Opens a change request through its form; returns its number. */
    async function open(who: string, branch: string, title: string, description = ''): Promise<number> {
      const response = await post(`${BASE}/changes`, who, { branch, title, description });
      assert.equal(response.statusCode, 303, response.body.slice(0, 500));
      return Number(/\/-\/changes\/(\d+)\?notice=opened$/.exec(response.headers.location as string)![1]);
    }

    test('every form of a change request refuses a post without its CSRF field, or with another session\'s, and changes nothing', async () => {
      await commit('member', 'csrf-draft', { 'index.md': (s) => `${s}\nCSRF-MARKER.\n` });
      const n = await open('member', 'csrf-draft', 'Forms and CSRF');
      const before = await get(`${BASE}/changes/${n}`, cookies.admin);
      const reviewId = async () => {
        await post(`${BASE}/changes/${n}/request-changes`, 'admin', { body: 'Hold on.' });
        return /\/reviews\/(\d+)\/dismiss/.exec((await get(`${BASE}/changes/${n}`, cookies.owner)).body)![1]!;
      };
      const id = await reviewId();
      const snapshot = async () => {
        const rows = await asDatabaseOwner(signedIn.db, async (owner) => ({
          request: await owner.selectFrom('change_requests').select(['state', 'head_commit', 'updated_at']).where('number', '=', n).where('project_id', '=', project.id).executeTakeFirstOrThrow(),
          reviews: await owner.selectFrom('change_request_reviews').select(['id', 'dismissed_at']).orderBy('id').execute(),
          events: (await owner.selectFrom('audit_events').select((eb) => eb.fn.countAll<string>().as('n')).where('action', 'like', 'change_request.%').executeTakeFirstOrThrow()).n,
        }));
        return JSON.stringify(rows);
      };
      const unchanged = await snapshot();
      const forms: [string, Record<string, string>][] = [
        ['approve', { body: '' }],
        ['request-changes', { body: 'No.' }],
        ['comment', { body: 'Forged comment.' }],
        ['merge', {}],
        ['close', {}],
        ['reopen', {}],
        [`reviews/${id}/dismiss`, { reason: 'Forged.' }],
      ];
      const otherSession = csrfFrom((await get('/', cookies.member)).body);
      for (const [action, fields] of forms) {
        for (const token of [null, otherSession, 'forged']) {
          const response = await t.app.inject({
            method: 'POST',
            url: `${BASE}/changes/${n}/${action}`,
            headers: { cookie: cookies.owner!, 'content-type': 'application/x-www-form-urlencoded' },
            payload: new URLSearchParams({ ...(token === null ? {} : { _csrf: token }), ...fields }).toString(),
          });
          assert.equal(response.statusCode, 403, `${action} with ${token === null ? 'no token' : token === otherSession ? 'another session\'s token' : 'a forged token'}`);
        }
        // a cross-site page cannot post it either, even with the right token
        const crossSite = await t.app.inject({
          method: 'POST',
          url: `${BASE}/changes/${n}/${action}`,
          headers: { cookie: cookies.owner!, origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams({ _csrf: csrfFrom((await get('/', cookies.owner)).body), ...fields }).toString(),
        });
        assert.equal(crossSite.statusCode, 403, `${action} from another origin`);
      }
      assert.equal(await snapshot(), unchanged, 'nothing written');
      assert.equal(before.statusCode, 200);
      // the same forms with the field do what they say (the browser tests submit each of them too)
      assert.equal((await post(`${BASE}/changes/${n}/close`, 'owner', {})).statusCode, 303);
      assert.notEqual(await snapshot(), unchanged);
    });

    test('the editor offers Save and Propose change where a document publishes directly, only Propose change where it needs review', async () => {
      const direct = await get('/acme/handbook/-/edit/policies/data-handling.md', cookies.member);
      assert.equal(direct.statusCode, 200);
      assert.match(direct.body, /<button type="submit" class="button button-primary">Save<\/button>/);
      assert.match(direct.body, /<button type="submit" class="button" formaction="[^"]+">Propose change<\/button>/);
      assert.doesNotMatch(direct.body, /data-review-required/);
      const reviewed = await get('/acme/handbook/-/edit/policies/incident-response.md', cookies.manager);
      assert.equal(reviewed.statusCode, 200);
      assert.doesNotMatch(reviewed.body, />Save<\/button>/);
      assert.match(reviewed.body, /<button type="submit" class="button button-primary" aria-describedby="editor-review-note">Propose change<\/button>/);
      assert.match(reviewed.body, /data-review-required/);
    });

    test('a declassification is seen only by those who may read the old version: the restricted one hides the request', async () => {
      await commit('admin', 'declassify-reviews', { 'hr/reviews.md': (s) => s.replace(/classification: restricted/, 'classification: internal') });
      assert.match(await textAt('declassify-reviews', 'hr/reviews.md'), /classification: internal/);
      const n = await open('admin', 'declassify-reviews', 'DECLASSIFY-MARKER reviews');
      assert.equal((await get(`${BASE}/changes/${n}`, cookies.owner)).statusCode, 200);
      for (const who of ['manager', 'member', 'viewer']) {
        // the new version is one they could read; the old one is not, so the request does not exist for them
        const page = await get(`${BASE}/changes/${n}`, cookies[who]);
        assert.equal(page.statusCode, 404, who);
        assert.doesNotMatch(page.body, /DECLASSIFY-MARKER|hr\/reviews/, who);
        const list = await get(`${BASE}/changes?state=open`, cookies[who]);
        assert.doesNotMatch(list.body, /DECLASSIFY-MARKER/, who);
        assert.equal((await get(`${BASE}/changes/${n}/preview/hr/reviews`, cookies[who])).statusCode, 404, who);
      }
    });

    test('the list by state: open, merged and closed requests each under their own tab, and nowhere else', async () => {
      await commit('member', 'tab-open', { 'index.md': (s) => `${s}\nTab open.\n` });
      await commit('member', 'tab-closed', { 'index.md': (s) => `${s}\nTab closed.\n` });
      await commit('member', 'tab-merged', { 'news/tab.md': () => doc('Tab news', 'internal', 'Merged through the tab test.') });
      const opened = await open('member', 'tab-open', 'TAB-OPEN request');
      const closed = await open('member', 'tab-closed', 'TAB-CLOSED request');
      const merged = await open('member', 'tab-merged', 'TAB-MERGED request');
      assert.equal((await post(`${BASE}/changes/${closed}/close`, 'member', {})).statusCode, 303);
      assert.equal((await post(`${BASE}/changes/${merged}/merge`, 'member', {})).statusCode, 303);
      await t.context.branchMoves.idle();
      const listed = async (query: string) => {
        const page = await get(`${BASE}/changes${query}`, cookies.manager);
        assert.equal(page.statusCode, 200, query);
        return ['TAB-OPEN', 'TAB-CLOSED', 'TAB-MERGED'].filter((title) => page.body.includes(`${title} request`));
      };
      assert.deepEqual(await listed(''), ['TAB-OPEN']);
      assert.deepEqual(await listed('?state=open'), ['TAB-OPEN']);
      assert.deepEqual(await listed('?state=closed'), ['TAB-CLOSED']);
      assert.deepEqual(await listed('?state=merged'), ['TAB-MERGED']);
      assert.ok([opened, closed, merged].every((n) => n > 0));
    });

    test('each changed document shows its rendered redline, its source diff folded under it, and a link to its preview', async () => {
      await commit('member', 'three-docs', {
        'policies/data-handling.md': (s) => `${s}\n## Log retention\n\nKeep access logs for REDLINE-MARKER days.\n`,
        'index.md': (s) => `${s}\nA new line for the home page HOME-MARKER.\n`,
        'policies/new-page.md': () => doc('New page', 'internal', 'NEW-PAGE-TEXT lives here.'),
      });
      const n = await open('member', 'three-docs', 'Three documents');
      const page = await get(`${BASE}/changes/${n}`, cookies.viewer);
      assert.equal(page.statusCode, 200);
      assert.equal(page.body.match(/<details class="cr-document"/g)?.length, 3);
      const redlines = [...page.body.matchAll(/<div class="doc-body redline cr-redline">([\s\S]*?)<\/div><details class="cr-source">/g)].map((m) => m[1]!);
      assert.equal(redlines.length, 3, 'a rendered redline per document');
      assert.ok(redlines.some((r) => /<(ins|[a-z0-9]+ class="rl-added")[^>]*>[\s\S]*REDLINE-MARKER/.test(r) && /<h2[^>]*>[\s\S]*Log retention/.test(r)), 'the added section is marked as inserted, rendered (a heading, not "##")');
      assert.ok(redlines.some((r) => r.includes('NEW-PAGE-TEXT')));
      assert.match(page.body, /<span class="diff-line diff-added">\+ Keep access logs for REDLINE-MARKER days\.\n<\/span>/, 'the source diff');
      assert.match(page.body, /<details class="cr-source"><summary>Source diff/, 'folded under the redline (closed)');
      assert.match(page.body, new RegExp(`href="/acme/handbook/-/changes/${n}/preview/policies/new-page"`));
      assert.match(page.body, new RegExp(`href="/acme/handbook/-/changes/${n}/preview/"`), 'the home page (index.md) previews at the preview root');
    });

    test('a document too large to compare is said to be, with its preview; fifty documents still make one page', async () => {
      const huge = doc('Huge', 'internal', Array.from({ length: 12_000 }, (_, i) => `Line ${i} of a very large register, kept for the auditors.`).join('\n\n'));
      assert.ok(huge.length > 512 * 1024);
      const fifty: Record<string, (s: string) => string> = { 'policies/huge.md': () => huge };
      for (let i = 0; i < 50; i++) {
        fifty[`register/entry-${i}.md`] = () => doc(`Entry ${i}`, 'internal', `## Scope\n\nEntry ${i} covers ${'systems and people '.repeat(40)}\n\n## Owner\n\nThe team of entry ${i}.`);
      }
      await commit('member', 'big-change', fifty);
      const n = await open('member', 'big-change', 'Fifty-one documents');
      const started = performance.now();
      const page = await get(`${BASE}/changes/${n}`, cookies.member);
      const again = performance.now();
      await get(`${BASE}/changes/${n}`, cookies.member);
      // printed, not asserted: the machine is shared
      console.log(`page of a change request with 51 documents (one of 600 KB): ${(again - started).toFixed(0)} ms, again ${(performance.now() - again).toFixed(0)} ms`);
      assert.equal(page.statusCode, 200);
      assert.equal(page.body.match(/<details class="cr-document"/g)?.length, 51);
      assert.match(page.body, new RegExp(`This document is too large to compare here\\. Read the <a href="/acme/handbook/-/changes/${n}/preview/policies/huge">preview</a> instead`));
      assert.doesNotMatch(page.body, /Line 11999 of a very large register/, 'its text is not on the page');
      assert.ok((page.body.match(/class="doc-body redline cr-redline"/g)?.length ?? 0) >= 1);
      const preview = await get(`${BASE}/changes/${n}/preview/policies/huge`, cookies.member);
      assert.equal(preview.statusCode, 200);
    });

    test('descriptions and comments are Markdown, rendered and sanitized like documents; hostile input comes out inert', async () => {
      await commit('member', 'markdown-talk', { 'policies/data-handling.md': (s) => `${s}\nA small change.\n` });
      const description = `**Why**: see [the policy](policies/data-handling.md).\n\n## Plan\n\n${HOSTILE}`;
      const n = await open('member', 'markdown-talk', 'Talk in Markdown', description);
      const commented = await post(`${BASE}/changes/${n}/comment`, 'manager', { body: `Looks _fine_ to me, see [home](index.md).\n\n## Plan\n\n${HOSTILE}` });
      assert.equal(commented.statusCode, 303);
      const page = await get(`${BASE}/changes/${n}`, cookies.member);
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /<strong>Why<\/strong>: see <a href="\/acme\/handbook\/policies\/data-handling">the policy<\/a>/);
      assert.match(page.body, /Looks <em>fine<\/em> to me, see <a href="\/acme\/handbook\/">home<\/a>/);
      // headings of several texts on one page: ids of their own, never repeated
      const ids = [...page.body.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
      assert.ok(ids.includes('cr-text-plan'));
      assert.ok(ids.some((id) => /^cr-review-\d+-plan$/.test(id!)));
      assert.equal(new Set(ids).size, ids.length, 'no id repeated');
      assertNoActiveContent(page.body);
      assert.doesNotMatch(page.body, /HOSTILE-SCRIPT/, 'a script in a text is dropped with its content');
      assert.match(page.body, /clicky/, 'the text of a dropped handler\'s element stays');
    });

    test('huge texts: over the limit refused, at the limit and many of them rendered (in a worker past the inline size)', async () => {
      await commit('member', 'long-talk', { 'policies/data-handling.md': (s) => `${s}\nLong talk.\n` });
      const n = await open('member', 'long-talk', 'Long talk', 'x'.repeat(20_000));
      const tooLong = await post(`${BASE}/changes/${n}/comment`, 'member', { body: 'y'.repeat(20_001) });
      assert.equal(tooLong.statusCode, 400);
      assert.match(tooLong.body, /The comment is too long/);
      const longDescription = await post(`${BASE}/changes`, 'member', { branch: 'long-talk', title: 'Again', description: 'z'.repeat(20_001) });
      assert.equal(longDescription.statusCode, 400);
      // pathological shapes at the limit, and texts beyond the inline size in all (the budget pool renders them)
      for (const [i, body] of ['['.repeat(19_000), '> '.repeat(9_000), `**big-1** ${'*a'.repeat(9_000)}`, `**big-2** ${'<div>'.repeat(3_500)}`].entries()) {
        const response = await post(`${BASE}/changes/${n}/comment`, 'member', { body });
        assert.equal(response.statusCode, 303, `comment ${i}`);
      }
      const started = performance.now();
      const page = await get(`${BASE}/changes/${n}`, cookies.member);
      console.log(`page with ~95,000 characters of comments: ${(performance.now() - started).toFixed(0)} ms`);
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /<strong>big-1<\/strong>/);
      assert.match(page.body, /<strong>big-2<\/strong>/);
      assertNoActiveContent(page.body);
    });

    test('a preview shows a page of the draft as it would read after the merge, under a "not published" banner', async () => {
      await commit('member', 'preview-me', {
        'policies/data-handling.md': (s) => `${s}\nDRAFT-ONLY-TEXT in the draft.\n`,
        'policies/fresh.md': () => doc('Fresh policy', 'internal', 'FRESH-TEXT. See [data handling](data-handling.md).'),
      });
      const n = await open('member', 'preview-me', 'Preview me');
      // main moves on meanwhile, in a document the draft does not touch: the preview is of the merged result
      await commit('admin', PUBLISHED_BRANCH, { 'security.md': (s) => `${s}\nMAIN-MOVED-TEXT after the draft started.\n` });

      const fresh = await get(`${BASE}/changes/${n}/preview/policies/fresh`, cookies.member);
      assert.equal(fresh.statusCode, 200);
      assert.match(fresh.body, new RegExp(`Preview of change request !${n} — not published`));
      assert.match(fresh.body, /FRESH-TEXT/);
      assert.match(fresh.body, /<h1 class="doc-title" id="doc-title">Fresh policy<\/h1>/);
      // relative links stay inside the preview
      assert.match(fresh.body, /<a href="data-handling">data handling<\/a>/);
      assert.match(fresh.body, new RegExp(`href="/acme/handbook/-/changes/${n}/preview/policies/data-handling"`), 'navigation lists the change\'s documents');

      const changed = await get(`${BASE}/changes/${n}/preview/policies/data-handling`, cookies.member);
      assert.equal(changed.statusCode, 200);
      assert.match(changed.body, /DRAFT-ONLY-TEXT/);
      const untouched = await get(`${BASE}/changes/${n}/preview/security`, cookies.member);
      assert.equal(untouched.statusCode, 200);
      assert.match(untouched.body, /MAIN-MOVED-TEXT/, 'the merged result has main\'s newer text');
      assert.match(untouched.body, /is not changed by the request/);
      assert.equal((await get(`${BASE}/changes/${n}/preview/`, cookies.member)).statusCode, 200, 'the home page');

      // nothing was published
      assert.doesNotMatch((await get('/acme/handbook/policies/data-handling', cookies.member)).body, /DRAFT-ONLY-TEXT/);
      assert.equal((await get('/acme/handbook/policies/fresh', cookies.member)).statusCode, 404);
    });

    test('previews leak nothing: a hidden page answers like a missing one, and a hidden request hides all its pages', async () => {
      await commit('member', 'leaky', { 'policies/data-handling.md': (s) => `${s}\nLeak test.\n` });
      const n = await open('member', 'leaky', 'Leak test');
      const missing = await get(`${BASE}/changes/${n}/preview/policies/no-such-page`, cookies.member);
      assert.equal(missing.statusCode, 404);
      // a restricted document the member may not read, untouched by the request, in the preview's tree
      const hidden = await get(`${BASE}/changes/${n}/preview/hr/reviews`, cookies.member);
      assert.equal(hidden.statusCode, 404);
      assert.equal(normalized(hidden.body), normalized(missing.body), 'hidden is missing');
      assert.doesNotMatch(hidden.body, /Reviews|calibration/i);
      // the admin may read it: 200, and the read of a restricted version is audited
      const admin = await get(`${BASE}/changes/${n}/preview/hr/reviews`, cookies.admin);
      assert.equal(admin.statusCode, 200);
      const reads = await asDatabaseOwner(t.context.db, (owner) =>
        owner.selectFrom('audit_events').select(['details']).where('action', '=', 'document.read').where('target_label', '=', 'hr/reviews.md').execute(),
      );
      assert.ok(reads.some((r) => JSON.stringify(r.details).includes(`"change_request":${n}`)), 'audited as a read through the preview');
      // other organizations and anonymous readers: nothing
      assert.equal((await get(`${BASE}/changes/${n}/preview/policies/data-handling`, cookies.globex)).statusCode, 404);
      assert.notEqual((await get(`${BASE}/changes/${n}/preview/policies/data-handling`)).statusCode, 200);
      // addresses that cannot be documents
      for (const address of ['-/settings', '%2E%2E%2Fx', 'policies%2F..%2Fhr%2Freviews', '.git/config', 'policies/%00']) {
        assert.equal((await get(`${BASE}/changes/${n}/preview/${address}`, cookies.admin)).statusCode, 404, address);
      }

      // a request touching a document the member may not read: every page of its preview is 404 for them
      await commit('admin', 'with-restricted', {
        'policies/data-handling.md': (s) => `${s}\nWITH-RESTRICTED-TEXT.\n`,
        'hr/reviews.md': (s) => `${s}\nCalibration moves.\n`,
      });
      const r = await open('admin', 'with-restricted', 'Restricted inside');
      const readable = await get(`${BASE}/changes/${r}/preview/policies/data-handling`, cookies.member);
      assert.equal(readable.statusCode, 404);
      assert.doesNotMatch(readable.body, /WITH-RESTRICTED-TEXT/);
      assert.equal((await get(`${BASE}/changes/${r}`, cookies.member)).statusCode, 404);
      assert.equal((await get(`${BASE}/changes/${r}/preview/policies/data-handling`, cookies.admin)).statusCode, 200);
      // a page the draft made restricted: a request the member cannot see
      await commit('admin', 'raise', { 'policies/data-handling.md': (s) => s.replace('classification: internal', 'classification: restricted') });
      const raised = await open('admin', 'raise', 'Raise');
      assert.equal((await get(`${BASE}/changes/${raised}/preview/policies/data-handling`, cookies.member)).statusCode, 404);
    });

    test('when main moved and the draft conflicts: base, main and draft text per document; a commit on the draft resolves it', async () => {
      const path = 'policies/incident-response.md';
      const original = await textAt(PUBLISHED_BRANCH, path);
      const lastLine = original.trimEnd().split('\n').pop()!;
      await commit('manager', 'conflicting', { [path]: (s) => s.replace(lastLine, 'Version B of the last line <script>alert("b")</script>.') });
      const n = await open('manager', 'conflicting', 'Conflicting change');
      assert.equal((await post(`${BASE}/changes/${n}/approve`, 'admin', { body: '' })).statusCode, 303);
      let page = await get(`${BASE}/changes/${n}`, cookies.manager);
      assert.doesNotMatch(page.body, /Conflicts with main/, 'no conflict while main stays');

      // main moves: the same line changed another way
      await commit('admin', PUBLISHED_BRANCH, { [path]: (s) => s.replace(lastLine, 'Version A of the last line.') });
      page = await get(`${BASE}/changes/${n}`, cookies.manager);
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /This draft conflicts with main/);
      assert.match(page.body, /<h2 id="cr-conflicts-heading">Conflicts with main<\/h2>/);
      const side = (key: string) => new RegExp(`<section class="cr-conflict-side cr-conflict-${key}"[^>]*>[\\s\\S]*?<pre class="cr-conflict-text">([\\s\\S]*?)</pre>`).exec(page.body)?.[1] ?? '';
      assert.ok(side('base').includes(lastLine.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;')), 'base: the line both started from');
      assert.match(side('ours'), /Version A of the last line\./);
      assert.match(side('theirs'), /Version B of the last line &lt;script>alert\(&quot;b&quot;\)&lt;\/script>\./, 'source text, escaped');
      assert.match(page.body, /git merge origin\/main/);
      assert.match(page.body, /action="[^"]*\/merge"[^>]*>(?:(?!<\/form>)[\s\S])*<button[^>]*disabled/, 'Merge is disabled');
      assertNoActiveContent(page.body);
      // the member may not read the confidential policy: no request, no conflict, no text
      assert.equal((await get(`${BASE}/changes/${n}`, cookies.member)).statusCode, 404);

      const refused = await post(`${BASE}/changes/${n}/merge`, 'manager', {});
      assert.equal(refused.statusCode, 409);
      assert.match(refused.body, /Nothing was merged/);
      // the draft conflicts: its preview shows the draft's own text, and says why
      const preview = await get(`${BASE}/changes/${n}/preview/policies/incident-response`, cookies.manager);
      assert.equal(preview.statusCode, 200);
      assert.match(preview.body, /Version B of the last line/);
      assert.match(preview.body, /the draft conflicts with the published version/);

      // "Resolve in the editor": git's merged text with its conflict markers, for people who may edit it
      assert.match(page.body, new RegExp(`href="/acme/handbook/-/changes/${n}/resolve"`));
      const editor = await get(`${BASE}/changes/${n}/resolve`, cookies.manager);
      assert.equal(editor.statusCode, 200);
      assert.match(editor.body, /&lt;&lt;&lt;&lt;&lt;&lt;&lt; [0-9a-f]{40}\nVersion A of the last line\.\n=======\nVersion B of the last line &lt;script>/);
      assert.equal((await get(`${BASE}/changes/${n}/resolve`, cookies.member)).statusCode, 404, 'a reader who may not see the request');
      const head = /name="head" value="([0-9a-f]{40})"/.exec(editor.body)![1]!;
      const main = /name="main" value="([0-9a-f]{40})"/.exec(editor.body)![1]!;
      const mainText = await textAt(PUBLISHED_BRANCH, path);
      const resolveWith = (who: string, fields: Record<string, string>) => post(`${BASE}/changes/${n}/resolve`, who, { head, main, 'path-0': path, ...fields });
      const withMarkers = await resolveWith('manager', { 'content-0': `<<<<<<< x\n${mainText}=======\nB\n>>>>>>> y\n` });
      assert.equal(withMarkers.statusCode, 400);
      assert.match(withMarkers.body, /still has conflict markers/);
      const stale = await post(`${BASE}/changes/${n}/resolve`, 'manager', { head: main, main, 'path-0': path, 'content-0': mainText });
      assert.equal(stale.statusCode, 409);
      const raised = await resolveWith('manager', { 'content-0': mainText.replace('classification: confidential', 'classification: restricted') });
      assert.equal(raised.statusCode, 400, 'the change rules apply: a manager may not write a restricted document');
      assert.match(raised.body, /may not change a document classified restricted/);
      assert.equal(await (await t.context.repositories.get(project)).headOf('conflicting'), head, 'nothing was committed');

      // the resolution: a commit on the draft merging main in, which dismisses the approval
      const resolved = mainText.replace('Version A of the last line.', 'Version A of the last line, as resolved.');
      const saved = await resolveWith('manager', { 'content-0': resolved });
      assert.equal(saved.statusCode, 303, saved.body.slice(0, 300));
      assert.equal(saved.headers.location, `/acme/handbook/-/changes/${n}?notice=resolved`);
      await t.context.branchMoves.idle();
      const repository = await t.context.repositories.get(project);
      const resolution = await repository.readCommit((await repository.headOf('conflicting'))!);
      assert.deepEqual(resolution.parents, [head, main]);
      assert.equal(await textAt('conflicting', path), resolved);
      assert.equal(await (await t.context.repositories.get(project)).headOf(PUBLISHED_BRANCH), main, 'main did not move');
      const events = await asDatabaseOwner(t.context.db, (owner) =>
        owner.selectFrom('audit_events').select(['action']).where('target_id', '=', `${project.id}#${n}`).orderBy('seq').execute(),
      );
      assert.ok(events.some((e) => e.action === 'change_request.conflicts_resolved'));
      assert.equal((await get(`${BASE}/changes/${n}/resolve`, cookies.manager)).statusCode, 409, 'nothing left to resolve');
      page = await get(`${BASE}/changes/${n}`, cookies.manager);
      assert.equal(page.statusCode, 200);
      assert.doesNotMatch(page.body, /Conflicts with main|conflicts with main/);
      assert.match(page.body, /dismissed: a newer commit was pushed/, 'the approval of the old head is shown dismissed');
      assert.match(page.body, /1 more approval by a manager or above/);
    });
  });
}
