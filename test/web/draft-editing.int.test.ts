/**
 * Editing a change request's draft in the browser ("continues the draft they are on", issue #13) and the list of
 * the draft's commits on the request's page, over HTTP with real git and a real database:
 *
 * - the author continues their draft and adds a second document to it (one proposal spanning two documents);
 *   another writer who may edit the documents continues it too; a viewer is refused (403), a member who may not
 *   read a touched document finds nothing (404), another organization finds nothing; a save on a stale draft
 *   head writes nothing and gives the text back (409); a new commit dismisses approvals; main never moves, and
 *   the request takes the new head with `change_request.updated` in the move's transaction;
 * - the commits: subject, author, date, short id linking to the version; the subject of a commit that touched a
 *   document the reader may not read (a restricted edit later reverted, so the request itself touches only what
 *   they read) is not shown, and no message body or trailer is shown to anyone.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { PATH_NOT_AVAILABLE } from '../../src/changes/edit-steps.ts';
import { PUBLISHED_BRANCH } from '../../src/content/published-branch.ts';
import { findProject, type ProjectRecord } from '../../src/projects/projects.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { signedInApp } from '../helpers/signed-in-app.ts';
import type { TestApp } from '../helpers/test-app.ts';

const BASE = '/acme/handbook/-';
const INCIDENT = 'policies/incident-response.md'; // confidential: manager and above read and edit it
const DATA = 'policies/data-handling.md'; // internal
const SALARY = 'policies/salary-bands.md'; // restricted: admin and above

for (const target of databaseTargets()) {
  describe(`editing a change request's draft, and its commits (${target.name})`, () => {
    const signedIn = signedInApp(target);
    const { cookies, get, post } = signedIn;
    let t: TestApp;
    let project: ProjectRecord;
    before(async () => {
      t = signedIn.t;
      project = (await findProject(signedIn.db, 'acme', 'handbook'))!;
    });
    const repository = () => t.context.repositories.get(project);
    async function textAt(ref: string, path: string): Promise<string | null> {
      const repo = await repository();
      const entry = await repo.entryAt((await repo.headOf(ref)) ?? ref, path);
      return entry ? (await repo.readBlob(entry.oid)).toString('utf8') : null;
    }
    /** The hidden base field of an editor page. */
    const baseOf = (html: string) => /name="base" value="([0-9a-f]{40})"/.exec(html)![1]!;
    const branchOf = async (n: number) =>
      (await asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('change_requests').select(['branch', 'head_commit']).where('project_id', '=', project.id).where('number', '=', n).executeTakeFirstOrThrow()));

    /** "Propose change" in the editor (a new draft and its change request); returns the request's number. */
    async function propose(who: string, path: string, edit: (text: string) => string, message: string): Promise<number> {
      const opened = await get(`${BASE}/edit/${path}`, cookies[who]);
      assert.equal(opened.statusCode, 200, opened.body.slice(0, 300));
      const response = await post(`${BASE}/propose/${path}`, who, { base: baseOf(opened.body), content: edit((await textAt(PUBLISHED_BRANCH, path))!), message });
      assert.equal(response.statusCode, 303, response.body.slice(0, 500));
      await t.context.branchMoves.idle();
      return Number(/\/-\/changes\/(\d+)\?notice=opened$/.exec(response.headers.location as string)![1]);
    }

    /** Opens the draft editor on `path` and saves `edit` of its draft text; returns the response. */
    async function saveInDraft(who: string, n: number, path: string, edit: (text: string) => string, message = '') {
      const opened = await get(`${BASE}/changes/${n}/edit/${path}`, cookies[who]);
      assert.equal(opened.statusCode, 200, opened.body.slice(0, 300));
      const { branch } = await branchOf(n);
      const response = await post(`${BASE}/changes/${n}/edit/${path}`, who, { base: baseOf(opened.body), content: edit((await textAt(branch, path))!), message });
      await t.context.branchMoves.idle();
      return response;
    }

    test('the author continues the draft and adds a second document; a writer who may edit them continues it too; main never moves', async () => {
      const main = await (await repository()).headOf(PUBLISHED_BRANCH);
      const n = await propose('manager', INCIDENT, (s) => `${s}\nPage the on-call lead FIRST-EDIT.\n`, 'Faster escalation');
      const before = await branchOf(n);

      // the editor on the draft: its text, a form that saves to the draft, neither Publish nor Propose
      const editor = await get(`${BASE}/changes/${n}/edit/${INCIDENT}`, cookies.manager);
      assert.equal(editor.statusCode, 200);
      assert.match(editor.body, new RegExp(`<form class="editor-form" method="post" action="/acme/handbook/-/changes/${n}/edit/policies/incident-response.md"`));
      assert.match(editor.body, /FIRST-EDIT/, "the draft's text, not main's");
      assert.equal(baseOf(editor.body), before.head_commit);
      assert.match(editor.body, />Save to draft</);
      assert.doesNotMatch(editor.body, />Propose change</);
      assert.doesNotMatch(editor.body, /name="editorial"/);

      // the author's second commit on the same document
      const second = await saveInDraft('manager', n, INCIDENT, (s) => `${s}\nSECOND-EDIT by the author.\n`, 'Name the lead');
      assert.equal(second.statusCode, 303, second.body.slice(0, 500));
      assert.equal(second.headers.location, `/acme/handbook/-/changes/${n}?notice=updated`);
      // "Edit another document in this draft": the GET form leads to the editor on that path, and the save adds it
      const add = await get(`${BASE}/changes/${n}/edit?path=${encodeURIComponent(DATA)}`, cookies.manager);
      assert.equal(add.statusCode, 303);
      assert.equal(add.headers.location, `/acme/handbook/-/changes/${n}/edit/policies/data-handling.md`);
      const third = await saveInDraft('manager', n, DATA, (s) => `${s}\nANNEX-EDIT in the same change.\n`, 'Data handling too');
      assert.equal(third.statusCode, 303, third.body.slice(0, 500));

      const after = await branchOf(n);
      assert.equal(after.branch, before.branch);
      assert.notEqual(after.head_commit, before.head_commit, 'the request took the new head');
      assert.equal(after.head_commit, await (await repository()).headOf(before.branch));
      assert.match((await textAt(before.branch, INCIDENT))!, /FIRST-EDIT[\s\S]*SECOND-EDIT/);
      assert.match((await textAt(before.branch, DATA))!, /ANNEX-EDIT/);
      assert.equal(await (await repository()).headOf(PUBLISHED_BRANCH), main, 'nothing was published');
      assert.doesNotMatch((await textAt(PUBLISHED_BRANCH, DATA))!, /ANNEX-EDIT/);

      // the page: both documents, each with a redline and an "Edit in this draft" link; the commits listed
      const page = await get(`${BASE}/changes/${n}?notice=updated`, cookies.manager);
      assert.equal(page.statusCode, 200);
      assert.equal(page.body.match(/<details class="cr-document"/g)?.length, 2);
      assert.match(page.body, /Saved to the draft/);
      for (const path of [INCIDENT, DATA]) assert.match(page.body, new RegExp(`class="cr-edit-in-draft" href="/acme/handbook/-/changes/${n}/edit/${path}"`));
      assert.match(page.body, /class="doc-body redline cr-redline">[\s\S]*ANNEX-EDIT/);
      for (const subject of ['Faster escalation', 'Name the lead', 'Data handling too']) assert.match(page.body, new RegExp(`<span class="cr-commit-subject">${subject}</span>`));

      // another writer who may edit both documents (an admin) continues the draft
      const other = await saveInDraft('admin', n, DATA, (s) => `${s}\nADMIN-EDIT by a reviewer.\n`);
      assert.equal(other.statusCode, 303, other.body.slice(0, 500));
      assert.match((await textAt(before.branch, DATA))!, /ADMIN-EDIT/);
      const repo = await repository();
      const head = await repo.readCommit((await repo.headOf(before.branch))!);
      assert.equal(head.author.email, 'admin@acme.test', 'authored by who saved it');
      assert.equal(head.message.trim(), `Update ${DATA}`, 'the default message names the path');

      // audited: the request's new head (by number, never title), and the proposal of each document
      const events = await asDatabaseOwner(t.context.db, (owner) =>
        owner.selectFrom('audit_events').select(['action', 'details', 'actor_label']).where('target_id', '=', `${project.id}#${n}`).where('action', '=', 'change_request.updated').orderBy('seq').execute(),
      );
      assert.equal(events.length, 3, 'one change_request.updated per save, none twice (the listener finds it done)');
      const last = events.at(-1)!;
      assert.equal((last.details as { head: string }).head, (await repo.headOf(before.branch))!);
      assert.equal(last.actor_label, 'admin@acme.test');
    });

    test('a new document in the draft: added by one commit, listed as new, audited; a taken or hidden path refused alike, the text kept', async () => {
      const n = await propose('member', DATA, (s) => `${s}\nSee the annex.\n`, 'Data handling and its annex');
      const before = await branchOf(n);
      const page = await get(`${BASE}/changes/${n}`, cookies.member);
      assert.match(page.body, new RegExp(`href="/acme/handbook/-/changes/${n}/new"`), 'the page links to the form');
      const form = await get(`${BASE}/changes/${n}/new?folder=policies`, cookies.member);
      assert.equal(form.statusCode, 200);
      assert.match(form.body, new RegExp(`<form class="editor-form" method="post" action="/acme/handbook/-/changes/${n}/new"`));
      assert.match(form.body, /name="path"[^>]*value="policies\/"/);
      assert.match(form.body, />Add to draft</);
      assert.doesNotMatch(form.body, />Propose change<|>Create document</);

      const annex = '---\ntitle: Data handling annex\nclassification: internal\n---\n\nANNEX-TEXT for processors.\n';
      const created = await post(`${BASE}/changes/${n}/new`, 'member', { path: 'policies/data-annex.md', content: annex, message: '' });
      assert.equal(created.statusCode, 303, created.body.slice(0, 400));
      assert.equal(created.headers.location, `/acme/handbook/-/changes/${n}?notice=updated`);
      await t.context.branchMoves.idle();
      assert.equal(await textAt(before.branch, 'policies/data-annex.md'), annex);
      assert.equal(await textAt(PUBLISHED_BRANCH, 'policies/data-annex.md'), null, 'nothing published');
      const after = await branchOf(n);
      assert.notEqual(after.head_commit, before.head_commit, 'the request follows its draft');
      const shown = await get(`${BASE}/changes/${n}`, cookies.member);
      assert.match(shown.body, /<code class="cr-document-path">policies\/data-annex\.md<\/code> <span class="field-hint">new<\/span>/);
      assert.match(shown.body, /Create policies\/data-annex\.md/, 'the commit, named by the default message');
      const events = await asDatabaseOwner(t.context.db, (owner) =>
        owner.selectFrom('audit_events').select(['action', 'details']).where('action', 'in', ['document.proposed', 'change_request.updated']).where('details', 'is not', null).orderBy('seq', 'desc').limit(2).execute(),
      );
      const proposed = events.find((e) => e.action === 'document.proposed')!.details as Record<string, unknown>;
      assert.deepEqual([proposed.change, proposed.classification, proposed.change_request, proposed.commit], ['create', 'internal', n, after.head_commit]);

      // a path taken by a document they read is named; one taken by a document they may not read gets the generic
      // answer that anything else in the way gets (a folder, a file that is not a document): hidden is missing
      const taken = await post(`${BASE}/changes/${n}/new`, 'member', { path: DATA, content: annex, message: '' });
      assert.equal(taken.statusCode, 409);
      assert.match(taken.body, /A document already exists at/);
      assert.match(taken.body, /ANNEX-TEXT/, 'the text is kept');
      const hidden = await post(`${BASE}/changes/${n}/new`, 'member', { path: SALARY, content: annex, message: '' });
      assert.equal(hidden.statusCode, 409);
      const said = /class="form-error[^"]*"[^>]*>(?:<p>)?([^<]*)</.exec(hidden.body)?.[1]?.replaceAll('&quot;', '"');
      assert.equal(said, PATH_NOT_AVAILABLE(SALARY));
      assert.doesNotMatch(hidden.body, /Salary bands/, 'nothing of the hidden document');
      assert.match(hidden.body, /ANNEX-TEXT/);
      // raising it above what the member may write is refused, the text kept
      const raised = await post(`${BASE}/changes/${n}/new`, 'member', { path: 'policies/secret-annex.md', content: annex.replace('internal', 'restricted'), message: '' });
      assert.ok([400, 403].includes(raised.statusCode), String(raised.statusCode));
      assert.match(raised.body, /ANNEX-TEXT/);
      assert.equal(await textAt(before.branch, 'policies/secret-annex.md'), null);

      // a viewer may not add to a draft; another organization finds nothing
      assert.equal((await get(`${BASE}/changes/${n}/new`, cookies.viewer)).statusCode, 403);
      assert.equal((await post(`${BASE}/changes/${n}/new`, 'viewer', { path: 'policies/viewer.md', content: annex, message: '' })).statusCode, 403);
      assert.equal((await get(`${BASE}/changes/${n}/new`, cookies.globex)).statusCode, 404);
      assert.equal(await textAt(before.branch, 'policies/viewer.md'), null);
    });

    test('where broken links are refused, a draft\'s documents may link to one another: the gate counts the draft\'s own documents', async () => {
      const setLinkRefusal = (on: boolean) => asDatabaseOwner(t.context.db, (db) => db.updateTable('organizations').set({ refuse_broken_links: on }).where('id', '=', project.orgId).execute());
      await setLinkRefusal(true);
      try {
        const n = await propose('member', DATA, (s) => `${s}\nAnnexes follow.\n`, 'Data handling with annexes');
        const doc = (title: string, body: string) => `---\ntitle: ${title}\nclassification: internal\n---\n\n${body}\n`;
        const add = (path: string, content: string) => post(`${BASE}/changes/${n}/new`, 'member', { path, content, message: '' });
        assert.equal((await add('policies/annex-a.md', doc('Annex A', 'The processors.'))).statusCode, 303);
        await t.context.branchMoves.idle();
        // a link to a document the same draft adds: not broken once merged
        const linked = await add('policies/annex-b.md', doc('Annex B', 'See [annex A](annex-a.md).'));
        assert.equal(linked.statusCode, 303, linked.body.slice(0, 600));
        await t.context.branchMoves.idle();
        // a link to nothing at all is still refused, the text kept
        const broken = await add('policies/annex-c.md', doc('Annex C', 'See [nothing](annex-nowhere.md).'));
        assert.equal(broken.statusCode, 403);
        assert.match(broken.body, /refuses changes that add broken links/);
        assert.match(broken.body, /annex-nowhere\.md/);
        assert.match(broken.body, /See \[nothing\]/);
        // and a save of a draft's document may link to one the draft adds
        const saved = await saveInDraft('member', n, DATA, (s) => `${s}\nSee [annex B](annex-b.md).\n`);
        assert.equal(saved.statusCode, 303, saved.body.slice(0, 600));
        const { branch } = await branchOf(n);
        assert.match((await textAt(branch, DATA))!, /annex-b\.md/);
        assert.equal(await textAt(branch, 'policies/annex-c.md'), null);
      } finally {
        await setLinkRefusal(false);
      }
    });

    test('who may not: a viewer is refused, a member who may not read a touched document and another organization find nothing', async () => {
      // an internal-only request: a viewer sees it but may not change its draft
      const open = await propose('member', DATA, (s) => `${s}\nVIEWER-TEST.\n`, 'Internal only');
      const head = (await branchOf(open)).head_commit;
      assert.equal((await get(`${BASE}/changes/${open}`, cookies.viewer)).statusCode, 200);
      assert.doesNotMatch((await get(`${BASE}/changes/${open}`, cookies.viewer)).body, /Edit in this draft|cr-add-document/);
      assert.equal((await get(`${BASE}/changes/${open}/edit/${DATA}`, cookies.viewer)).statusCode, 403);
      const refused = await post(`${BASE}/changes/${open}/edit/${DATA}`, 'viewer', { base: head, content: 'x', message: '' });
      assert.equal(refused.statusCode, 403);
      // nor may the member add a document they may not read to it: the one 404 of a hidden document
      assert.equal((await get(`${BASE}/changes/${open}/edit/${SALARY}`, cookies.member)).statusCode, 404);
      const hidden = await post(`${BASE}/changes/${open}/edit/${SALARY}`, 'member', { base: head, content: '---\ntitle: x\nclassification: internal\n---\n', message: '' });
      assert.equal(hidden.statusCode, 404);
      assert.equal(await textAt((await branchOf(open)).branch, SALARY), await textAt(PUBLISHED_BRANCH, SALARY), 'the restricted document is untouched in the draft');

      // a request touching a confidential document: a member (who may not read it) finds nothing, as a missing one
      const confidential = await propose('manager', INCIDENT, (s) => `${s}\nHIDDEN-FROM-MEMBERS.\n`, 'Confidential change');
      const missing = await get(`${BASE}/changes/999999/edit/${DATA}`, cookies.member);
      const member = await get(`${BASE}/changes/${confidential}/edit/${DATA}`, cookies.member);
      assert.equal(member.statusCode, 404);
      assert.equal(missing.statusCode, 404);
      assert.doesNotMatch(member.body, /Confidential change|HIDDEN-FROM-MEMBERS/);
      const memberPost = await post(`${BASE}/changes/${confidential}/edit/${DATA}`, 'member', { base: (await branchOf(confidential)).head_commit, content: 'x', message: '' });
      assert.equal(memberPost.statusCode, 404);
      // another organization: nothing at all
      assert.equal((await get(`${BASE}/changes/${confidential}/edit/${INCIDENT}`, cookies.globex)).statusCode, 404);
      const outsider = await post(`${BASE}/changes/${confidential}/edit/${INCIDENT}`, 'globex', { base: (await branchOf(confidential)).head_commit, content: 'x', message: '' });
      assert.equal(outsider.statusCode, 404);
      assert.doesNotMatch((await textAt((await branchOf(confidential)).branch, DATA))!, /^x$/);
      // a closed request's draft is not edited in the browser
      assert.equal((await post(`${BASE}/changes/${open}/close`, 'member', {})).statusCode, 303);
      assert.equal((await get(`${BASE}/changes/${open}/edit/${DATA}`, cookies.member)).statusCode, 409);
    });

    test('a save on a stale draft head writes nothing, gives the text back with a diff (409); a new commit dismisses approvals', async () => {
      const n = await propose('manager', INCIDENT, (s) => `${s}\nSTALE-TEST start.\n`, 'Stale test');
      // the owner approves the head the manager proposed
      assert.equal((await post(`${BASE}/changes/${n}/approve`, 'owner', { body: '' })).statusCode, 303);
      let page = await get(`${BASE}/changes/${n}`, cookies.manager);
      assert.match(page.body, /The review rules are met/);

      const opened = await get(`${BASE}/changes/${n}/edit/${INCIDENT}`, cookies.manager);
      const staleBase = baseOf(opened.body);
      // someone else saves to the draft meanwhile (the admin)
      assert.equal((await saveInDraft('admin', n, INCIDENT, (s) => `${s}\nADMIN-WAS-FIRST.\n`)).statusCode, 303);
      const { branch, head_commit: head } = await branchOf(n);
      const mine = `${(await textAt(PUBLISHED_BRANCH, INCIDENT))!}\nMY-LOST-TEXT stays with me.\n`;
      const stale = await post(`${BASE}/changes/${n}/edit/${INCIDENT}`, 'manager', { base: staleBase, content: mine, message: 'Mine' });
      assert.equal(stale.statusCode, 409);
      assert.match(stale.body, /Someone else saved the draft of !\d+ while you were editing/);
      assert.match(stale.body, /MY-LOST-TEXT stays with me/, 'the text comes back');
      assert.match(stale.body, /diff-removed">− ADMIN-WAS-FIRST/, 'with what the draft has now');
      assert.equal(baseOf(stale.body), head, 'the next save is based on the current draft head');
      assert.equal((await branchOf(n)).head_commit, head, 'nothing was written');
      assert.doesNotMatch((await textAt(branch, INCIDENT))!, /MY-LOST-TEXT/);

      // the admin's commit dismissed the owner's approval (given on the old head): shown, and no longer counting
      page = await get(`${BASE}/changes/${n}`, cookies.manager);
      assert.match(page.body, /dismissed: a newer commit was pushed/);
      assert.match(page.body, /1 more approval by a manager or above/);
      assert.equal((await post(`${BASE}/changes/${n}/merge`, 'manager', {})).statusCode, 409, 'cannot be merged on the dismissed approval');
      // invalid front matter is refused with the text kept, nothing written
      const broken = await post(`${BASE}/changes/${n}/edit/${INCIDENT}`, 'manager', { base: head, content: '---\ntitle: [unclosed\n---\nBROKEN-TEXT\n', message: '' });
      assert.equal(broken.statusCode, 400);
      assert.match(broken.body, /BROKEN-TEXT/);
      assert.equal((await branchOf(n)).head_commit, head);
    });

    test('the commits list: a commit that touched a document the reader may not read keeps its subject from them; trailers are never shown', async () => {
      const repo = await repository();
      const main = (await repo.headOf(PUBLISHED_BRANCH))!;
      const salary = (await textAt(PUBLISHED_BRANCH, SALARY))!;
      const data = (await textAt(PUBLISHED_BRANCH, DATA))!;
      const admin = await t.context.db.selectFrom('users').select('id').where('email', '=', 'admin@acme.test').executeTakeFirstOrThrow();
      // a pushed draft (as with git): the admin edits the restricted salary bands in a commit whose message names
      // what the restricted document says, then reverts it; the request's net change is the internal document only
      const commits: [string, { path: string; content: string }][] = [
        ['Tidy the data handling policy\n\nSee-also: hr/reviews.md\nPath: policies/salary-bands.md', { path: DATA, content: `${data}\nTIDY-EDIT.\n` }],
        ['Project Falcon: cut the bonus pool by 40%', { path: SALARY, content: `${salary}\nFALCON-BODY.\n` }],
        ['Undo the bands for now', { path: SALARY, content: salary }],
      ];
      let head: string | null = null;
      for (const [message, change] of commits) {
        const result = await t.context.branchMoves.commit(
          project,
          repo,
          { branch: 'falcon-draft', expectedOld: head, ...(head ? {} : { startFrom: main }), mode: 'patch', changes: [change], author: { name: 'Acme admin', email: 'admin@acme.test' }, message },
          { kind: 'save', actor: { type: 'user', id: admin.id, label: 'admin@acme.test' }, events: () => [] },
        );
        head = result.commit!;
      }
      await t.context.branchMoves.idle();
      const opened = await post(`${BASE}/changes`, 'admin', { branch: 'falcon-draft', title: 'Data handling tidy-up', description: '' });
      assert.equal(opened.statusCode, 303, opened.body.slice(0, 300));
      const n = Number(/\/-\/changes\/(\d+)/.exec(opened.headers.location as string)![1]);

      // the admin opens it first: what the page remembers of the draft's commits (by commit, for every reader) is
      // then warm, and must not carry what the admin may see to the member
      const first = await get(`${BASE}/changes/${n}`, cookies.admin);
      assert.match(first.body, /Project Falcon: cut the bonus pool/);

      // the member sees the request (it touches only an internal document)...
      const member = await get(`${BASE}/changes/${n}`, cookies.member);
      assert.equal(member.statusCode, 200);
      assert.equal(member.body.match(/<details class="cr-document"/g)?.length, 1);
      assert.equal(member.body.match(/<li class="cr-commit">/g)?.length, 3, 'every commit is listed');
      // ...but neither the subject naming the restricted document's content, nor the revert's (it touched it too)
      assert.doesNotMatch(member.body, /Falcon|bonus pool|Undo the bands/);
      assert.equal(member.body.match(/cr-commit-hidden/g)?.length, 2);
      assert.match(member.body, /<span class="cr-commit-subject">Tidy the data handling policy<\/span>/);
      // no trailer or body of any message, even where the subject is shown
      assert.doesNotMatch(member.body, /See-also|hr\/reviews\.md|Path: policies\/salary-bands/);
      // each commit: author, date, short id; the visible one links to the draft as it left the document
      assert.match(member.body, /Acme admin · <time datetime="\d{4}-/);
      const tidy = (await repo.log(head!, { limit: 3 })).at(-1)!.oid;
      assert.match(member.body, new RegExp(`href="/acme/handbook/-/changes/${n}/preview/policies/data-handling\\?at=${tidy}"`));
      const version = await get(`${BASE}/changes/${n}/preview/policies/data-handling?at=${tidy}`, cookies.member);
      assert.equal(version.statusCode, 200);
      assert.match(version.body, /TIDY-EDIT/);
      assert.match(version.body, /as the draft had it at one of its commits/);
      // the restricted document at the commit that changed it: the one 404 (as for a missing page)
      const falcon = (await repo.log(head!, { limit: 3 }))[1]!.oid;
      const hiddenVersion = await get(`${BASE}/changes/${n}/preview/policies/salary-bands?at=${falcon}`, cookies.member);
      assert.equal(hiddenVersion.statusCode, 404);
      assert.doesNotMatch(hiddenVersion.body, /FALCON-BODY|Salary/);
      // a commit that is not one of the draft's: 404, even a real one of main
      assert.equal((await get(`${BASE}/changes/${n}/preview/policies/data-handling?at=${main}`, cookies.member)).statusCode, 404);

      // the admin, who may read the restricted document, sees every subject (still no trailer)
      const adminPage = await get(`${BASE}/changes/${n}`, cookies.admin);
      assert.match(adminPage.body, /<span class="cr-commit-subject">Project Falcon: cut the bonus pool by 40%<\/span>/);
      assert.match(adminPage.body, /<span class="cr-commit-subject">Undo the bands for now<\/span>/);
      assert.doesNotMatch(adminPage.body, /cr-commit-hidden|See-also/);
      assert.equal((await get(`${BASE}/changes/${n}/preview/policies/salary-bands?at=${falcon}`, cookies.admin)).statusCode, 200);
    });
  });
}
