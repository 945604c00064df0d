/**
 * The branch-move protocol (src/changes/branch-moves.ts) against real git and a real database: a registered
 * listener sees every kind of move with one typed event (browser save, create, move, delete, restore, an
 * accepted push, a move replayed by crash recovery, a move made with git directly), a failing listener neither
 * undoes nor delays the publish and is retried from the durable record, and two processes sharing the database
 * hand each delivery to exactly one of them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { UserActor } from '../../src/access/actor.ts';
import { createToken } from '../../src/auth/tokens.ts';
import type { BranchMoved, BranchMoveListener } from '../../src/changes/branch-moved.ts';
import { BranchMoves } from '../../src/changes/branch-moves.ts';
import { DocumentEditor } from '../../src/changes/editor.ts';
import { ProjectHistory } from '../../src/changes/history.ts';
import { noteRefChange } from '../../src/changes/ref-audit.ts';
import { recoverProject } from '../../src/changes/recovery.ts';
import { VersionRestorer } from '../../src/changes/restore.ts';
import { findProject, type ProjectRecord } from '../../src/projects/projects.ts';
import { PUBLISHED_BRANCH } from '../../src/content/published-branch.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { gitClient } from '../helpers/git-client.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

/** Remembers every event it is handed. */
function recorder(name: string): BranchMoveListener & { events: BranchMoved[] } {
  const events: BranchMoved[] = [];
  return { name, events, handle: async (event) => void events.push(event) };
}

function git(gitDir: string, args: string[]): string {
  const result = spawnSync('git', ['--git-dir', gitDir, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: tmpdir(), GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_NAME: 'Operator', GIT_AUTHOR_EMAIL: 'op@acme.test', GIT_COMMITTER_NAME: 'Operator', GIT_COMMITTER_EMAIL: 'op@acme.test' },
  });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

/** A commit on top of `parent` that changes `path` to `text`, made with plain git (no ref moves). */
function commitWithGit(gitDir: string, parent: string, path: string, text: string): string {
  const blob = spawnSync('git', ['--git-dir', gitDir, 'hash-object', '-w', '--stdin'], { input: text, encoding: 'utf8' }).stdout.trim();
  const index = join(mkdtempSync(join(tmpdir(), 'dc-index-')), 'index');
  const env = { ...process.env, GIT_INDEX_FILE: index, GIT_AUTHOR_NAME: 'Operator', GIT_AUTHOR_EMAIL: 'op@acme.test', GIT_COMMITTER_NAME: 'Operator', GIT_COMMITTER_EMAIL: 'op@acme.test' };
  const run = (args: string[]) => {
    const r = spawnSync('git', ['--git-dir', gitDir, ...args], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout.trim();
  };
  run(['read-tree', parent]);
  run(['update-index', '--add', '--cacheinfo', `100644,${blob},${path}`]);
  const tree = run(['write-tree']);
  return run(['commit-tree', tree, '-p', parent, '-m', `Operator edit of ${path}`]);
}

for (const target of databaseTargets()) {
  describe(`branch-move protocol (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let project: ProjectRecord;
    let admin: UserActor;
    let editor: DocumentEditor;
    let restorer: VersionRestorer;
    let history: ProjectHistory;
    const seen = recorder('test.recorder');
    let failNext = 0;
    let failing: BranchMoveListener & { calls: BranchMoved[] };

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      failing = {
        name: 'test.flaky',
        calls: [],
        async handle(event) {
          failing.calls.push(event);
          if (failNext > 0) {
            failNext--;
            throw new Error('listener is down');
          }
        },
      };
      t.context.branchMoves.listen(seen);
      t.context.branchMoves.listen(failing);
      t.context.branchMoves.logger = { error: () => {} };
      project = (await findProject(t.context.db, 'acme', 'handbook'))!;
      const user = await t.context.db.selectFrom('users').select(['id', 'email', 'name']).where('email', '=', 'admin@acme.test').executeTakeFirstOrThrow();
      admin = { kind: 'user', userId: user.id, email: user.email, name: user.name ?? 'Admin', memberships: new Map([[project.orgId, 'admin']]) };
      editor = new DocumentEditor(t.context.repositories, t.context.branchMoves);
      history = new ProjectHistory(t.context.repositories, t.context.publisher);
      restorer = new VersionRestorer(t.context.repositories, t.context.branchMoves, history);
    });

    after(async () => {
      await t.context.branchMoves.stop();
      await t.close();
      await dispose();
    });

    const head = async () => (await t.context.repositories.get(project)).headOf(PUBLISHED_BRANCH);
    const last = () => seen.events.at(-1)!;
    const grants = new Set<string>();

    test('browser save, create, move, delete and restore each reach the listener once, after the publish', async () => {
      const before = await head();
      const opened = await editor.open(project, admin, 'security.md', grants);
      const saved = await editor.save(project, admin, { path: 'security.md', base: opened.base, content: `${opened.source}\nSaved line.\n`, message: '' }, grants);
      assert.equal(saved.kind, 'saved');
      await t.context.branchMoves.idle();
      assert.equal(seen.events.length, 1);
      const save = last();
      assert.deepEqual(
        { kind: save.kind, orgId: save.orgId, projectId: save.projectId, ref: save.ref, old: save.oldCommit, new: save.newCommit, paths: save.changedPaths, truncated: save.pathsTruncated, recovered: save.recovered },
        { kind: 'save', orgId: project.orgId, projectId: project.id, ref: 'refs/heads/main', old: before, new: saved.kind === 'saved' ? saved.commit : null, paths: ['security.md'], truncated: false, recovered: false },
      );
      assert.deepEqual(save.actor, { type: 'user', id: admin.userId, label: 'admin@acme.test' });
      // the listener ran after the publish: the published snapshot is at the new commit
      assert.equal(t.context.publisher.snapshotOf(project.id)?.commit, save.newCommit);

      await editor.create(project, admin, { path: 'notes/new-page.md', content: '---\ntitle: New page\n---\nHello.\n', message: '' }, grants);
      await t.context.branchMoves.idle();
      assert.equal(last().kind, 'create');
      assert.deepEqual(last().changedPaths, ['notes/new-page.md']);

      await editor.rename(project, admin, { path: 'notes/new-page.md', newPath: 'notes/moved-page.md', base: (await head())!, message: '' }, grants);
      await t.context.branchMoves.idle();
      assert.equal(last().kind, 'move');
      assert.deepEqual([...last().changedPaths].sort(), ['notes/moved-page.md', 'notes/new-page.md']);

      await editor.remove(project, admin, { path: 'notes/moved-page.md', base: (await head())!, message: '' }, grants);
      await t.context.branchMoves.idle();
      assert.equal(last().kind, 'delete');
      assert.deepEqual(last().changedPaths, ['notes/moved-page.md']);

      const restored = await restorer.restore({ actor: admin, project, grants }, before!, 'security.md', 'Undo the test edit');
      assert.equal(restored.changed, true);
      await t.context.branchMoves.idle();
      assert.equal(last().kind, 'restore');
      assert.equal(last().newCommit, restored.commit);
      assert.equal(seen.events.length, 5);
      // events arrive in the order of the moves, each move's new commit the next one's old
      for (let i = 1; i < seen.events.length; i++) assert.equal(seen.events[i]!.oldCommit, seen.events[i - 1]!.newCommit);
      // nothing failed, nothing is due
      assert.equal(await t.context.branchMoves.deliverDue(), 0);
    });

    test('an accepted git push reaches the listener with the paths it changed; a save that changes nothing does not', async () => {
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
      const token = (await createToken(t.context.db, { userId: admin.userId, name: 'push', scopes: ['write'] })).token;
      const home = mkdtempSync(join(tmpdir(), 'dc-moves-git-'));
      try {
        const dir = join(home, 'w');
        const url = `${base.replace('http://', `http://x:${token}@`)}/acme/handbook.git`;
        assert.equal((await gitClient(home, ['clone', url, dir])).code, 0);
        writeFileSync(join(dir, 'security.md'), `${readFileSync(join(dir, 'security.md'), 'utf8')}\nPushed.\n`);
        writeFileSync(join(dir, 'pushed-page.md'), '---\ntitle: Pushed page\n---\nBody.\n');
        assert.equal((await gitClient(home, ['add', '.'], dir)).code, 0);
        assert.equal((await gitClient(home, ['commit', '-qm', 'Push two files'], dir)).code, 0);
        const count = seen.events.length;
        const push = await gitClient(home, ['push', 'origin', 'HEAD:main', 'HEAD:refs/heads/draft'], dir);
        assert.equal(push.code, 0, push.stderr);
        await t.context.branchMoves.idle();
        const pushed = seen.events.slice(count);
        assert.deepEqual(pushed.map((e) => [e.kind, e.ref]).sort(), [['push', 'refs/heads/draft'], ['push', 'refs/heads/main']]);
        const main = pushed.find((e) => e.ref === 'refs/heads/main')!;
        assert.deepEqual([...main.changedPaths].sort(), ['pushed-page.md', 'security.md']);
        assert.deepEqual(main.actor.type, 'token');
        assert.equal(t.context.publisher.snapshotOf(project.id)?.commit, main.newCommit);
        const draft = pushed.find((e) => e.ref === 'refs/heads/draft')!;
        assert.equal(draft.oldCommit, null, 'a new branch has no old commit');

        // deleting the draft branch is a move too, with no new commit
        assert.equal((await gitClient(home, ['push', 'origin', ':refs/heads/draft'], dir)).code, 0);
        await t.context.branchMoves.idle();
        assert.equal(last().ref, 'refs/heads/draft');
        assert.equal(last().newCommit, null);
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
      // saving the same text again commits nothing and announces nothing
      const count = seen.events.length;
      const opened = await editor.open(project, admin, 'security.md', grants);
      await editor.save(project, admin, { path: 'security.md', base: opened.base, content: opened.source, message: '' }, grants);
      await t.context.branchMoves.idle();
      assert.equal(seen.events.length, count);
    });

    test('a failing listener does not undo or delay the publish, is retried from the record, and the others run once', async () => {
      failNext = 1;
      const seenBefore = seen.events.length;
      const callsBefore = failing.calls.length;
      const opened = await editor.open(project, admin, 'security.md', grants);
      const saved = await editor.save(project, admin, { path: 'security.md', base: opened.base, content: `${opened.source}\nWhile a listener is down.\n`, message: '' }, grants);
      assert.equal(saved.kind, 'saved');
      // the save is published and readable before (and whatever) the listeners do
      assert.equal(t.context.publisher.snapshotOf(project.id)?.commit, saved.kind === 'saved' ? saved.commit : '');
      await t.context.branchMoves.idle();
      assert.equal(failing.calls.length, callsBefore + 1);
      const rows = await asDatabaseOwner(t.context.db, (owner) =>
        owner.selectFrom('branch_move_deliveries').selectAll().where('listener', '=', 'test.flaky').where('delivered_at', 'is', null).execute(),
      );
      assert.equal(rows.length, 1);
      assert.match(rows[0]!.last_error ?? '', /listener is down/);
      assert.ok(new Date(rows[0]!.next_attempt_at).getTime() > Date.now(), 'retried later, with backoff');
      // not due yet: nothing happens
      assert.equal(await t.context.branchMoves.deliverDue(), 0);
      // once due (as after the backoff, or on another process's retry loop), it is delivered
      await asDatabaseOwner(t.context.db, (owner) => owner.updateTable('branch_move_deliveries').set({ next_attempt_at: new Date(Date.now() - 1000) }).where('listener', '=', 'test.flaky').where('delivered_at', 'is', null).execute());
      assert.equal(await t.context.branchMoves.deliverDue(), 1);
      assert.equal(failing.calls.length, callsBefore + 2);
      assert.equal(failing.calls.at(-1)!.newCommit, saved.kind === 'saved' ? saved.commit : '');
      assert.equal(seen.events.length, seenBefore + 1, 'the healthy listener got the event once');
      assert.equal(await t.context.branchMoves.deliverDue(), 0);
    });

    test('crash recovery replays a move that happened before its record, and records a move made with git directly', async () => {
      const gitDir = t.context.repositories.pathOf(project);
      const count = seen.events.length;
      // a save interrupted after its ref moved: its journal note is there, its record is not
      const old = (await head())!;
      const interrupted = commitWithGit(gitDir, old, 'security.md', '---\ntitle: Security\n---\nInterrupted save.\n');
      await noteRefChange(gitDir, [{ ref: 'refs/heads/main', old, new: interrupted }], {
        orgId: project.orgId,
        events: [{ update: 0, event: { orgId: project.orgId, actor: { type: 'user', id: admin.userId, label: admin.email }, action: 'document.saved', target: { type: 'document', id: `${project.id}:security.md`, label: 'security.md' }, outcome: 'success', details: { commit: interrupted } } }],
        move: { projectId: project.id, kind: 'save', actor: { type: 'user', id: admin.userId, label: admin.email } },
      });
      git(gitDir, ['update-ref', 'refs/heads/main', interrupted, old]);
      const current = (await findProject(t.context.db, 'acme', 'handbook'))!;
      const report = await recoverProject(t.context, current);
      assert.equal(report.recoveredChanges, 1);
      await t.context.branchMoves.idle();
      assert.equal(seen.events.length, count + 1);
      assert.deepEqual({ kind: last().kind, recovered: last().recovered, old: last().oldCommit, new: last().newCommit, paths: last().changedPaths }, { kind: 'save', recovered: true, old, new: interrupted, paths: ['security.md'] });
      // a second run finds nothing left to replay
      const again = await recoverProject(t.context, (await findProject(t.context.db, 'acme', 'handbook'))!);
      assert.equal(again.recoveredChanges, 0);
      await t.context.branchMoves.idle();
      assert.equal(seen.events.length, count + 1);

      // an operator moved main with git while the server was down
      const external = commitWithGit(gitDir, interrupted, 'operator.md', '---\ntitle: Operator\n---\nBy hand.\n');
      git(gitDir, ['update-ref', 'refs/heads/main', external, interrupted]);
      const reconciled = await recoverProject(t.context, (await findProject(t.context.db, 'acme', 'handbook'))!);
      assert.equal(reconciled.reconstructedPush, true);
      await t.context.branchMoves.idle();
      assert.deepEqual({ kind: last().kind, old: last().oldCommit, new: last().newCommit, paths: last().changedPaths, actor: last().actor.type }, { kind: 'external', old: interrupted, new: external, paths: ['operator.md'], actor: 'system' });
    });

    test('two processes on one database: each due delivery is handled by exactly one of them', async () => {
      // a second process: its own protocol object and listener of the same name, on the same database
      const other = new BranchMoves({ db: t.context.db, repositories: t.context.repositories, publisher: t.context.publisher });
      const handled: string[] = [];
      const slowly = (tag: string): BranchMoveListener => ({
        name: 'test.shared',
        async handle(event) {
          handled.push(`${tag}:${event.id}`);
          await new Promise((resolve) => setTimeout(resolve, 5));
        },
      });
      // register the shared listener on this process too (deliveries are created for the names registered here)
      t.context.branchMoves.listen(slowly('a'));
      other.listen(slowly('b'));
      other.logger = { error: () => {} };
      // moves recorded while nobody delivers at once: make them due for both processes
      const moves: string[] = [];
      for (let i = 0; i < 6; i++) {
        const opened = await editor.open(project, admin, 'security.md', grants);
        const saved = await editor.save(project, admin, { path: 'security.md', base: opened.base, content: `${opened.source}\nLine ${i}.\n`, message: '' }, grants);
        if (saved.kind === 'saved') moves.push(saved.commit);
      }
      await t.context.branchMoves.idle();
      // the immediate deliveries went to this process; make them all due again, as after lost leases
      const before = handled.length;
      assert.equal(before, 6);
      await asDatabaseOwner(t.context.db, (owner) =>
        owner.updateTable('branch_move_deliveries').set({ delivered_at: null, claimed_until: null, next_attempt_at: new Date(Date.now() - 1000) }).where('listener', '=', 'test.shared').execute(),
      );
      const [a, b] = await Promise.all([t.context.branchMoves.deliverDue(), other.deliverDue()]);
      const ids = handled.slice(before).map((h) => h.split(':')[1]);
      assert.equal(a + b, 6, `delivered ${a} + ${b}`);
      assert.equal(new Set(ids).size, 6, 'no delivery was handled twice');
      await other.stop();
    });
  });
}
