/**
 * Change requests (src/changes/change-requests.ts) with real git and a real database: drafts pushed as branches
 * over smart HTTP, reviewed under the approval rules, merged with a merge commit carrying the approval trailers
 * through the branch-move protocol; approvals dismissed by a new commit; the two-person rule; the author cannot
 * approve; a standing request for changes blocks until dismissed; conflicts move nothing; a reader who may not
 * read a touched document cannot see the request.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { UserActor } from '../../src/access/actor.ts';
import { DocumentEditor } from '../../src/changes/editor.ts';
import { noteRefChange } from '../../src/changes/ref-audit.ts';
import { recoverProject } from '../../src/changes/recovery.ts';
import { BranchMovedError } from '../../src/git/errors.ts';
import { createToken } from '../../src/auth/tokens.ts';
import type { Role } from '../../src/db/schema.ts';
import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError } from '../../src/errors.ts';
import { findProject, type ProjectRecord } from '../../src/projects/projects.ts';
import { PUBLISHED_BRANCH } from '../../src/content/published-branch.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { gitClient } from '../helpers/git-client.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

for (const target of databaseTargets()) {
  describe(`change requests (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let project: ProjectRecord;
    let home: string;
    let base: string;
    const actors = {} as Record<'owner' | 'admin' | 'manager' | 'member' | 'viewer' | 'admin2' | 'manager2', UserActor>;
    const tokens = {} as Record<string, string>;
    const none = new Set<string>();
    let work = 0;

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      const { upsertAccount } = await import('../../src/auth/accounts.ts');
      await upsertAccount(t.context.db, { email: 'admin2@acme.test', orgSlug: 'acme', role: 'admin', password: 'correct horse battery staple', name: 'Second Admin' });
      await upsertAccount(t.context.db, { email: 'manager2@acme.test', orgSlug: 'acme', role: 'manager', password: 'correct horse battery staple', name: 'Second Manager' });
      project = (await findProject(t.context.db, 'acme', 'handbook'))!;
      for (const [key, role] of [['owner', 'owner'], ['admin', 'admin'], ['manager', 'manager'], ['member', 'member'], ['viewer', 'viewer'], ['admin2', 'admin'], ['manager2', 'manager']] as const) {
        const email = `${key}@acme.test`;
        const user = await t.context.db.selectFrom('users').select(['id', 'name']).where('email', '=', email).executeTakeFirstOrThrow();
        actors[key] = { kind: 'user', userId: user.id, email, name: user.name ?? key, memberships: new Map<string, Role>([[project.orgId, role]]) };
        tokens[key] = (await createToken(t.context.db, { userId: user.id, name: 'cr', scopes: ['write'] })).token;
      }
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
      home = mkdtempSync(join(tmpdir(), 'dc-cr-'));
    });

    after(async () => {
      await t.context.branchMoves.stop();
      await t.close();
      await dispose();
      rmSync(home, { recursive: true, force: true });
    });

    /** Clones as `who`, applies `edit` on a new branch `branch` (from main), commits and pushes it. */
    async function pushDraft(who: string, branch: string, edits: Record<string, (text: string) => string>, options: { from?: string } = {}): Promise<string> {
      const dir = join(home, `w${++work}`);
      const url = `${base.replace('http://', `http://x:${tokens[who]}@`)}/acme/handbook.git`;
      assert.equal((await gitClient(home, ['clone', '-q', url, dir])).code, 0);
      const checkout = await gitClient(home, ['checkout', '-q', '-b', branch, ...(options.from ? [`origin/${options.from}`] : [])], dir);
      assert.equal(checkout.code, 0, checkout.stderr);
      for (const [path, edit] of Object.entries(edits)) {
        const file = join(dir, path);
        let text = '';
        try {
          text = readFileSync(file, 'utf8');
        } catch {
          // a new file
        }
        writeFileSync(file, edit(text));
      }
      assert.equal((await gitClient(home, ['add', '-A'], dir)).code, 0);
      assert.equal((await gitClient(home, ['commit', '-qm', `Draft ${branch}`], dir)).code, 0);
      const push = await gitClient(home, ['push', '-q', 'origin', `HEAD:refs/heads/${branch}`], dir);
      assert.equal(push.code, 0, push.stderr);
      await t.context.branchMoves.idle();
      return dir;
    }

    /** A draft commit by `who` on `branch` (started from main when new), as the editor's "Propose change" makes it. */
    async function draft(who: keyof typeof actors, branch: string, edits: Record<string, (text: string) => string>): Promise<string> {
      const repository = await t.context.repositories.get(project);
      const current = await repository.headOf(branch);
      const from = current ?? (await repository.headOf(PUBLISHED_BRANCH))!;
      const changes = [];
      for (const [path, edit] of Object.entries(edits)) {
        const entry = await repository.entryAt(from, path);
        const text = entry ? (await repository.readBlob(entry.oid)).toString('utf8') : '';
        changes.push({ path, content: edit(text) });
      }
      const actor = actors[who];
      const result = await t.context.branchMoves.commit(
        project,
        repository,
        { branch, expectedOld: current, ...(current ? {} : { startFrom: from }), mode: 'patch', changes, author: { name: actor.name, email: actor.email }, message: `Draft ${branch}` },
        { kind: 'save', actor: { type: 'user', id: actor.userId, label: actor.email }, events: () => [] },
      );
      await t.context.branchMoves.idle();
      return result.commit!;
    }

    const changeRequests = () => t.context.changeRequests;
    const mainHead = async () => (await t.context.repositories.get(project)).headOf(PUBLISHED_BRANCH);

    test('a confidential change: one approval by another manager, then a merge commit with the trailers, published', async () => {
      await draft('manager', 'incident-update', { 'policies/incident-response.md': (s) => `${s}\nEscalate within 30 minutes.\n` });
      const number = await changeRequests().open(project, actors.manager, { branch: 'incident-update', title: 'Faster escalation', description: 'Per the retro.' }, none);
      let view = await changeRequests().get(project, actors.manager, number, none);
      assert.deepEqual(view.documents.map((d) => d.path), ['policies/incident-response.md']);
      assert.equal(view.verdict.mergeable, false);
      assert.deepEqual(view.verdict.outstanding, ['1 more approval by a manager or above']);
      await assert.rejects(changeRequests().merge(project, actors.manager, number, none), ConflictError);
      // the author cannot approve their own change
      await assert.rejects(changeRequests().review(project, actors.manager, number, { verdict: 'approve' }, none), ForbiddenError);

      await changeRequests().review(project, actors.manager2, number, { verdict: 'approve', body: 'Looks right.' }, none);
      view = await changeRequests().get(project, actors.manager, number, none);
      assert.equal(view.verdict.mergeable, true);
      const before = await mainHead();
      const merged = await changeRequests().merge(project, actors.manager, number, none);
      assert.ok(merged.merged);
      await t.context.branchMoves.idle();
      const repository = await t.context.repositories.get(project);
      assert.equal(await mainHead(), merged.commit);
      const commit = await repository.readCommit(merged.commit);
      assert.deepEqual(commit.parents, [before, view.headCommit]);
      assert.match(commit.message, new RegExp(`^Change-Request: ${number}$`, 'm'));
      assert.match(commit.message, /^Approved-by: .+ <manager2@acme\.test>$/m);
      assert.equal(t.context.publisher.snapshotOf(project.id)?.commit, merged.commit, 'published');
      view = await changeRequests().get(project, actors.manager, number, none);
      assert.equal(view.state, 'merged');
      assert.equal(view.mergeCommit, merged.commit);
      const events = await asDatabaseOwner(t.context.db, (owner) =>
        owner.selectFrom('audit_events').select(['action']).where('target_id', '=', `${project.id}#${number}`).orderBy('seq').execute(),
      );
      assert.deepEqual(events.map((e) => e.action), ['change_request.opened', 'change_request.approved', 'change_request.merged']);
    });

    test('a new commit on the draft dismisses the approvals; a request for changes blocks until an admin dismisses it', async () => {
      await draft('manager', 'incident-more', { 'policies/incident-response.md': (s) => `${s}\nPage the on-call lead.\n` });
      const number = await changeRequests().open(project, actors.manager, { branch: 'incident-more', title: 'On-call lead' }, none);
      await changeRequests().review(project, actors.admin, number, { verdict: 'approve' }, none);
      assert.equal((await changeRequests().get(project, actors.manager, number, none)).verdict.mergeable, true);

      await draft('manager', 'incident-more', { 'policies/incident-response.md': (s) => `${s}\nAnd the CISO.\n` });
      let view = await changeRequests().get(project, actors.manager, number, none);
      assert.equal(view.verdict.mergeable, false, 'the approval of the old head no longer counts');
      assert.equal(view.reviews.length, 1, 'but it is still shown');
      assert.notEqual(view.reviews[0]!.commit, view.headCommit);

      await changeRequests().review(project, actors.admin, number, { verdict: 'approve' }, none);
      await changeRequests().review(project, actors.manager2, number, { verdict: 'request-changes', body: 'Name the CISO role, not the person.' }, none);
      view = await changeRequests().get(project, actors.manager, number, none);
      assert.equal(view.verdict.mergeable, false);
      assert.deepEqual(view.verdict.blockedBy, ['manager2@acme.test']);
      const blocking = view.reviews.find((r) => r.verdict === 'request-changes')!;
      await assert.rejects(changeRequests().dismiss(project, actors.manager, number, blocking.id, 'disagree', none), ForbiddenError);
      // a dismissal needs a reason
      await assert.rejects(changeRequests().dismiss(project, actors.admin, number, blocking.id, '   ', none), InvalidInputError);
      await changeRequests().dismiss(project, actors.admin, number, blocking.id, 'The CISO role is meant.', none);
      assert.equal((await changeRequests().get(project, actors.manager, number, none)).verdict.mergeable, true);

      // the rest of a request's life: a comment, closed, reopened, merged
      await changeRequests().review(project, actors.manager2, number, { verdict: 'comment', body: 'Thanks.' }, none);
      await changeRequests().setOpen(project, actors.manager, number, false, none);
      await changeRequests().setOpen(project, actors.admin, number, true, none);
      const merged = await changeRequests().merge(project, actors.manager, number, none);
      assert.ok(merged.merged);
      await t.context.branchMoves.idle();

      // every step is audited, by whom, with the head commit where it has one
      const events = await asDatabaseOwner(t.context.db, (owner) =>
        owner.selectFrom('audit_events').select(['action', 'actor_label', 'details']).where('target_id', '=', `${project.id}#${number}`).orderBy('seq').execute(),
      );
      assert.deepEqual(
        events.map((e) => `${e.action} ${e.actor_label}`),
        [
          'change_request.opened manager@acme.test',
          'change_request.approved admin@acme.test',
          'change_request.updated manager@acme.test',
          'change_request.approved admin@acme.test',
          'change_request.changes_requested manager2@acme.test',
          'change_request.dismissed admin@acme.test',
          'change_request.commented manager2@acme.test',
          'change_request.closed manager@acme.test',
          'change_request.reopened admin@acme.test',
          'change_request.merged manager@acme.test',
        ],
      );
      const detail = (action: string) => events.find((e) => e.action === action)!.details as Record<string, unknown>;
      assert.equal(detail('change_request.updated').head, view.headCommit);
      assert.equal(detail('change_request.updated').old, view.reviews[0]!.commit);
      assert.equal(detail('change_request.changes_requested').commit, view.headCommit);
      assert.equal(detail('change_request.dismissed').review, blocking.id);
      assert.equal(detail('change_request.dismissed').reviewer, 'manager2@acme.test');
      assert.equal(detail('change_request.merged').commit, merged.commit);

      // and on the page's timeline, interleaved with the reviews in the order they happened
      const timeline = await changeRequests().timeline(project, await changeRequests().get(project, actors.manager, number, none));
      assert.deepEqual(
        timeline.steps.map((step) => [step.kind, step.who, step.from, step.to]),
        [
          ['updated', actors.manager.name, view.reviews[0]!.commit, view.headCommit],
          ['closed', actors.manager.name, null, null],
          ['reopened', actors.admin.name, null, null],
          ['merged', actors.manager.name, null, merged.commit],
        ],
      );
      const page = await t.app.inject({ method: 'GET', url: `/acme/handbook/-/changes/${number}`, headers: { cookie: await t.login('admin@acme.test') } });
      assert.equal(page.statusCode, 200);
      const said = [...page.body.matchAll(/<li class="cr-event[^"]*">([\s\S]*?)<\/li>/g)].map((m) => m[1]!.replace(/<[^>]+>/g, '').replace(/\s+/g, ' '));
      const order = ['opened this change request', 'approved', 'moved the draft to', 'approved', 'requested changes', 'commented', 'closed this change request', 'reopened this change request', 'merged this change request as'];
      assert.deepEqual(
        said.map((line) => order.find((what) => new RegExp(`(^| )${what}`).test(line)) ?? line),
        order,
      );
      assert.ok(said.some((line) => line.includes(`moved the draft to ${view.headCommit.slice(0, 10)}`)));
      assert.ok(said.some((line) => line.includes(`dismissed by ${actors.admin.name}: The CISO role is meant.`)));
    });

    test('the two-person rule: a restricted change needs two different admins or owners, never the author', async () => {
      await pushDraft('admin', 'salary-2027', { 'policies/salary-bands.md': (s) => `${s}\nBands for 2027.\n` });
      const number = await changeRequests().open(project, actors.admin, { branch: 'salary-2027', title: 'Bands 2027' }, none);
      await assert.rejects(changeRequests().review(project, actors.admin, number, { verdict: 'approve' }, none), ForbiddenError);
      await changeRequests().review(project, actors.admin2, number, { verdict: 'approve' }, none);
      await changeRequests().review(project, actors.admin2, number, { verdict: 'approve' }, none);
      let view = await changeRequests().get(project, actors.admin, number, none);
      assert.equal(view.verdict.mergeable, false, 'one person counts once');
      assert.deepEqual(view.verdict.outstanding, ['1 more approval by an admin or above']);
      await assert.rejects(changeRequests().merge(project, actors.admin, number, none), ConflictError);
      await changeRequests().review(project, actors.owner, number, { verdict: 'approve' }, none);
      view = await changeRequests().get(project, actors.admin, number, none);
      assert.equal(view.verdict.mergeable, true);
      const merged = await changeRequests().merge(project, actors.admin, number, none);
      assert.ok(merged.merged);
      const message = (await (await t.context.repositories.get(project)).readCommit(merged.commit)).message;
      assert.equal(message.match(/^Approved-by: /gm)?.length, 2);
    });

    test('a reader who may not read a touched document does not see the request at all', async () => {
      await pushDraft('admin', 'restricted-note', { 'hr/reviews.md': (s) => `${s}\nCalibration in March.\n` });
      const number = await changeRequests().open(project, actors.admin, { branch: 'restricted-note', title: 'Calibration' }, none);
      for (const who of ['manager', 'member', 'viewer'] as const) {
        await assert.rejects(changeRequests().get(project, actors[who], number, none), NotFoundError, who);
        const listed = (await changeRequests().list(project, actors[who], none)).rows;
        assert.ok(!listed.some((r) => r.number === number), `${who} does not see it listed`);
        await assert.rejects(changeRequests().review(project, actors[who], number, { verdict: 'comment', body: 'hi' }, none), NotFoundError);
      }
      // another organization's member: nothing at all
      const outsider: UserActor = { ...actors.owner, userId: actors.viewer.userId, memberships: new Map([['00000000-0000-4000-8000-000000000099', 'owner']]) };
      await assert.rejects(changeRequests().get(project, outsider, number, none), NotFoundError);
      assert.ok((await changeRequests().list(project, actors.admin, none)).rows.some((r) => r.number === number));
    });

    test('a conflicting merge moves nothing and names the paths; closing keeps the branch', async () => {
      await draft('member', 'welcome-a', { 'index.md': (s) => s.replace(/\n$/, '\nVersion A of the last line.\n') });
      await draft('member', 'welcome-b', { 'index.md': (s) => s.replace(/\n$/, '\nVersion B of the last line.\n') });
      const a = await changeRequests().open(project, actors.member, { branch: 'welcome-a', title: 'A' }, none);
      const b = await changeRequests().open(project, actors.member, { branch: 'welcome-b', title: 'B' }, none);
      // internal documents need no review by default
      assert.equal((await changeRequests().get(project, actors.member, a, none)).verdict.mergeable, true);
      assert.ok((await changeRequests().merge(project, actors.member, a, none)).merged);
      const head = await mainHead();
      const conflicted = await changeRequests().merge(project, actors.member, b, none);
      assert.deepEqual(conflicted, { merged: false, conflicts: ['index.md'] });
      assert.equal(await mainHead(), head, 'nothing moved');
      await assert.rejects(changeRequests().setOpen(project, actors.viewer, b, false, none), ForbiddenError);
      await changeRequests().setOpen(project, actors.member, b, false, none);
      assert.equal((await changeRequests().get(project, actors.member, b, none)).state, 'closed');
      assert.ok(await (await t.context.repositories.get(project)).headOf('welcome-b'), 'the branch stays');
      await changeRequests().setOpen(project, actors.member, b, true, none);
      assert.equal((await changeRequests().get(project, actors.member, b, none)).state, 'open');
    });

    test('"Propose change" commits to a new draft from the version opened, publishes nothing, and refuses like a save', async () => {
      const editor = new DocumentEditor(t.context.repositories, t.context.branchMoves);
      const head = (await mainHead())!;
      const opened = await editor.open(project, actors.member, 'policies/data-handling.md', none);
      const { branch, commit } = await editor.propose(project, actors.member, { path: 'policies/data-handling.md', base: opened.base, content: `${opened.source}\nProposed.\n`, message: '' }, none);
      assert.match(branch, /^draft\/member\/[0-9a-z]+$/);
      assert.equal(await mainHead(), head, 'nothing published');
      const repository = await t.context.repositories.get(project);
      assert.deepEqual((await repository.readCommit(commit)).parents, [opened.base]);
      // a viewer may not propose; a document the member may not read does not exist for them
      await assert.rejects(editor.propose(project, actors.viewer, { path: 'policies/data-handling.md', base: head, content: 'x', message: '' }, none), ForbiddenError);
      await assert.rejects(editor.propose(project, actors.member, { path: 'hr/reviews.md', base: head, content: '---\ntitle: x\n---\n', message: '' }, none), NotFoundError);
      // lowering a classification is refused as for a save
      await assert.rejects(editor.propose(project, actors.member, { path: 'policies/data-handling.md', base: head, content: '---\ntitle: Data\nclassification: public\n---\nOpen.\n', message: '' }, none), ForbiddenError);
    });

    test('git push -o change.open opens a change request for the pushed draft and prints where it is', async () => {
      const dir = join(home, `w${++work}`);
      const url = `${base.replace('http://', `http://x:${tokens.admin}@`)}/acme/handbook.git`;
      assert.equal((await gitClient(home, ['clone', '-q', url, dir])).code, 0);
      assert.equal((await gitClient(home, ['checkout', '-q', '-b', 'pushed-draft'], dir)).code, 0);
      writeFileSync(join(dir, 'policies/data-handling.md'), `${readFileSync(join(dir, 'policies/data-handling.md'), 'utf8')}\nFrom a push option.\n`);
      assert.equal((await gitClient(home, ['commit', '-qam', 'Clarify data handling'], dir)).code, 0);
      const push = await gitClient(home, ['push', '-o', 'change.open', 'origin', 'HEAD:refs/heads/pushed-draft'], dir);
      assert.equal(push.code, 0, push.stderr);
      const printed = /remote: Change request !(\d+) for pushed-draft:\s*\nremote: +(http:\/\/\S+)/.exec(push.stderr);
      assert.ok(printed, push.stderr);
      await t.context.branchMoves.idle();
      const opened = (await changeRequests().list(project, actors.admin, none, { state: 'open' })).rows.find((cr) => cr.branch === 'pushed-draft');
      assert.ok(opened);
      assert.equal(opened.title, 'Clarify data handling');
      // the line is the request's own address, printed before the branch existed
      assert.equal(Number(printed[1]), opened.number);
      assert.equal(new URL(printed[2]!).pathname, `/acme/handbook/-/changes/${opened.number}`);
      const page = await t.app.inject({ method: 'GET', url: new URL(printed[2]!).pathname, headers: { cookie: await t.login('admin@acme.test') } });
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /Clarify data handling/);
      // pushed again with the option: the same request follows its draft (no second request, no number used up)
      writeFileSync(join(dir, 'policies/data-handling.md'), `${readFileSync(join(dir, 'policies/data-handling.md'), 'utf8')}\nAnd again.\n`);
      assert.equal((await gitClient(home, ['commit', '-qam', 'Again'], dir)).code, 0);
      const again = await gitClient(home, ['push', '-o', 'change.open', 'origin', 'HEAD:refs/heads/pushed-draft'], dir);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stderr, new RegExp(`remote: Change request !${opened.number} for pushed-draft \\(updated\\):\\s*\\nremote: +http://\\S+/acme/handbook/-/changes/${opened.number}\\s`));
      await t.context.branchMoves.idle();
      assert.equal((await changeRequests().list(project, actors.admin, none, { branch: 'pushed-draft' })).rows.length, 1);
      const counter = await asDatabaseOwner(t.context.db, (trx) => trx.selectFrom('projects').select('change_requests_opened').where('id', '=', project.id).executeTakeFirstOrThrow());
      assert.equal(counter.change_requests_opened, opened.number);
      // without the option, a pushed branch is only a draft
      assert.equal((await gitClient(home, ['push', '-q', 'origin', 'HEAD:refs/heads/quiet-draft'], dir)).code, 0);
      await t.context.branchMoves.idle();
      assert.ok(!(await changeRequests().list(project, actors.admin, none, { state: 'open' })).rows.some((cr) => cr.branch === 'quiet-draft'));
    });

    test('a merge against a main that moved writes nothing; one cut off after main moved is finished by crash recovery', async () => {
      await draft('member', 'crash-merge', { 'index.md': (s) => `${s}\nMerged through a crash.\n` });
      const number = await changeRequests().open(project, actors.member, { branch: 'crash-merge', title: 'Crash merge' }, none);
      const repository = await t.context.repositories.get(project);
      const head = (await repository.headOf('crash-merge'))!;
      const main = (await mainHead())!;
      const merged = await repository.tryMerge(main, head);
      assert.ok(merged.clean);
      const mergedEvents = () =>
        asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('audit_events').select('action').where('target_id', '=', `${project.id}#${number}`).where('action', '=', 'change_request.merged').execute());
      const author = { name: actors.member.name, email: actors.member.email };
      const actor = { type: 'user' as const, id: actors.member.userId, label: actors.member.email };

      // compare-and-swap: the merge was prepared against a main that has moved since (its parent here)
      const stale = (await repository.readCommit(main)).parents[0]!;
      await assert.rejects(
        t.context.branchMoves.merge(project, repository, { branch: PUBLISHED_BRANCH, expectedOld: stale, theirs: head, tree: merged.tree, author, message: `Merge change request !${number}` }, {
          actor,
          events: (commit) => [{ orgId: project.orgId, actor, action: 'change_request.merged', target: { type: 'change_request', id: `${project.id}#${number}`, label: 'x' }, outcome: 'success', details: { commit } }],
        }),
        BranchMovedError,
      );
      await t.context.branchMoves.idle();
      assert.equal(await mainHead(), main, 'main did not move');
      assert.equal((await changeRequests().get(project, actors.member, number, none)).state, 'open');
      assert.equal((await mergedEvents()).length, 0, 'nothing recorded');

      // a merge whose process died after main moved and before its record: the journal holds its note
      const gitDir = t.context.repositories.pathOf(project);
      const commit = spawnSync('git', ['--git-dir', gitDir, 'commit-tree', merged.tree, '-p', main, '-p', head, '-m', `Merge change request !${number}\n\nChange-Request: ${number}`], {
        encoding: 'utf8',
        env: { ...process.env, GIT_AUTHOR_NAME: author.name, GIT_AUTHOR_EMAIL: author.email, GIT_COMMITTER_NAME: author.name, GIT_COMMITTER_EMAIL: author.email },
      }).stdout.trim();
      await noteRefChange(gitDir, [{ ref: `refs/heads/${PUBLISHED_BRANCH}`, old: main, new: commit }], {
        orgId: project.orgId,
        events: [{ update: 0, event: { orgId: project.orgId, actor, action: 'change_request.merged', target: { type: 'change_request', id: `${project.id}#${number}`, label: 'x' }, outcome: 'success', details: { commit } } }],
        move: { projectId: project.id, kind: 'merge', actor },
      });
      assert.equal(spawnSync('git', ['--git-dir', gitDir, 'update-ref', `refs/heads/${PUBLISHED_BRANCH}`, commit, main]).status, 0);
      const report = await recoverProject(t.context, (await findProject(t.context.db, 'acme', 'handbook'))!);
      assert.equal(report.recoveredChanges, 1);
      await t.context.branchMoves.idle();
      const view = await changeRequests().get(project, actors.member, number, none);
      assert.equal(view.state, 'merged', 'the listener marks the request merged');
      assert.equal(view.mergeCommit, commit);
      assert.equal((await mergedEvents()).length, 1, 'the merge is in the audit log, once');
      assert.equal(t.context.publisher.snapshotOf(project.id)?.commit, commit, 'and published');
      const timeline = await changeRequests().timeline(project, view);
      assert.deepEqual(timeline.steps.map((step) => [step.kind, step.to]), [['merged', commit]]);
    });

    test('the request follows its branch only to a move that is still its head: an event handled late undoes nothing', async () => {
      const first = await draft('member', 'late-events', { 'index.md': (s) => `${s}\nFirst.\n` });
      const number = await changeRequests().open(project, actors.member, { branch: 'late-events', title: 'Late events' }, none);
      const second = await draft('member', 'late-events', { 'index.md': (s) => `${s}\nSecond.\n` });
      let view = await changeRequests().get(project, actors.member, number, none);
      assert.equal(view.headCommit, second);
      const steps = (await changeRequests().timeline(project, view)).steps;
      assert.deepEqual(steps.map((step) => [step.kind, step.from, step.to]), [['updated', first, second]]);
      const listener = changeRequests().listener(async () => project);
      const deliver = (newCommit: string, who: UserActor) =>
        listener.handle({
          id: `late-${newCommit}`,
          orgId: project.orgId,
          projectId: project.id,
          ref: 'refs/heads/late-events',
          oldCommit: null,
          newCommit,
          kind: 'save',
          actor: { type: 'user', id: who.userId, label: who.email },
          changedPaths: ['index.md'],
          pathsTruncated: false,
          recovered: false,
          at: new Date().toISOString(),
        });
      // the first move's event delivered again, late (another process, a retry): nothing changes
      await deliver(first, actors.admin);
      view = await changeRequests().get(project, actors.member, number, none);
      assert.equal(view.headCommit, second, 'still the newest head');
      assert.equal((await changeRequests().timeline(project, view)).steps.length, 1, 'no step credited to the late event');
      // the branch moves on (its event not handled yet) and a late event of an older move arrives first: it does not
      // take the credit for the newer move; the newer move's own event does
      const gitDir = t.context.repositories.pathOf(project);
      const tree = spawnSync('git', ['--git-dir', gitDir, 'rev-parse', `${first}^{tree}`], { encoding: 'utf8' }).stdout.trim();
      const env = { ...process.env, GIT_AUTHOR_NAME: 'm', GIT_AUTHOR_EMAIL: actors.member.email, GIT_COMMITTER_NAME: 'm', GIT_COMMITTER_EMAIL: actors.member.email };
      const third = spawnSync('git', ['--git-dir', gitDir, 'commit-tree', tree, '-p', second, '-m', 'Third'], { encoding: 'utf8', env }).stdout.trim();
      assert.equal(spawnSync('git', ['--git-dir', gitDir, 'update-ref', 'refs/heads/late-events', third, second]).status, 0);
      await deliver(second, actors.admin);
      view = await changeRequests().get(project, actors.member, number, none);
      assert.equal(view.headCommit, second, 'an older event does not move the request to the newer head');
      await deliver(third, actors.member);
      view = await changeRequests().get(project, actors.member, number, none);
      assert.equal(view.headCommit, third);
      assert.deepEqual(
        (await changeRequests().timeline(project, view)).steps.map((step) => [step.who, step.from, step.to]),
        [
          [actors.member.name, first, second],
          [actors.member.name, second, third],
        ],
      );
    });

    test('a push never confirms a change request the pusher may not see: neither its number nor that it exists', async () => {
      await draft('manager', 'hidden-draft', { 'policies/incident-response.md': (s) => `${s}\nHidden change.\n` });
      const number = await changeRequests().open(project, actors.manager, { branch: 'hidden-draft', title: 'Hidden draft' }, none);
      const dir = join(home, `w${++work}`);
      assert.equal((await gitClient(home, ['init', '-q', dir])).code, 0);
      // a member may push but not clone (their clearance does not cover the project); deleting a branch by its name
      // needs no objects
      for (const [who, sees] of [['member', false], ['admin', true]] as const) {
        const url = `${base.replace('http://', `http://x:${tokens[who]}@`)}/acme/handbook.git`;
        const push = await gitClient(home, ['push', url, ':refs/heads/hidden-draft'], dir);
        assert.notEqual(push.code, 0, `${who}: refused`);
        if (sees) assert.match(push.stderr, new RegExp(`change request !${number} cannot be deleted`), who);
        else assert.doesNotMatch(push.stderr, new RegExp(`!${number}\\b`), who);
      }
      assert.ok(await (await t.context.repositories.get(project)).headOf('hidden-draft'), 'the draft stays');
    });

    test('a draft merged by pushing main is marked merged by the listener', async () => {
      // an admin may clone (clearance covers every document): drafts and merges with plain git
      const dir = await pushDraft('admin', 'handbook-tweak', { 'policies/data-handling.md': (s) => `${s}\nA tweak.\n` });
      const number = await changeRequests().open(project, actors.admin, { branch: 'handbook-tweak', title: 'Tweak' }, none);
      assert.equal((await gitClient(home, ['fetch', '-q', 'origin'], dir)).code, 0);
      assert.equal((await gitClient(home, ['merge', '-q', '--no-edit', 'origin/main'], dir)).code, 0);
      assert.equal((await gitClient(home, ['push', '-q', 'origin', 'HEAD:main'], dir)).code, 0);
      await t.context.branchMoves.idle();
      assert.equal((await changeRequests().get(project, actors.admin, number, none)).state, 'merged');
    });
  });
}
