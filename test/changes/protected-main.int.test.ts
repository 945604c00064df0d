/**
 * Protected main (src/changes/protected-main.ts) with real git and a real database: a change of the published
 * branch touching a document that needs review is refused on every path that moves main by itself — editor save,
 * create, move, delete, restore, push (with `remote:` lines saying how to propose instead) — while changes needing
 * no review keep publishing at once; the organization's review settings change the rules (audited, floors kept);
 * the change-request list's "waiting for my review" filter and its visibility rule in SQL (hidden is missing);
 * editorial merges (no re-acknowledgment) against material ones.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { UserActor } from '../../src/access/actor.ts';
import { grantKey } from '../../src/access/policy.ts';
import { createToken } from '../../src/auth/tokens.ts';
import { effectiveSettings } from '../../src/changes/approval-rules.ts';
import { DocumentEditor } from '../../src/changes/editor.ts';
import { ProjectHistory } from '../../src/changes/history.ts';
import { ReviewRequiredError } from '../../src/changes/protected-main.ts';
import { VersionRestorer } from '../../src/changes/restore.ts';
import { PUBLISHED_BRANCH } from '../../src/content/published-branch.ts';
import type { Role } from '../../src/db/schema.ts';
import { NotFoundError } from '../../src/errors.ts';
import { changeReviewSettings } from '../../src/organizations/commands/change-review-settings.ts';
import { parseReviewSettingsForm, readReviewSettings, ReviewSettingsValidationError } from '../../src/organizations/review-settings.ts';
import { findProject, type ProjectRecord } from '../../src/projects/projects.ts';
import { askingDocument, commitThroughProtocol } from '../evidence/helpers.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { gitClient } from '../helpers/git-client.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

for (const target of databaseTargets()) {
  describe(`protected main (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let project: ProjectRecord;
    let home: string;
    let base: string;
    let editor: DocumentEditor;
    let restorer: VersionRestorer;
    const actors = {} as Record<'owner' | 'admin' | 'manager' | 'member' | 'viewer' | 'admin2', UserActor>;
    const tokens = {} as Record<string, string>;
    const none = new Set<string>();
    let work = 0;
    /** main as imported, before any test moved it. */
    let imported: string;
    const audit = { requestId: 'test', ip: '127.0.0.1' };

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      const { upsertAccount } = await import('../../src/auth/accounts.ts');
      await upsertAccount(t.context.db, { email: 'admin2@acme.test', orgSlug: 'acme', role: 'admin', password: 'correct horse battery staple', name: 'Second Admin' });
      project = (await findProject(t.context.db, 'acme', 'handbook'))!;
      for (const [key, role] of [['owner', 'owner'], ['admin', 'admin'], ['manager', 'manager'], ['member', 'member'], ['viewer', 'viewer'], ['admin2', 'admin']] as const) {
        const email = `${key}@acme.test`;
        const user = await t.context.db.selectFrom('users').select(['id', 'name']).where('email', '=', email).executeTakeFirstOrThrow();
        actors[key] = { kind: 'user', userId: user.id, email, name: user.name ?? key, memberships: new Map<string, Role>([[project.orgId, role]]) };
        tokens[key] = (await createToken(t.context.db, { userId: user.id, name: 'pm', scopes: ['write'] })).token;
      }
      editor = new DocumentEditor(t.context.repositories, t.context.branchMoves);
      restorer = new VersionRestorer(t.context.repositories, t.context.branchMoves, new ProjectHistory(t.context.repositories, t.context.publisher));
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
      home = mkdtempSync(join(tmpdir(), 'dc-pm-'));
      imported = (await (await t.context.repositories.get(project)).headOf(PUBLISHED_BRANCH))!;
    });

    after(async () => {
      await t.context.branchMoves.stop();
      await t.close();
      await dispose();
      rmSync(home, { recursive: true, force: true });
    });

    const mainHead = async () => (await t.context.repositories.get(project)).headOf(PUBLISHED_BRANCH);
    const changeRequests = () => t.context.changeRequests;
    const setReview = (settings: Parameters<typeof effectiveSettings>[0]) =>
      changeReviewSettings({ db: t.context.db, sessions: t.context.sessions }, actors.owner, { orgId: project.orgId, settings: effectiveSettings(settings), audit });

    /** A clone as `who` with `edit` applied and committed on a new local branch; returns the work tree. */
    async function cloneAndCommit(who: string, edits: Record<string, (text: string) => string>, message: string): Promise<string> {
      const dir = join(home, `w${++work}`);
      const url = `${base.replace('http://', `http://x:${tokens[who]}@`)}/acme/handbook.git`;
      assert.equal((await gitClient(home, ['clone', '-q', url, dir])).code, 0);
      for (const [path, edit] of Object.entries(edits)) writeFileSync(join(dir, path), edit(readFileSync(join(dir, path), 'utf8')));
      assert.equal((await gitClient(home, ['commit', '-qam', message], dir)).code, 0);
      return dir;
    }

    test('the editor: save, create, move and delete of a document that needs review are refused and nothing moves', async () => {
      const head = await mainHead();
      const opened = await editor.open(project, actors.manager, 'policies/incident-response.md', none);
      assert.match(opened.review ?? '', /confidential and needs 1 approval by a manager or above/, 'the editor knows to offer "Propose change"');
      assert.equal((await editor.open(project, actors.member, 'policies/data-handling.md', none)).review, null, 'an internal document publishes directly');

      const save = editor.save(project, actors.manager, { path: 'policies/incident-response.md', base: opened.base, content: `${opened.source}\nDirect.\n`, message: '' }, none);
      await assert.rejects(save, (error: unknown) => error instanceof ReviewRequiredError && /policies\/incident-response\.md needs review/.test(error.message) && error.status === 409);
      await assert.rejects(
        editor.create(project, actors.manager, { path: 'policies/new-secret.md', content: '---\ntitle: New\nclassification: confidential\n---\nText.\n', message: '' }, none),
        ReviewRequiredError,
      );
      await assert.rejects(editor.rename(project, actors.manager, { path: 'policies/incident-response.md', newPath: 'policies/ir.md', base: opened.base, message: '' }, none), ReviewRequiredError);
      await assert.rejects(editor.remove(project, actors.manager, { path: 'policies/incident-response.md', base: opened.base, message: '' }, none), ReviewRequiredError);
      // the old version decides too: lowering confidential to internal (a manager may declassify) still needs review
      await assert.rejects(
        editor.save(project, actors.manager, { path: 'policies/incident-response.md', base: opened.base, content: opened.source.replace('classification: confidential', 'classification: internal'), message: '' }, none),
        ReviewRequiredError,
      );
      // and the new one: naming approvers in an internal document's front matter
      const data = await editor.open(project, actors.member, 'policies/data-handling.md', none);
      await assert.rejects(
        editor.save(project, actors.member, { path: 'policies/data-handling.md', base: data.base, content: data.source.replace(/^---\n/, '---\napprovers: [legal@acme.test]\n'), message: '' }, none),
        (error: unknown) => error instanceof ReviewRequiredError && /names approvers \(legal@acme\.test\)/.test(error.message),
      );
      assert.equal(await mainHead(), head, 'nothing was published');
      const moves = await asDatabaseOwner(t.context.db, (db) => db.selectFrom('branch_moves').select('kind').where('project_id', '=', project.id).where('ref', '=', 'refs/heads/main').execute());
      assert.deepEqual(moves.map((m) => m.kind), ['import'], 'and nothing was recorded as moved');

      // a change that needs no review publishes at once
      const saved = await editor.save(project, actors.member, { path: 'policies/data-handling.md', base: data.base, content: `${data.source}\nPublished directly.\n`, message: '' }, none);
      assert.equal(saved.kind, 'saved');
      assert.notEqual(await mainHead(), head);
      const created = await editor.create(project, actors.member, { path: 'news/direct.md', content: '---\ntitle: Direct\nclassification: internal\n---\nNews.\n', message: '' }, none);
      assert.equal(created.kind, 'saved');
    });

    test('a restore of a version that needs review is refused; one that needs none is made', async () => {
      const reader = { actor: actors.manager, project, grants: none };
      const head = (await mainHead())!;
      await assert.rejects(restorer.restore(reader, head, 'policies/incident-response.md', 'a reviewed version'), ReviewRequiredError);
      assert.equal(await mainHead(), head);
      await assert.rejects(restorer.restore({ actor: actors.admin, project, grants: none }, imported, 'policies/salary-bands.md', 'a reviewed version'), ReviewRequiredError);
      assert.equal(await mainHead(), head);
      // data-handling (internal) was changed by the previous test: its imported version comes back directly
      const restored = await restorer.restore({ actor: actors.member, project, grants: none }, imported, 'policies/data-handling.md', 'a reviewed version');
      assert.equal(restored.changed, true);
      assert.equal(await mainHead(), restored.commit);
    });

    test('a push to main touching a document that needs review is refused with remote: lines saying how to propose it', async () => {
      const head = await mainHead();
      const dir = await cloneAndCommit('admin', { 'policies/incident-response.md': (s) => `${s}\nPushed directly.\n` }, 'Direct push');
      const push = await gitClient(home, ['push', 'origin', 'HEAD:refs/heads/main'], dir);
      assert.notEqual(push.code, 0);
      assert.match(push.stderr, /remote: DocuCommit refused this push:/);
      assert.match(push.stderr, /remote: +policies\/incident-response\.md: needs review before it is published: it is confidential/);
      assert.match(push.stderr, /remote: +main is protected/);
      assert.match(push.stderr, /remote: +git push origin HEAD:refs\/heads\/draft\/my-change -o change\.open/);
      assert.equal(await mainHead(), head, 'main did not move');

      // as the lines say: the same commit pushed to a draft branch with -o change.open opens a change request
      const proposed = await gitClient(home, ['push', 'origin', 'HEAD:refs/heads/draft/faster', '-o', 'change.open'], dir);
      assert.equal(proposed.code, 0, proposed.stderr);
      await t.context.branchMoves.idle();
      const listed = (await changeRequests().list(project, actors.admin, none, { branch: 'draft/faster' })).rows;
      assert.equal(listed.length, 1);
      assert.equal(listed[0]!.title, 'Direct push');
      assert.equal(listed[0]!.needsReview, true);

      // a push that needs no review keeps publishing the moment it lands
      const news = await cloneAndCommit('admin', { 'news/launch.md': (s) => `${s}\nPushed news.\n` }, 'News');
      const pushed = await gitClient(home, ['push', 'origin', 'HEAD:refs/heads/main'], news);
      assert.equal(pushed.code, 0, pushed.stderr);
      assert.notEqual(await mainHead(), head);
      assert.equal(t.context.publisher.snapshotOf(project.id)?.commit, await mainHead(), 'published');
    });

    test('organization review settings: review turned on for internal documents applies to saves, pushes and change requests; audited; floors kept', async () => {
      // only admins and owners change them; the form refuses lowering the floors
      await assert.rejects(
        changeReviewSettings({ db: t.context.db, sessions: t.context.sessions }, actors.manager, { orgId: project.orgId, settings: effectiveSettings(), audit }),
        NotFoundError,
      );
      assert.throws(() => parseReviewSettingsForm({ approvals_restricted: '1', role_restricted: 'admin', approvals_confidential: '1', role_confidential: 'manager' }), ReviewSettingsValidationError);
      assert.throws(() => parseReviewSettingsForm({ approvals_restricted: '2', role_restricted: 'manager', approvals_confidential: '1', role_confidential: 'manager' }), ReviewSettingsValidationError);
      assert.throws(() => parseReviewSettingsForm({ approvals_restricted: '2', role_restricted: 'admin', approvals_confidential: '1', role_confidential: 'member' }), ReviewSettingsValidationError);
      const parsed = parseReviewSettingsForm({ review_internal: 'on', approvals_internal: '1', role_internal: 'manager', approvals_confidential: '1', role_confidential: 'manager', approvals_restricted: '2', role_restricted: 'admin' });
      assert.deepEqual(parsed.internal, { approvals: 1, minimumRole: 'manager' });
      assert.deepEqual(parsed.public, { approvals: 0, minimumRole: 'manager' });
      // even a command asked for less keeps the two-person rule
      assert.deepEqual(await setReview({ ...parsed, restricted: { approvals: 1, minimumRole: 'member' } }), ['internal']);
      const settings = await readReviewSettings(t.context.db, project.orgId);
      assert.deepEqual(settings.restricted, { approvals: 2, minimumRole: 'admin' });
      assert.deepEqual(settings.internal, { approvals: 1, minimumRole: 'manager' });
      const event = await asDatabaseOwner(t.context.db, (db) =>
        db.selectFrom('audit_events').select(['action', 'details']).where('org_id', '=', project.orgId).where('action', '=', 'settings.review_changed').orderBy('seq', 'desc').executeTakeFirstOrThrow(),
      );
      assert.deepEqual(event.details, { changed: 'internal', internal_from: 'off', internal_to: '1 manager' });

      const doc = await editor.open(project, actors.member, 'index.md', none);
      assert.match(doc.review ?? '', /internal and needs 1 approval by a manager/);
      await assert.rejects(editor.save(project, actors.member, { path: doc.path, base: doc.base, content: `${doc.source}\nNow reviewed.\n`, message: '' }, none), ReviewRequiredError);
      const dir = await cloneAndCommit('admin', { 'news/launch.md': (s) => `${s}\nReviewed news.\n` }, 'News again');
      const push = await gitClient(home, ['push', 'origin', 'HEAD:refs/heads/main'], dir);
      assert.notEqual(push.code, 0, 'internal news now needs review too');
      assert.match(push.stderr, /news\/launch\.md: needs review/);
      // a change request of an internal document now needs a manager's approval
      assert.equal((await gitClient(home, ['push', 'origin', 'HEAD:refs/heads/news-review'], dir)).code, 0);
      await t.context.branchMoves.idle();
      const number = await changeRequests().open(project, actors.member, { branch: 'news-review', title: 'News' }, none);
      assert.deepEqual((await changeRequests().get(project, actors.member, number, none)).verdict.outstanding, ['1 more approval by a manager or above']);

      // turned off again: direct publishing is back
      assert.deepEqual(await setReview({}), ['internal']);
      const again = await editor.open(project, actors.member, doc.path, none);
      assert.equal(again.review, null);
      assert.equal((await editor.save(project, actors.member, { path: doc.path, base: again.base, content: `${again.source}\nDirect again.\n`, message: '' }, none)).kind, 'saved');
    });

    test('"waiting for my review": open requests whose head the reader may approve and has not reviewed; hidden requests never listed', async () => {
      const repository = await t.context.repositories.get(project);
      const draft = async (who: keyof typeof actors, branch: string, path: string, line: string) => {
        const current = await repository.headOf(branch);
        const from = current ?? (await mainHead())!;
        const entry = await repository.entryAt(from, path);
        const text = (await repository.readBlob(entry!.oid)).toString('utf8');
        await t.context.branchMoves.commit(
          project,
          repository,
          { branch, expectedOld: current, ...(current ? {} : { startFrom: from }), mode: 'patch', changes: [{ path, content: `${text}\n${line}\n` }], author: { name: who, email: actors[who].email }, message: `Draft ${branch}` },
          { kind: 'save', actor: { type: 'user', id: actors[who].userId, label: actors[who].email }, events: () => [] },
        );
        await t.context.branchMoves.idle();
      };
      await draft('manager', 'wait-confidential', 'policies/incident-response.md', 'Waiting.');
      const confidential = await changeRequests().open(project, actors.manager, { branch: 'wait-confidential', title: 'Confidential wait' }, none);
      await draft('admin', 'wait-restricted', 'policies/salary-bands.md', 'Bands.');
      const restricted = await changeRequests().open(project, actors.admin, { branch: 'wait-restricted', title: 'Secret salary title' }, none);
      await draft('member', 'wait-internal', 'policies/data-handling.md', 'No review needed.');
      const internal = await changeRequests().open(project, actors.member, { branch: 'wait-internal', title: 'Internal' }, none);

      const waiting = async (who: keyof typeof actors, grants: ReadonlySet<string> = none) =>
        (await changeRequests().list(project, actors[who], grants, { filter: 'review' })).rows.map((r) => r.number);
      const listed = async (who: keyof typeof actors, grants: ReadonlySet<string> = none) => (await changeRequests().list(project, actors[who], grants)).rows;

      assert.ok((await waiting('admin')).includes(confidential));
      assert.ok((await waiting('admin')).includes(restricted) === false, 'the author does not wait for themselves');
      assert.ok((await waiting('admin2')).includes(restricted));
      assert.ok((await waiting('admin2')).includes(confidential));
      assert.ok(!(await waiting('manager')).includes(confidential), 'not my own');
      assert.ok(!(await waiting('admin')).includes(internal), 'nothing to approve');
      assert.deepEqual(await waiting('viewer'), [], 'viewers never review');
      assert.deepEqual(await waiting('member'), []);

      // hidden is missing: no title, no row, no count for requests touching what the reader may not read
      for (const who of ['manager', 'member', 'viewer'] as const) {
        const rows = await listed(who);
        assert.ok(!rows.some((r) => r.number === restricted || r.title === 'Secret salary title'), who);
      }
      assert.ok(!(await listed('member')).some((r) => r.number === confidential));
      assert.ok((await listed('member')).some((r) => r.number === internal));
      const page = await t.app.inject({ method: 'GET', url: '/acme/handbook/-/changes', headers: { cookie: await t.login('manager@acme.test') } });
      assert.equal(page.statusCode, 200);
      assert.ok(!page.body.includes('Secret salary title'));
      assert.ok(page.body.includes('Confidential wait'));
      const filtered = await t.app.inject({ method: 'GET', url: '/acme/handbook/-/changes?filter=review', headers: { cookie: await t.login('admin2@acme.test') } });
      assert.equal(filtered.statusCode, 200);
      assert.ok(filtered.body.includes('Secret salary title') && filtered.body.includes('Confidential wait'));
      // a live access grant opens the restricted document, and with it the request (the same rule as its page)
      const grant = new Set([grantKey(project.id, 'policies/salary-bands.md', 'restricted')]);
      assert.ok((await listed('manager', grant)).some((r) => r.number === restricted));
      await changeRequests().get(project, actors.manager, restricted, grant);
      await assert.rejects(changeRequests().get(project, actors.manager, restricted, none), NotFoundError);

      // approving the head takes it off the list; a new commit (a new head) puts it back
      await changeRequests().review(project, actors.admin, confidential, { verdict: 'approve' }, none);
      assert.ok(!(await waiting('admin')).includes(confidential));
      assert.ok((await waiting('owner')).includes(confidential), 'the others still see it');
      await draft('manager', 'wait-confidential', 'policies/incident-response.md', 'Another line.');
      assert.ok((await waiting('admin')).includes(confidential), 'the approval was of the old head');

      // a request's documents change with its head: one that now touches a restricted document disappears for managers
      const before = (await listed('manager')).find((r) => r.number === confidential);
      assert.equal(before?.documentCount, 1);
      const from = (await repository.headOf('wait-confidential'))!;
      const entry = await repository.entryAt(from, 'hr/reviews.md');
      await t.context.branchMoves.commit(
        project,
        repository,
        { branch: 'wait-confidential', expectedOld: from, mode: 'patch', changes: [{ path: 'hr/reviews.md', content: `${(await repository.readBlob(entry!.oid)).toString('utf8')}\nMore.\n` }], author: { name: 'a', email: actors.admin.email }, message: 'Touch restricted' },
        { kind: 'save', actor: { type: 'user', id: actors.admin.userId, label: actors.admin.email }, events: () => [] },
      );
      await t.context.branchMoves.idle();
      assert.ok(!(await listed('manager')).some((r) => r.number === confidential), 'now hidden from managers');
      assert.equal((await listed('admin')).find((r) => r.number === confidential)?.documentCount, 2);

      const second = await changeRequests().list(project, actors.admin, none, { page: 2 });
      assert.deepEqual(second, { rows: [], hasMore: false });
    });

    test('an editorial merge does not ask for acknowledgment again; a material merge does', async () => {
      const path = 'policies/travel.md';
      await commitThroughProtocol(t, project, { [path]: askingDocument('Travel', 'everyone', 'Book early.') }, 'Add travel policy');
      const repository = await t.context.repositories.get(project);
      const requiresAck = async () =>
        (await asDatabaseOwner(t.context.db, (db) =>
          db.selectFrom('ack_versions').select(['requires_ack', 'commit_id']).where('project_id', '=', project.id).where('path', '=', path).orderBy('id', 'desc').executeTakeFirstOrThrow(),
        ));
      const mergeWith = async (branch: string, line: string, editorial: boolean) => {
        const from = (await mainHead())!;
        const entry = await repository.entryAt(from, path);
        await t.context.branchMoves.commit(
          project,
          repository,
          { branch, expectedOld: null, startFrom: from, mode: 'patch', changes: [{ path, content: `${(await repository.readBlob(entry!.oid)).toString('utf8')}${line}\n` }], author: { name: 'm', email: actors.member.email }, message: line },
          { kind: 'save', actor: { type: 'user', id: actors.member.userId, label: actors.member.email }, events: () => [] },
        );
        await t.context.branchMoves.idle();
        const number = await changeRequests().open(project, actors.member, { branch, title: line }, none);
        const merged = await changeRequests().merge(project, actors.member, number, none, { editorial });
        assert.ok(merged.merged);
        await t.context.branchMoves.idle();
        return merged.commit;
      };
      const editorialCommit = await mergeWith('travel-typo', 'Fix a typo.', true);
      const message = (await repository.readCommit(editorialCommit)).message;
      assert.match(message, /^Change-Request: \d+\nAcknowledgment: not-required$/m, 'the trailer joins the trailer block');
      assert.deepEqual(await requiresAck(), { requires_ack: false, commit_id: editorialCommit });
      const materialCommit = await mergeWith('travel-rule', 'Economy class only.', false);
      assert.doesNotMatch((await repository.readCommit(materialCommit)).message, /Acknowledgment: not-required/);
      assert.deepEqual(await requiresAck(), { requires_ack: true, commit_id: materialCommit });
    });
  });
}
