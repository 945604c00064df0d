import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { withOrg } from '../../src/db/connection.ts';
import { findProject, type ProjectRecord } from '../../src/projects/projects.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { createTestApp, csrfFrom, type TestApp } from '../helpers/test-app.ts';

const BASE = '/acme/handbook/-';
const normalized404 = (body: string) => body.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'ID');

const doc = (title: string, classification: string, body: string) =>
  `---\ntitle: ${title}\nclassification: ${classification}\n---\n\n# ${title}\n\n${body}\n`;

const RETENTION_V1 = doc('Retention', 'internal', 'Intro text.\n\n## Audits\n\nWe audit yearly OLD-MARKER.\n\n## Storage\n\nKept for ten years.');
const RETENTION_V2 = doc('Retention', 'internal', 'Intro text.\n\n## Audits\n\nWe audit quarterly NEW-MARKER.\n\n## Storage\n\nKept for ten years.');

for (const target of databaseTargets()) {
  describe(`history, versions, redlines and restore (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let project: ProjectRecord;
    const cookies: Record<string, string> = {};
    const cookie = (name: string) => cookies[name]!;
    const commits = { v1: "", v2: "", renamed: "", secret: "", downgraded: "" };

    /** One commit on main, published, as a person of our choosing. */
    async function commit(changes: ({ path: string; content: string } | { path: string; delete: true })[], name: string, message: string) {
      const repository = await t.context.repositories.get(project);
      const head = await repository.headOf('main');
      const result = await repository.commitFiles({
        branch: 'main',
        expectedOld: head,
        mode: 'patch',
        changes,
        author: { name, email: `${name.toLowerCase()}@acme.test` },
        message,
      });
      await t.context.publisher.publish(project);
      return result.commit!;
    }

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      const { upsertAccount } = await import('../../src/auth/accounts.ts');
      await upsertAccount(t.context.db, { email: 'admin2@acme.test', orgSlug: 'acme', role: 'admin', password: 'correct horse battery staple', name: 'Second admin' });
      for (const role of ['owner', 'admin', 'admin2', 'manager', 'member', 'viewer']) cookies[role] = await t.login(`${role}@acme.test`);
      cookies.globex = await t.login('member@globex.test');
      project = (await findProject(opened.db, 'acme', 'handbook'))!;
      commits.v1 = await commit([{ path: 'policies/retention.md', content: RETENTION_V1 }], 'Alice', 'Add retention policy');
      commits.v2 = await commit([{ path: 'policies/retention.md', content: RETENTION_V2 }], 'Bob', 'Audit quarterly');
      commits.renamed = await commit(
        [{ path: 'policies/retention.md', delete: true }, { path: 'policies/keep.md', content: RETENTION_V2 }],
        'Carol',
        'Rename retention to keep',
      );
      commits.secret = await commit(
        [{ path: 'policies/plan.md', content: doc('Plan', 'confidential', 'SECRET-V1-TEXT') }],
        'Dana',
        'Add plan SECRET-SUBJECT',
      );
      commits.downgraded = await commit([{ path: 'policies/plan.md', content: doc('Plan', 'internal', 'OPEN-V2-TEXT') }], 'Dana', 'Open the plan');
    });
    after(async () => {
      await t.close();
      await dispose();
    });

    const get = (url: string, cookie?: string) => t.app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} });
    /** A restore form's post: with a reason unless told otherwise. */
    const post = (url: string, cookie: string, csrf: string, reason: string | null = 'Bring back the older text') =>
      t.app.inject({
        method: 'POST',
        url,
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ _csrf: csrf, ...(reason === null ? {} : { reason }) }).toString(),
      });
    const csrfOf = async (cookie: string) => csrfFrom((await get('/', cookie)).body);

    test('a document history lists its versions newest first with authors, following a rename', async () => {
      const res = await get(`${BASE}/history/policies/keep.md`, cookies.viewer);
      assert.equal(res.statusCode, 200);
      const carol = res.body.indexOf('Rename retention to keep');
      const bob = res.body.indexOf('Audit quarterly');
      const alice = res.body.indexOf('Add retention policy');
      assert.ok(carol > 0 && carol < bob && bob < alice, 'newest first');
      assert.match(res.body, /Carol/);
      assert.match(res.body, /Alice/);
      assert.match(res.body, /Renamed from <code>policies\/retention.md<\/code>/);
      assert.match(res.body, new RegExp(`/acme/handbook/-/blob/${commits.v1}/policies/retention.md`));
      assert.match(res.body, new RegExp(`/acme/handbook/-/compare/${commits.v1}..${commits.v2}/policies/retention.md`));
      // the path without .md is the same page
      assert.equal((await get(`${BASE}/history/policies/keep`, cookies.viewer)).statusCode, 200);
    });

    test('a document page links to its history for members', async () => {
      const res = await get('/acme/handbook/policies/keep', cookies.viewer);
      assert.match(res.body, /href="\/acme\/handbook\/-\/history\/policies\/keep.md"/);
    });

    test('any version renders at its own URL, by full or abbreviated commit id', async () => {
      const full = await get(`${BASE}/blob/${commits.v1}/policies/retention.md`, cookies.viewer);
      assert.equal(full.statusCode, 200);
      assert.match(full.body, /OLD-MARKER/);
      assert.doesNotMatch(full.body, /NEW-MARKER/);
      assert.match(full.body, /An earlier version/);
      const short = await get(`${BASE}/blob/${commits.v2.slice(0, 7)}/policies/retention.md`, cookies.viewer);
      assert.equal(short.statusCode, 200);
      assert.match(short.body, /NEW-MARKER/);
    });

    test('compare shows a word-level redline, the changed sections and a source diff', async () => {
      const res = await get(`${BASE}/compare/${commits.v1}..${commits.v2}/policies/retention.md`, cookies.viewer);
      assert.equal(res.statusCode, 200);
      assert.match(res.body, /<p class="rl-changed">We audit <del>yearly[^<]*<\/del>/);
      assert.match(res.body, /<ins>quarterly[^<]*<\/ins>/);
      assert.match(res.body, /Changed: Audits/);
      assert.doesNotMatch(res.body, /Changed: [^<]*Storage/);
      assert.match(res.body, /class="diff-line diff-removed"/);
      assert.match(res.body, /class="diff-line diff-added"/);
    });

    test('any two versions are compared by picking both in the history list (a plain GET form)', async () => {
      const history = await get(`${BASE}/history/policies/keep.md`, cookies.viewer);
      // radios for From and To on each version, tied to one form; the newest and the one before it picked first
      assert.match(history.body, /<form class="version-compare-form" id="compare-versions" method="get" action="\/acme\/handbook\/-\/compare">/);
      assert.match(history.body, new RegExp(`name="to" value="${commits.renamed}" form="compare-versions" checked`));
      assert.match(history.body, new RegExp(`name="from" value="${commits.v1}" form="compare-versions"`));
      const picked = await get(`${BASE}/compare?path=policies%2Fkeep.md&from=${commits.v1}&to=${commits.renamed}`, cookies.viewer);
      assert.equal(picked.statusCode, 303);
      assert.equal(picked.headers.location, `${BASE}/compare/${commits.v1}..${commits.renamed}/policies/keep.md`);
      const page = await get(String(picked.headers.location), cookies.viewer);
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /Changed: Audits/);
      // hostile input: not commit ids, a path outside the project, another organization's member
      assert.equal((await get(`${BASE}/compare?path=policies%2Fkeep.md&from=HEAD&to=${commits.v1}`, cookies.viewer)).statusCode, 404);
      assert.equal((await get(`${BASE}/compare?path=..%2Fsecret.md&from=${commits.v1}&to=${commits.v2}`, cookies.viewer)).statusCode, 404);
      assert.equal((await get(`${BASE}/compare?path=policies%2Fkeep.md&from=${commits.v1}&to=${commits.v2}`, cookie('globex'))).statusCode, 404);
    });

    test('compare across a rename finds the older name', async () => {
      const res = await get(`${BASE}/compare/${commits.v1}..${commits.renamed}/policies/keep.md`, cookies.viewer);
      assert.equal(res.statusCode, 200);
      assert.match(res.body, /Changed: Audits/);
    });

    test('the project history lists each commit with the documents it touched', async () => {
      const res = await get(`${BASE}/commits`, cookies.viewer);
      assert.equal(res.statusCode, 200);
      assert.match(res.body, /Rename retention to keep/);
      assert.match(res.body, /policies\/keep.md/);
      assert.ok(res.body.indexOf('Open the plan') < res.body.indexOf('Rename retention to keep'), 'newest first');
    });

    test('a version that was confidential stays hidden from a member after the document is downgraded', async () => {
      const history = await get(`${BASE}/history/policies/plan.md`, cookies.member);
      assert.equal(history.statusCode, 200);
      assert.match(history.body, /A version you may not read/);
      assert.doesNotMatch(history.body, /SECRET-SUBJECT|Dana.*SECRET/);
      assert.doesNotMatch(history.body, new RegExp(`blob/${commits.secret}`));
      assert.equal((await get(`${BASE}/blob/${commits.downgraded}/policies/plan.md`, cookies.member)).statusCode, 200);
      const hidden = await get(`${BASE}/blob/${commits.secret}/policies/plan.md`, cookies.member);
      assert.equal(hidden.statusCode, 404);
      assert.doesNotMatch(hidden.body, /SECRET-V1-TEXT/);
      assert.equal((await get(`${BASE}/compare/${commits.secret}..${commits.downgraded}/policies/plan.md`, cookies.member)).statusCode, 404);
      const log = await get(`${BASE}/commits`, cookies.member);
      assert.doesNotMatch(log.body, /SECRET-SUBJECT|policies\/plan.md/);
      assert.match(log.body, /Changes to documents you cannot see/);
      // a manager reads every version
      const manager = await get(`${BASE}/blob/${commits.secret}/policies/plan.md`, cookies.manager);
      assert.equal(manager.statusCode, 200);
      assert.match(manager.body, /SECRET-V1-TEXT/);
      assert.match((await get(`${BASE}/commits`, cookies.manager)).body, /SECRET-SUBJECT/);
    });

    test('the history of a document the reader may not read answers like a missing one', async () => {
      const hidden = await get(`${BASE}/history/policies/incident-response.md`, cookies.member);
      const missing = await get(`${BASE}/history/policies/never-was.md`, cookies.member);
      assert.equal(hidden.statusCode, 404);
      assert.equal(normalized404(hidden.body), normalized404(missing.body));
      assert.equal((await get(`${BASE}/history/policies/incident-response.md`, cookies.manager)).statusCode, 200);
    });

    test('anonymous readers are sent to sign in', async () => {
      for (const url of [`${BASE}/history/security.md`, `${BASE}/commits`, `${BASE}/blob/${commits.v1}/policies/retention.md`]) {
        const res = await get(url);
        assert.equal(res.statusCode, 303, url);
        assert.match(res.headers.location as string, /^\/login\?next=/);
      }
    });

    test("another organization's member gets 404 on every history route", async () => {
      const urls = [
        `${BASE}/history/policies/keep.md`,
        `${BASE}/blob/${commits.v1}/policies/retention.md`,
        `${BASE}/compare/${commits.v1}..${commits.v2}/policies/retention.md`,
        `${BASE}/commits`,
      ];
      for (const url of urls) assert.equal((await get(url, cookies.globex)).statusCode, 404, url);
      const restore = await post(`${BASE}/restore/${commits.v1}/policies/keep.md`, cookie("globex"), await csrfOf(cookie("globex")));
      assert.equal(restore.statusCode, 404);
    });

    test('commit ids that are not hex, too short, refs or unknown are 404', async () => {
      for (const id of ['zzzzzzz', '-abcdef0', 'abc12', 'HEAD', 'main', '0'.repeat(40), 'deadbeefdeadbeef']) {
        assert.equal((await get(`${BASE}/blob/${id}/policies/keep.md`, cookies.viewer)).statusCode, 404, id);
      }
      assert.equal((await get(`${BASE}/compare/main..${commits.v2}/policies/retention.md`, cookies.viewer)).statusCode, 404);
      assert.equal((await get(`${BASE}/compare/${commits.v1}...${commits.v2}/policies/retention.md`, cookies.viewer)).statusCode, 404);
      assert.equal((await get(`${BASE}/history/-rf.md`, cookies.viewer)).statusCode, 404);
      assert.equal((await get(`${BASE}/commits?page=abc`, cookies.viewer)).statusCode, 404);
    });

    test('a viewer may read versions but not restore them', async () => {
      const res = await post(`${BASE}/restore/${commits.v1}/policies/retention.md`, cookie("viewer"), await csrfOf(cookie("viewer")));
      assert.equal(res.statusCode, 403);
      assert.doesNotMatch((await get(`${BASE}/history/policies/keep.md`, cookies.viewer)).body, /\/-\/restore\//);
    });

    test('restore makes an old version current as a new commit by the person restoring', async () => {
      const history = await get(`${BASE}/history/policies/keep.md`, cookies.member);
      assert.match(history.body, /\/-\/restore\//);
      const res = await post(`${BASE}/restore/${commits.v1}/policies/retention.md`, cookie("member"), csrfFrom(history.body));
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers.location, '/acme/handbook/policies/keep');
      const repository = await t.context.repositories.get(project);
      const [head] = await repository.log('main', { limit: 1 });
      assert.match(head!.subject, /^Restore version of \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC by Alice$/);
      assert.equal(head!.author.name, 'Acme member');
      const page = await get('/acme/handbook/policies/keep', cookies.member);
      assert.match(page.body, /OLD-MARKER/);
      const after = await get(`${BASE}/history/policies/keep.md`, cookies.member);
      assert.ok(after.body.indexOf('Restore version of') < after.body.indexOf('Rename retention to keep'));
    });

    test('restoring asks for confirmation and a reason; the reason goes into the commit message and the audit event', async () => {
      const history = await get(`${BASE}/history/policies/keep.md`, cookies.member);
      // the history links to the confirmation page; nothing there restores by itself
      assert.match(history.body, new RegExp(`<a class="button button-quiet button-small" href="${BASE}/restore/${commits.v2}/policies/retention.md">Restore…</a>`));
      assert.doesNotMatch(history.body, /method="post" action="[^"]*\/-\/restore\//);
      const confirm = await get(`${BASE}/restore/${commits.v2}/policies/retention.md`, cookies.member);
      assert.equal(confirm.statusCode, 200);
      assert.match(confirm.body, /Restore this version of/);
      assert.match(confirm.body, /<textarea id="restore-reason" name="reason" rows="3" required/);
      assert.equal((await get(`${BASE}/restore/${commits.v2}/policies/retention.md`, cookies.viewer)).statusCode, 403);
      assert.equal((await get(`${BASE}/restore/${commits.v2}/policies/retention.md`, cookie('globex'))).statusCode, 404);
      const repository = await t.context.repositories.get(project);
      const [before] = await repository.log('main', { limit: 1 });
      // no reason (or only blanks): refused on the confirmation page, nothing committed
      for (const reason of [null, '   ']) {
        const refused = await post(`${BASE}/restore/${commits.v2}/policies/retention.md`, cookie('member'), csrfFrom(confirm.body), reason);
        assert.equal(refused.statusCode, 400);
        assert.match(refused.body, /Give a reason for restoring this version/);
      }
      assert.equal((await repository.log('main', { limit: 1 }))[0]!.oid, before!.oid);
      const res = await post(`${BASE}/restore/${commits.v2}/policies/retention.md`, cookie('member'), csrfFrom(confirm.body), 'Audit cadence was agreed as quarterly');
      assert.equal(res.statusCode, 303);
      const [head] = await repository.log('main', { limit: 1 });
      assert.notEqual(head!.oid, before!.oid);
      const message = await repository.readCommit(head!.oid);
      assert.match(message.message, /^Restore version of .*\n\nReason: Audit cadence was agreed as quarterly\n?$/);
      const events = await withOrg(t.context.db, project.orgId, (trx) =>
        trx.selectFrom('audit_events').select('details').where('org_id', '=', project.orgId).where('action', '=', 'document.saved').orderBy('seq', 'desc').limit(1).execute(),
      );
      const details = (typeof events[0]!.details === 'string' ? JSON.parse(events[0]!.details) : events[0]!.details) as Record<string, unknown>;
      assert.equal(details.reason, 'Audit cadence was agreed as quarterly');
      assert.equal(details.restored_from, commits.v2);
    });

    test('restore brings back a deleted document at its path', async () => {
      const added = await commit([{ path: 'policies/gone.md', content: doc('Gone', 'internal', 'GONE-TEXT') }], 'Eve', 'Add gone');
      await commit([{ path: 'policies/gone.md', delete: true }], 'Eve', 'Delete gone');
      assert.equal((await get('/acme/handbook/policies/gone', cookies.member)).statusCode, 404);
      const history = await get(`${BASE}/history/policies/gone.md`, cookies.member);
      assert.equal(history.statusCode, 200);
      assert.match(history.body, /This document was deleted/);
      const res = await post(`${BASE}/restore/${added}/policies/gone.md`, cookie("member"), csrfFrom(history.body));
      assert.equal(res.statusCode, 303);
      assert.match((await get('/acme/handbook/policies/gone', cookies.member)).body, /GONE-TEXT/);
    });

    test('attack: a restricted title in a default commit message never reaches a viewer on the blob or compare page of a public document', async () => {
      // an admin changes the restricted document with an empty message, through the editor: as a change request
      // (protected main), approved by two others and merged
      const editUrl = `${BASE}/edit/policies/salary-bands.md`;
      const form = await get(editUrl, cookies.admin);
      const base = /name="base" value="([0-9a-f]{40})"/.exec(form.body)![1]!;
      const source = /<textarea[^>]*name="content"[^>]*>\n?([\s\S]*?)<\/textarea>/.exec(form.body)![1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
      const send = async (url: string, who: string, fields: Record<string, string>) =>
        t.app.inject({
          method: 'POST',
          url,
          headers: { cookie: cookies[who]!, 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams({ _csrf: csrfFrom((await get(url.replace(/\/(approve|merge)$/, ''), cookie(who))).body), ...fields }).toString(),
        });
      const proposed = await t.app.inject({
        method: 'POST',
        url: `${BASE}/propose/policies/salary-bands.md`,
        headers: { cookie: cookies.admin!, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ _csrf: csrfFrom(form.body), base, content: `${source}\nA new band.\n`, message: '' }).toString(),
      });
      assert.equal(proposed.statusCode, 303);
      const change = (proposed.headers.location as string).replace(/\?.*$/, '');
      for (const who of ['owner', 'admin2']) assert.equal((await send(`${change}/approve`, who, {})).statusCode, 303);
      assert.equal((await send(`${change}/merge`, 'admin', {})).statusCode, 303);
      await t.context.branchMoves.idle();
      const repository = await t.context.repositories.get(project);
      // the draft's commit, now in main's history
      const head = (await repository.readCommit((await repository.headOf('main'))!)).parents[1]!;
      assert.doesNotMatch((await repository.readCommit(head)).message, /RESTRICTED-TITLE-MARKER|Salary bands/, 'default messages never name a title');
      // the viewer opens the public document at that commit, and compares across it
      const blob = await get(`${BASE}/blob/${head}/security.md`, cookies.viewer);
      const compare = await get(`${BASE}/compare/${base}..${head}/security.md`, cookies.viewer);
      for (const page of [blob, compare]) {
        assert.equal(page.statusCode, 200);
        assert.doesNotMatch(page.body, /RESTRICTED-TITLE-MARKER|Salary bands|salary-bands|Acme admin/);
        assert.match(page.body, /Message not shown/);
      }
      // the admin, who may read everything the commit touched, sees its message and author
      assert.match((await get(`${BASE}/blob/${head}/security.md`, cookies.admin)).body, /Update policies\/salary-bands\.md — Acme admin/);
      // and the commits list says nothing of it to the viewer: no message, author or path
      const log = await get(`${BASE}/commits`, cookies.viewer);
      assert.doesNotMatch(log.body, /salary-bands|Acme admin/);
    });

    test('attack: a new document at a reused path does not reopen the old versions of the document that moved away', async () => {
      const merger = (classification: string, body: string) => doc('Merger plan', classification, body);
      const old = await commit([{ path: 'policies/merger.md', content: merger('internal', 'MERGER-V1-TEXT') }], 'Dana', 'Add merger plan');
      await commit([{ path: 'policies/merger.md', content: merger('restricted', 'MERGER-V1-TEXT') }], 'Dana', 'Restrict the merger plan');
      await commit([{ path: 'policies/merger.md', delete: true }, { path: 'board/merger.md', content: merger('restricted', 'MERGER-V1-TEXT') }], 'Dana', 'Move the merger plan');
      const reused = await commit([{ path: 'policies/merger.md', content: doc('Merger FAQ', 'internal', 'FAQ-TEXT') }], 'Erin', 'New FAQ');
      // the member reads the new document, but not the old text that lived at the same path
      assert.match((await get('/acme/handbook/policies/merger', cookies.member)).body, /FAQ-TEXT/);
      const oldVersion = await get(`${BASE}/blob/${old}/policies/merger.md`, cookies.member);
      const missing = await get(`${BASE}/blob/${old}/policies/never-was.md`, cookies.member);
      assert.equal(oldVersion.statusCode, 404);
      assert.equal(normalized404(oldVersion.body), normalized404(missing.body));
      assert.equal((await get(`${BASE}/compare/${old}..${reused}/policies/merger.md`, cookies.member)).statusCode, 404);
      const history = await get(`${BASE}/history/policies/merger.md`, cookies.member);
      assert.equal(history.statusCode, 200);
      assert.doesNotMatch(history.body, new RegExp(`blob/${old}`));
      assert.doesNotMatch(history.body, /Add merger plan|MERGER-V1-TEXT/);
      assert.doesNotMatch((await get(`${BASE}/commits`, cookies.member)).body, /Add merger plan/);
      // an admin still reads it, and it belongs to the document now at board/merger.md
      const admin = await get(`${BASE}/blob/${old}/policies/merger.md`, cookies.admin);
      assert.equal(admin.statusCode, 200);
      assert.match(admin.body, /MERGER-V1-TEXT/);
      assert.match(admin.body, /href="\/acme\/handbook\/board\/merger"/);
    });

    test('a version stays closed when its document was restricted only after moving away, or restricted and then deleted', async () => {
      const moved = await commit([{ path: 'hr/offsite.md', content: doc('Offsite', 'internal', 'OFFSITE-V1') }], 'Dana', 'Add offsite');
      await commit([{ path: 'hr/offsite.md', delete: true }, { path: 'board/offsite.md', content: doc('Offsite', 'internal', 'OFFSITE-V1') }], 'Dana', 'Move offsite');
      await commit([{ path: 'board/offsite.md', content: doc('Offsite', 'restricted', 'OFFSITE-V1') }], 'Dana', 'Restrict offsite');
      await commit([{ path: 'hr/offsite.md', content: doc('Offsite FAQ', 'internal', 'FAQ') }], 'Erin', 'New offsite FAQ');
      const deleted = await commit([{ path: 'hr/layoffs.md', content: doc('Layoffs', 'internal', 'LAYOFFS-V1') }], 'Dana', 'Add layoffs');
      await commit([{ path: 'hr/layoffs.md', content: doc('Layoffs', 'restricted', 'LAYOFFS-V1') }], 'Dana', 'Restrict layoffs');
      await commit([{ path: 'hr/layoffs.md', delete: true }], 'Dana', 'Delete layoffs');
      await commit([{ path: 'hr/layoffs.md', content: doc('Layoffs FAQ', 'internal', 'FAQ') }], 'Erin', 'New layoffs FAQ');
      for (const [id, path] of [[moved, 'hr/offsite.md'], [deleted, 'hr/layoffs.md']] as const) {
        assert.equal((await get(`${BASE}/blob/${id}/${path}`, cookies.member)).statusCode, 404, path);
        assert.equal((await get(`${BASE}/blob/${id}/${path}`, cookies.admin)).statusCode, 200, path);
      }
      // a document that was only ever internal and then deleted keeps its versions open to members
      const open = await commit([{ path: 'hr/picnic.md', content: doc('Picnic', 'internal', 'PICNIC') }], 'Dana', 'Add picnic');
      await commit([{ path: 'hr/picnic.md', delete: true }], 'Dana', 'Delete picnic');
      await commit([{ path: 'hr/picnic.md', content: doc('Picnic', 'restricted', 'BOARD PICNIC') }], 'Dana', 'Board picnic');
      const picnic = await get(`${BASE}/blob/${open}/hr/picnic.md`, cookies.member);
      assert.equal(picnic.statusCode, 200);
      assert.match(picnic.body, /PICNIC/);
      assert.doesNotMatch(picnic.body, /BOARD PICNIC|Read the current version/);
    });

    test('attack: restoring a deleted document never overwrites a hidden document that took its path since', async () => {
      const old = await commit([{ path: 'policies/taken.md', content: doc('Taken', 'internal', 'OLD-TAKEN-TEXT') }], 'Eve', 'Add taken');
      await commit([{ path: 'policies/taken.md', delete: true }], 'Eve', 'Delete taken');
      await commit([{ path: 'policies/taken.md', content: doc('Board only', 'restricted', 'BOARD-TEXT') }], 'Dana', 'Add board note');
      const history = await get(`${BASE}/history/policies/keep.md`, cookies.member);
      const res = await post(`${BASE}/restore/${old}/policies/taken.md`, cookie('member'), csrfFrom(history.body));
      assert.equal(res.statusCode, 409);
      assert.doesNotMatch(res.body, /Board only|already exists/);
      const repository = await t.context.repositories.get(project);
      const now = await repository.entryAt((await repository.headOf('main'))!, 'policies/taken.md');
      assert.match((await repository.readBlob(now!.oid)).toString('utf8'), /BOARD-TEXT/);
    });

    test('restore without a CSRF token is refused', async () => {
      const res = await post(`${BASE}/restore/${commits.v1}/policies/keep.md`, cookie("member"), "nope");
      assert.equal(res.statusCode, 403);
    });
  });
}
