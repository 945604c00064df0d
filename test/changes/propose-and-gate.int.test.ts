/**
 * Issue #13 with real git and a real database:
 *  - protected main refuses a move, a deletion and a restore of a document that needs review, and each is proposed
 *    instead (the same commands, a draft branch, a change request) and reaches main through review and merge;
 *  - the publish gate (src/changes/publish-gate.ts): a rule enforced on push holds for merges — a draft holding a
 *    symbolic link, an oversized file or a link the organization refuses cannot reach main through Merge — and the
 *    link gate holds for proposals and restores too.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { UserActor } from '../../src/access/actor.ts';
import { DocumentEditor, ChangeRefusedError } from '../../src/changes/editor.ts';
import { ProjectHistory } from '../../src/changes/history.ts';
import { ReviewRequiredError } from '../../src/changes/protected-main.ts';
import { VersionRestorer } from '../../src/changes/restore.ts';
import { PUBLISHED_BRANCH } from '../../src/content/published-branch.ts';
import type { Role } from '../../src/db/schema.ts';
import { BrokenLinksRefusedError } from '../../src/projects/link-gate.ts';
import { findProject, type ProjectRecord } from '../../src/projects/projects.ts';
import { commitThroughProtocol } from '../evidence/helpers.ts';
import { gitClient } from '../helpers/git-client.ts';
import { createToken } from '../../src/auth/tokens.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { createTestApp, csrfFrom, type TestApp } from '../helpers/test-app.ts';

const IR = 'policies/incident-response.md';

for (const target of databaseTargets()) {
  describe(`proposing moves, deletions and restores; the publish gate on merges (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let project: ProjectRecord;
    let editor: DocumentEditor;
    let restorer: VersionRestorer;
    let history: ProjectHistory;
    let scratch: string;
    const actors = {} as Record<'owner' | 'admin' | 'manager' | 'member', UserActor>;
    const none = new Set<string>();
    const cookies: Record<string, string> = {};

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      project = (await findProject(t.context.db, 'acme', 'handbook'))!;
      for (const role of ['owner', 'admin', 'manager', 'member'] as const) {
        const email = `${role}@acme.test`;
        const user = await t.context.db.selectFrom('users').select(['id', 'name']).where('email', '=', email).executeTakeFirstOrThrow();
        actors[role] = { kind: 'user', userId: user.id, email, name: user.name ?? role, memberships: new Map<string, Role>([[project.orgId, role]]) };
        cookies[role] = await t.login(email);
      }
      editor = new DocumentEditor(t.context.repositories, t.context.branchMoves, t.context.publisher, t.context.linkGate);
      history = new ProjectHistory(t.context.repositories, t.context.publisher);
      restorer = new VersionRestorer(t.context.repositories, t.context.branchMoves, history, t.context.linkGate);
      scratch = mkdtempSync(join(tmpdir(), 'dc-gate-'));
    });

    after(async () => {
      await t.context.branchMoves.stop();
      await t.close();
      await dispose();
      rmSync(scratch, { recursive: true, force: true });
    });

    const repository = () => t.context.repositories.get(project);
    const mainHead = async () => (await repository()).headOf(PUBLISHED_BRANCH);
    const textOnMain = async (path: string) => {
      const repo = await repository();
      const entry = await repo.entryAt((await mainHead())!, path);
      return entry ? (await repo.readBlob(entry.oid)).toString('utf8') : null;
    };
    const get = (url: string, cookie: string) => t.app.inject({ method: 'GET', url, headers: { cookie } });
    const post = (url: string, cookie: string, fields: Record<string, string>) =>
      t.app.inject({ method: 'POST', url, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(fields).toString() });
    const setLinkRefusal = (on: boolean) => asDatabaseOwner(t.context.db, (db) => db.updateTable('organizations').set({ refuse_broken_links: on }).where('id', '=', project.orgId).execute());

    /**
     * A draft branch written with git plumbing straight into the repository (as a draft pushed before a rule
     * existed, or placed by other means would be): main's tree plus `files` (mode, content).
     */
    function plantDraft(branch: string, files: Record<string, { mode: string; content: string | Buffer }>, main: string): void {
      const gitDir = execFileSync('git', ['rev-parse', '--absolute-git-dir'], { cwd: scratch, env: { ...process.env, GIT_DIR: t.context.repositories.pathOf(project) } }).toString().trim();
      const env = { ...process.env, GIT_DIR: gitDir, GIT_INDEX_FILE: join(scratch, `index-${branch.replace(/\W/g, '-')}`), GIT_AUTHOR_NAME: 'Planter', GIT_AUTHOR_EMAIL: 'member@acme.test', GIT_COMMITTER_NAME: 'Planter', GIT_COMMITTER_EMAIL: 'member@acme.test' };
      const git = (args: string[], input?: string | Buffer) => execFileSync('git', args, { env, input }).toString().trim();
      git(['read-tree', main]);
      for (const [path, file] of Object.entries(files)) {
        const blob = git(['hash-object', '-w', '--stdin'], file.content);
        git(['update-index', '--add', '--cacheinfo', `${file.mode},${blob},${path}`]);
      }
      const tree = git(['write-tree']);
      const commit = git(['commit-tree', '-p', main, '-m', `Plant ${branch}`, tree]);
      git(['update-ref', `refs/heads/${branch}`, commit]);
    }

    test('a move of a document that needs review is refused, proposed instead, and reaches main by merge', async () => {
      const head = (await mainHead())!;
      await assert.rejects(editor.rename(project, actors.manager, { path: IR, newPath: 'policies/ir.md', base: head, message: '' }, none), ReviewRequiredError);
      const proposed = await editor.proposeRename(project, actors.manager, { path: IR, newPath: 'policies/ir.md', base: head, message: '' }, none);
      assert.equal(await mainHead(), head, 'nothing was published');
      assert.match(proposed.branch, /^draft\/manager\//);
      const number = await t.context.changeRequests.open(project, actors.manager, { branch: proposed.branch, title: 'Shorter path' }, none);
      const view = await t.context.changeRequests.get(project, actors.admin, number, none);
      assert.deepEqual(view.documents.map((d) => [d.path, d.before?.classification ?? null, d.after?.classification ?? null]).sort(), [
        ['policies/incident-response.md', 'confidential', null],
        ['policies/ir.md', null, 'confidential'],
      ]);
      assert.equal(view.verdict.mergeable, false, 'a confidential document needs an approval');
      await t.context.changeRequests.review(project, actors.admin, number, { verdict: 'approve' }, none);
      const merged = await t.context.changeRequests.merge(project, actors.manager, number, none);
      assert.equal(merged.merged, true);
      assert.equal(await textOnMain(IR), null);
      assert.match((await textOnMain('policies/ir.md')) ?? '', /CONFIDENTIAL-BODY-MARKER/);
      const events = await asDatabaseOwner(t.context.db, (db) => db.selectFrom('audit_events').select(['action', 'details']).where('org_id', '=', project.orgId).where('action', '=', 'document.proposed').execute());
      assert.ok(events.some((e) => JSON.stringify(e.details).includes('"change":"move"') && JSON.stringify(e.details).includes('"from":"policies/incident-response.md"')), 'the proposal is audited as a move');
    });

    test('a deletion over HTTP: the page offers only "Propose change"; a direct POST is refused (409) with the form to propose; proposing opens a change request', async () => {
      const path = 'policies/ir.md';
      const page = await get(`/acme/handbook/-/delete/${path}`, cookies.manager!);
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /data-review-required/);
      assert.match(page.body, /name="propose" value="yes"/);
      assert.doesNotMatch(page.body, />\s*Delete document\s*</, 'no direct delete button');
      const base = /name="base" value="([0-9a-f]{40})"/.exec(page.body)![1]!;
      const csrf = csrfFrom(page.body);
      const direct = await post(`/acme/handbook/-/delete/${path}`, cookies.manager!, { _csrf: csrf, base, message: '' });
      assert.equal(direct.statusCode, 409);
      assert.match(direct.body, /needs review before it is published/);
      assert.match(direct.body, /name="propose" value="yes"/);
      assert.ok(await textOnMain(path), 'nothing was deleted');
      const proposed = await post(`/acme/handbook/-/delete/${path}`, cookies.manager!, { _csrf: csrf, base, message: '', propose: 'yes' });
      assert.equal(proposed.statusCode, 303, proposed.body.slice(0, 300));
      const number = Number(/\/-\/changes\/(\d+)\?notice=opened$/.exec(proposed.headers.location as string)![1]);
      const view = await t.context.changeRequests.get(project, actors.admin, number, none);
      assert.equal(view.title, `Delete ${path}`);
      assert.deepEqual(view.documents.map((d) => [d.path, d.after]), [[path, null]]);
      assert.ok(await textOnMain(path), 'still published until merged');
      // a rename page for the same document offers only "Propose change" too
      const rename = await get(`/acme/handbook/-/rename/${path}`, cookies.manager!);
      assert.match(rename.body, /data-review-required/);
      const internal = await get('/acme/handbook/-/rename/policies/data-handling.md', cookies.member!);
      assert.doesNotMatch(internal.body, /data-review-required/, 'an internal document moves directly');
      assert.match(internal.body, /Move document/);
    });

    test('a restore of a document that needs review: the page offers "Propose change", proposing opens a change request, merging restores', async () => {
      const path = 'policies/ir.md';
      const old = (await textOnMain(path))!;
      // a newer version on main (fixture content: through the protocol as an import)
      await commitThroughProtocol(t, project, { [path]: old.replace('CONFIDENTIAL-BODY-MARKER', 'NEWER-TEXT') }, 'Newer');
      const versions = await history.documentHistory({ actor: actors.manager, project, grants: none }, path, 1);
      const older = versions.entries.find((e) => !e.hidden && e.status !== 'D' && e.commit !== versions.entries[0]!.commit)!;
      assert.ok(older, 'an older version to restore');
      const head = await mainHead();
      await assert.rejects(restorer.restore({ actor: actors.manager, project, grants: none }, older.commit, older.path, 'Back'), ReviewRequiredError);
      const url = `/acme/handbook/-/restore/${older.commit}/${older.path}`;
      const page = await get(url, cookies.manager!);
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /data-review-required/);
      const res = await post(url, cookies.manager!, { _csrf: csrfFrom(page.body), reason: 'The newer text was wrong', propose: 'yes' });
      assert.equal(res.statusCode, 303, res.body.slice(0, 300));
      assert.equal(await mainHead(), head, 'nothing was published');
      const number = Number(/\/-\/changes\/(\d+)\?notice=opened$/.exec(res.headers.location as string)![1]);
      await t.context.changeRequests.review(project, actors.admin, number, { verdict: 'approve' }, none);
      assert.equal((await t.context.changeRequests.merge(project, actors.manager, number, none)).merged, true);
      assert.match((await textOnMain(path)) ?? '', /CONFIDENTIAL-BODY-MARKER/);
      assert.doesNotMatch((await textOnMain(path)) ?? '', /NEWER-TEXT/);
    });

    test('attack: a draft holding a symbolic link or an oversized file cannot reach main through Merge', async () => {
      for (const [branch, files, pattern] of [
        ['draft/planted-link', { 'passwd.md': { mode: '120000', content: '/etc/passwd' } }, /passwd\.md: symbolic links are not allowed/],
        ['draft/planted-large', { 'big.bin': { mode: '100644', content: Buffer.alloc(6 * 1024 * 1024, 0x61) } }, /big\.bin: file is 6 MB, over the 5 MB limit/],
      ] as const) {
        const main = (await mainHead())!;
        plantDraft(branch, files, main);
        const number = await t.context.changeRequests.open(project, actors.member, { branch, title: branch }, none);
        const view = await t.context.changeRequests.get(project, actors.admin, number, none);
        assert.equal(view.verdict.mergeable, true, 'nothing in it needs review: only the gate stands in the way');
        await assert.rejects(t.context.changeRequests.merge(project, actors.admin, number, none), (error: unknown) => error instanceof ChangeRefusedError && pattern.test(error.message) && /^Nothing was merged/.test(error.message));
        assert.equal(await mainHead(), main, 'main did not move');
        assert.equal((await t.context.changeRequests.get(project, actors.admin, number, none)).state, 'open');
      }
    });

    test('attack: with the organization refusing broken links, a pushed-style draft adding one cannot be merged; with the setting off it can', async () => {
      const main = (await mainHead())!;
      const handling = (await textOnMain('policies/data-handling.md'))!;
      plantDraft('draft/broken-link', { 'policies/data-handling.md': { mode: '100644', content: `${handling}\nSee [the gone page](gone-away.md).\n` } }, main);
      const number = await t.context.changeRequests.open(project, actors.member, { branch: 'draft/broken-link', title: 'Link' }, none);
      await setLinkRefusal(true);
      try {
        await assert.rejects(
          t.context.changeRequests.merge(project, actors.admin, number, none),
          (error: unknown) => error instanceof ChangeRefusedError && /refuses changes that add broken links/.test(error.message) && /policies\/data-handling\.md:\d+: .*gone-away\.md/.test(error.message),
        );
        assert.equal(await mainHead(), main, 'main did not move');
        // the gate holds for proposals and restores too (the same link rule as a save)
        const opened = await editor.open(project, actors.member, 'policies/data-handling.md', none);
        await assert.rejects(
          editor.propose(project, actors.member, { path: 'policies/data-handling.md', base: opened.base, content: `${opened.source}\n[x](nowhere.md)\n`, message: '' }, none),
          BrokenLinksRefusedError,
        );
      } finally {
        await setLinkRefusal(false);
      }
      const merged = await t.context.changeRequests.merge(project, actors.admin, number, none);
      assert.equal(merged.merged, true, 'the same draft merges when the organization allows broken links');
    });

    test('the list follows main without a git read per request, and a move of main that hides a touched document hides the request', async () => {
      const main = (await mainHead())!;
      const launch = (await textOnMain('news/launch.md'))!;
      plantDraft('draft/launch-note', { 'news/launch.md': { mode: '100644', content: `${launch}\nA note.\n` } }, main);
      const number = await t.context.changeRequests.open(project, actors.member, { branch: 'draft/launch-note', title: 'Launch note' }, none);
      const listed = async () => (await t.context.changeRequests.list(project, actors.member, none)).rows.some((r) => r.number === number);
      const row = () => asDatabaseOwner(t.context.db, (db) => db.selectFrom('change_requests').select(['id', 'summary_main', 'summary_head']).where('project_id', '=', project.id).where('number', '=', number).executeTakeFirstOrThrow());
      assert.equal(await listed(), true);
      // main moves elsewhere: the summary takes the new main, its documents stay as they were
      const elsewhere = await commitThroughProtocol(t, project, { 'news/spring-update.md': `${(await textOnMain('news/spring-update.md'))!}\nMore.\n` }, 'Elsewhere');
      assert.equal(await listed(), true);
      assert.equal((await row()).summary_main, elsewhere);
      const id = (await row()).id;
      const documents = await asDatabaseOwner(t.context.db, (db) => db.selectFrom('change_request_documents').select(['path', 'classification']).where('change_request_id', '=', id).execute());
      assert.deepEqual(documents, [{ path: 'news/launch.md', classification: 'internal' }]);
      // main restricts the document the draft changes: the request is missing for the member, listed for an admin
      const restricted = await commitThroughProtocol(t, project, { 'news/launch.md': launch.replace(/^---\n/, '---\nclassification: restricted\n').replace(/\nclassification: internal\n/, '\n') }, 'Restrict');
      assert.equal(await listed(), false, 'hidden is missing');
      assert.equal((await row()).summary_main, restricted);
      assert.ok((await t.context.changeRequests.list(project, actors.admin, none)).rows.some((r) => r.number === number));
    });

    test('nothing of a change request is lost: its draft cannot be deleted by a push while the request is open or closed', async () => {
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const port = (t.app.server.address() as AddressInfo).port;
      const owner = await t.context.db.selectFrom('users').select('id').where('email', '=', 'owner@acme.test').executeTakeFirstOrThrow();
      const { token } = await createToken(t.context.db, { userId: owner.id, name: 'push', scopes: ['write'] });
      const home = join(scratch, 'home');
      const dir = join(scratch, 'clone');
      assert.equal((await gitClient(home, ['clone', '-q', `http://x:${token}@127.0.0.1:${port}/acme/handbook.git`, dir])).code, 0);
      const main = (await mainHead())!;
      const launch = (await textOnMain('index.md'))!;
      plantDraft('draft/keep-me', { 'index.md': { mode: '100644', content: `${launch}\nKept.\n` } }, main);
      plantDraft('draft/no-request', { 'index.md': { mode: '100644', content: `${launch}\nLoose.\n` } }, main);
      const number = await t.context.changeRequests.open(project, actors.member, { branch: 'draft/keep-me', title: 'Keep me' }, none);
      const refused = await gitClient(home, ['push', 'origin', ':refs/heads/draft/keep-me'], dir);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, new RegExp(`draft/keep-me: the draft of change request !${number} cannot be deleted`));
      await t.context.changeRequests.setOpen(project, actors.member, number, false, none);
      assert.notEqual((await gitClient(home, ['push', 'origin', ':refs/heads/draft/keep-me'], dir)).code, 0, 'closed: still kept');
      assert.ok(await (await repository()).headOf('draft/keep-me'));
      // an owner deletes a branch no change request needs
      const loose = await gitClient(home, ['push', 'origin', ':refs/heads/draft/no-request'], dir);
      assert.equal(loose.code, 0, loose.stderr);
      assert.equal(await (await repository()).headOf('draft/no-request'), null);
    });
  });
}
