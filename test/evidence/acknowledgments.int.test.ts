import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { UserActor } from '../../src/access/actor.ts';
import { withOrg } from '../../src/db/connection.ts';
import { ConflictError, NotFoundError } from '../../src/errors.ts';
import { AcknowledgmentVersions } from '../../src/evidence/acknowledgment-versions.ts';
import { Acknowledgments } from '../../src/evidence/acknowledgments.ts';
import { overdueAcknowledgmentsCsv } from '../../src/evidence/acknowledgment-csv.ts';
import { insertGrant } from '../../src/access/grants.ts';
import { findProject, type ProjectRecord } from '../../src/projects/projects.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';
import { actorOf, askingDocument, commitAndEvent } from './helpers.ts';

const DAY = 24 * 60 * 60 * 1000;
const CONTEXT = { requestId: 'test-request', ip: '127.0.0.1' };

for (const target of databaseTargets()) {
  describe(`acknowledgments: versions from branch moves, tasks, records (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let project: ProjectRecord;
    let listener: AcknowledgmentVersions;
    let acks: Acknowledgments;
    let clock = Date.now();
    const actors: Record<string, UserActor> = {};

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      project = (await findProject(t.context.db, 'acme', 'handbook'))!;
      listener = new AcknowledgmentVersions(t.context.db, t.context.repositories);
      // nothing published here: the stored classification decides
      acks = new Acknowledgments(t.context.db, () => null, () => clock);
      for (const role of ['owner', 'admin', 'manager', 'member', 'viewer']) actors[role] = await actorOf(t.context.db, `${role}@acme.test`);
      actors.globex = await actorOf(t.context.db, 'member@globex.test');
    });
    after(async () => {
      await t.close();
      await dispose();
    });

    const openPaths = async (actor: UserActor) =>
      (await acks.tasksFor(actor, project.orgId)).filter((task) => task.status === 'open').map((task) => task.path).sort();

    test('everyone in the audience who may read the document gets a task; nobody else does', async () => {
      const event = await commitAndEvent(t, project, {
        'policies/code-of-conduct.md': askingDocument('Code of conduct', 'everyone'),
        'policies/expenses.md': askingDocument('Expenses', '[manager]'),
        'policies/plain.md': '---\ntitle: Plain\n---\n\nNo acknowledgment asked.\n',
      }, 'Add policies');
      await listener.handle(event);
      for (const role of ['owner', 'admin', 'member', 'viewer']) assert.deepEqual(await openPaths(actors[role]!), ['policies/code-of-conduct.md'], role);
      assert.deepEqual(await openPaths(actors.manager!), ['policies/code-of-conduct.md', 'policies/expenses.md']);
      // another organization's member: nothing, and the document does not exist for them
      assert.deepEqual(await acks.tasksFor(actors.globex!, project.orgId), []);
      await assert.rejects(acks.acknowledge(actors.globex!, project, 'policies/code-of-conduct.md', 'x'.repeat(40), CONTEXT), NotFoundError);
    });

    test('hidden = missing: a confidential or restricted document asks only those who may read it', async () => {
      await listener.handle(await commitAndEvent(t, project, {
        'policies/secret-plan.md': askingDocument('Secret plan CONFIDENTIAL-ACK-TITLE', 'everyone', 'x', 'confidential'),
        'policies/board.md': askingDocument('Board RESTRICTED-ACK-TITLE', 'everyone', 'x', 'restricted'),
      }, 'Add sensitive policies'));
      const member = await acks.tasksFor(actors.member!, project.orgId);
      assert.ok(!JSON.stringify(member).includes('ACK-TITLE'), 'no task, title or path for the member');
      assert.ok(!member.some((task) => task.path === 'policies/secret-plan.md' || task.path === 'policies/board.md'));
      assert.ok((await openPaths(actors.manager!)).includes('policies/secret-plan.md'));
      assert.ok(!(await openPaths(actors.manager!)).includes('policies/board.md'));
      assert.ok((await openPaths(actors.admin!)).includes('policies/board.md'));
      // acknowledging what one may not read answers like a document that does not exist
      const blob = (await acks.taskFor(actors.admin!, project, 'policies/board.md'))!.currentBlob;
      await assert.rejects(acks.acknowledge(actors.manager!, project, 'policies/board.md', blob, CONTEXT), NotFoundError);
      await assert.rejects(acks.acknowledge(actors.member!, project, 'policies/secret-plan.md', blob, CONTEXT), NotFoundError);
      // the manager's table: the restricted document is not there, and opening it is 404
      const summaries = await acks.documentSummaries(actors.manager!, project.orgId);
      assert.ok(!JSON.stringify(summaries).includes('RESTRICTED-ACK-TITLE'));
      await assert.rejects(acks.documentStatus(actors.manager!, project, 'policies/board.md'), NotFoundError);
      // and the confidential one lists only members who may read it
      const status = await acks.documentStatus(actors.manager!, project, 'policies/secret-plan.md');
      assert.deepEqual(status.rows.map((row) => row.role).sort(), ['admin', 'manager', 'owner']);
      // members and viewers never see the table
      await assert.rejects(acks.documentSummaries(actors.member!, project.orgId), NotFoundError);
      await assert.rejects(acks.documentStatus(actors.member!, project, 'policies/code-of-conduct.md'), NotFoundError);
    });

    test('an acknowledgment is of the exact version shown, recorded with blob and commit, and audited', async () => {
      const task = (await acks.taskFor(actors.member!, project, 'policies/code-of-conduct.md'))!;
      await assert.rejects(acks.acknowledge(actors.member!, project, 'policies/code-of-conduct.md', '0'.repeat(40), CONTEXT), ConflictError);
      assert.deepEqual(await acks.acknowledge(actors.member!, project, 'policies/code-of-conduct.md', task.currentBlob, CONTEXT), { recorded: true });
      // again: nothing new
      assert.deepEqual(await acks.acknowledge(actors.member!, project, 'policies/code-of-conduct.md', task.currentBlob, CONTEXT), { recorded: false });
      const done = (await acks.taskFor(actors.member!, project, 'policies/code-of-conduct.md'))!;
      assert.equal(done.status, 'done');
      assert.deepEqual({ commit: done.lastAcknowledged?.commit, blob: done.lastAcknowledged?.blob }, { commit: task.currentCommit, blob: task.currentBlob });
      const rows = await withOrg(t.context.db, project.orgId, (trx) =>
        trx.selectFrom('acknowledgments').selectAll().where('user_id', '=', actors.member!.userId).execute(),
      );
      assert.equal(rows.length, 1);
      assert.deepEqual([rows[0]!.path, rows[0]!.blob_id, rows[0]!.commit_id], ['policies/code-of-conduct.md', task.currentBlob, task.currentCommit]);
      const events = await asDatabaseOwner(t.context.db, (owner) =>
        owner.selectFrom('audit_events').selectAll().where('action', '=', 'acknowledgment.recorded').execute(),
      );
      assert.equal(events.length, 1);
      assert.equal(events[0]!.actor_id, actors.member!.userId);
      assert.equal(events[0]!.target_label, 'policies/code-of-conduct.md');
      assert.match(JSON.stringify(events[0]!.details), new RegExp(task.currentBlob));
      // the application cannot change or remove an acknowledgment
      await assert.rejects(withOrg(t.context.db, project.orgId, (trx) => trx.deleteFrom('acknowledgments').execute()), /permission denied/);
      await assert.rejects(
        withOrg(t.context.db, project.orgId, (trx) => trx.updateTable('acknowledgments').set({ blob_id: 'x' }).execute()),
        /permission denied/,
      );
      // another organization's scope sees none of it
      const globexView = await withOrg(t.context.db, actors.globex!.memberships.keys().next().value!, (trx) => trx.selectFrom('acknowledgments').selectAll().execute());
      assert.deepEqual(globexView, []);
    });

    test('an editorial change (commit trailer) keeps the task done; a material one re-opens it with the redline base', async () => {
      const acknowledged = (await acks.taskFor(actors.member!, project, 'policies/code-of-conduct.md'))!;
      await listener.handle(await commitAndEvent(t, project, {
        'policies/code-of-conduct.md': askingDocument('Code of conduct', 'everyone', 'Read me, please.'),
      }, 'Fix wording\n\nAcknowledgment: not-required\n'));
      const afterEditorial = (await acks.taskFor(actors.member!, project, 'policies/code-of-conduct.md'))!;
      assert.equal(afterEditorial.status, 'done');
      assert.notEqual(afterEditorial.currentBlob, acknowledged.currentBlob, 'the current version moved on');

      await listener.handle(await commitAndEvent(t, project, {
        'policies/code-of-conduct.md': askingDocument('Code of conduct', 'everyone', 'New rules apply.'),
      }, 'Change the rules'));
      const reopened = (await acks.taskFor(actors.member!, project, 'policies/code-of-conduct.md'))!;
      assert.equal(reopened.status, 'open');
      // the redline they see: the version they last acknowledged against the current one
      assert.equal(reopened.lastAcknowledged?.commit, acknowledged.currentCommit);
      assert.notEqual(reopened.currentCommit, acknowledged.currentCommit);
    });

    test('a push whose commits are not all marked editorial requires re-acknowledgment', async () => {
      const path = 'policies/code-of-conduct.md';
      const task = (await acks.taskFor(actors.viewer!, project, path))!;
      await acks.acknowledge(actors.viewer!, project, path, task.currentBlob, CONTEXT);
      const repository = await t.context.repositories.get(project);
      const old = await repository.headOf('main');
      await commitAndEvent(t, project, { [path]: askingDocument("Code of conduct", "everyone", "Material.") }, "Material change");
      const second = await commitAndEvent(t, project, { [path]: askingDocument('Code of conduct', 'everyone', 'Material, typo fixed.') }, 'Typo\n\nAcknowledgment: not-required');
      // one move covering both commits, as one push would deliver it
      await listener.handle({ ...second, oldCommit: old, id: `${second.id}-push` });
      assert.equal((await acks.taskFor(actors.viewer!, project, path))!.status, 'open');
    });

    test('deliveries are idempotent and a late, older move changes nothing', async () => {
      const path = 'policies/late.md';
      const v1 = await commitAndEvent(t, project, { [path]: askingDocument('Late', 'everyone', 'one') }, 'v1', new Date(clock - 2000));
      const v2 = await commitAndEvent(t, project, { [path]: askingDocument('Late', 'everyone', 'two') }, 'v2', new Date(clock - 1000));
      await listener.handle(v2);
      await listener.handle(v2);
      await listener.handle(v1);
      const task = (await acks.taskFor(actors.member!, project, path))!;
      assert.equal(task.currentCommit, v2.newCommit);
      const versions = await withOrg(t.context.db, project.orgId, (trx) => trx.selectFrom('ack_versions').select('commit_id').where('path', '=', path).execute());
      assert.deepEqual(versions.map((v) => v.commit_id), [v2.newCommit]);
    });

    test('a task is overdue after the organization’s due days; the setting changes the date', async () => {
      const path = 'policies/code-of-conduct.md';
      const task = (await acks.taskFor(actors.member!, project, path))!;
      assert.equal(task.overdue, false);
      const saved = clock;
      try {
        clock = task.dueAt.getTime() + 1;
        assert.equal((await acks.taskFor(actors.member!, project, path))!.overdue, true);
        const status = await acks.documentStatus(actors.manager!, project, path);
        assert.equal(status.rows.find((row) => row.userId === actors.member!.userId)?.status, 'overdue');
        await asDatabaseOwner(t.context.db, (owner) => owner.updateTable('organizations').set({ ack_due_days: 30 }).where('id', '=', project.orgId).execute());
        const later = (await acks.taskFor(actors.member!, project, path))!;
        assert.equal(later.dueAt.getTime() - task.dueAt.getTime(), 16 * DAY);
        assert.equal(later.overdue, false);
      } finally {
        clock = saved;
        await asDatabaseOwner(t.context.db, (owner) => owner.updateTable('organizations').set({ ack_due_days: 14 }).where('id', '=', project.orgId).execute());
      }
    });

    test('removing acknowledge: or deleting the document ends its tasks; adding it back asks again', async () => {
      await listener.handle(await commitAndEvent(t, project, { 'policies/expenses.md': '---\ntitle: Expenses\n---\n\nNo longer asked.\n' }, 'Stop asking'));
      assert.ok(!(await openPaths(actors.manager!)).includes('policies/expenses.md'));
      await listener.handle(await commitAndEvent(t, project, { 'policies/late.md': null }, 'Delete'));
      assert.ok(!(await openPaths(actors.member!)).includes('policies/late.md'));
      await listener.handle(await commitAndEvent(t, project, { 'policies/expenses.md': askingDocument('Expenses', 'manager') }, 'Ask again\n\nAcknowledgment: not-required'));
      assert.ok((await openPaths(actors.manager!)).includes('policies/expenses.md'), 'a first version always asks, trailer or not');
    });

    test('moves of other branches are ignored, and a move listing too many paths checks the whole tree', async () => {
      const branchEvent = await commitAndEvent(t, project, { 'policies/branch-only.md': askingDocument('Branch', 'everyone') }, 'On main');
      await listener.handle({ ...branchEvent, ref: 'refs/heads/draft' });
      assert.ok(!(await openPaths(actors.member!)).includes('policies/branch-only.md'));
      await listener.handle({ ...branchEvent, id: `${branchEvent.id}-all`, changedPaths: [], pathsTruncated: true });
      assert.ok((await openPaths(actors.member!)).includes('policies/branch-only.md'));
    });

    test('a move listing too many paths stops, in one go, every document that no longer asks; a key spelled with an escape still asks', async () => {
      await listener.handle(await commitAndEvent(t, project, { 'policies/bulk-a.md': askingDocument('Bulk A', 'everyone'), 'policies/bulk-b.md': askingDocument('Bulk B', 'everyone') }, 'Two asking'));
      assert.ok((await openPaths(actors.member!)).includes('policies/bulk-a.md'));
      const escaped = '---\ntitle: Escaped\n"\\x61cknowledge": everyone\n---\n\nBody without the word.\n';
      const event = await commitAndEvent(t, project, { 'policies/bulk-a.md': null, 'policies/bulk-b.md': '---\ntitle: Bulk B\n---\n\nNo longer.\n', 'policies/escaped.md': escaped }, 'Bulk change');
      await listener.handle({ ...event, changedPaths: [], pathsTruncated: true });
      const open = await openPaths(actors.member!);
      assert.ok(!open.includes('policies/bulk-a.md') && !open.includes('policies/bulk-b.md'), 'both stopped asking');
      assert.ok(open.includes('policies/escaped.md'), 'the YAML escape spells acknowledge');
      assert.ok(open.includes('policies/branch-only.md'), 'a document still asking keeps its task');
    });

    test('a member with a live access grant to a confidential document in its audience may read it, so gets a task while the grant lasts', async () => {
      const path = 'policies/incident-playbook.md';
      await listener.handle(await commitAndEvent(t, project, { [path]: askingDocument('Incident playbook GRANT-ACK-TITLE', 'everyone', 'x', 'confidential') }, 'Add playbook'));
      assert.ok(!(await openPaths(actors.member!)).includes(path), 'no grant: no task');
      const grantedAt = clock;
      const expiresAt = await withOrg(t.context.db, project.orgId, async (trx) => {
        const request = await trx
          .insertInto('access_requests')
          .values({ org_id: project.orgId, project_id: project.id, path, requester_id: actors.member!.userId, reason: 'incident INC-7', status: 'approved', created_at: new Date(grantedAt), expires_at: new Date(grantedAt + DAY) })
          .returning('id')
          .executeTakeFirstOrThrow();
        return insertGrant(trx, { orgId: project.orgId, projectId: project.id, path, userId: actors.member!.userId, requestId: request.id, classification: 'confidential' }, grantedAt);
      });
      assert.ok((await openPaths(actors.member!)).includes(path), 'in the audience and may read it: a task');
      assert.ok(!(await openPaths(actors.viewer!)).includes(path), "someone else's grant opens nothing for the viewer");
      const status = await acks.documentStatus(actors.manager!, project, path);
      assert.deepEqual(status.rows.map((row) => row.role).sort(), ['admin', 'manager', 'member', 'owner'], 'the grant holder is in the table');
      const task = (await acks.taskFor(actors.member!, project, path))!;
      assert.deepEqual(await acks.acknowledge(actors.member!, project, path, task.currentBlob, CONTEXT), { recorded: true });
      const saved = clock;
      try {
        clock = expiresAt.getTime() + 1;
        assert.equal(await acks.taskFor(actors.member!, project, path), null, 'the grant ended: the document is missing again, and so is the task');
        await assert.rejects(acks.acknowledge(actors.member!, project, path, task.currentBlob, CONTEXT), NotFoundError);
        assert.ok(!(await acks.documentStatus(actors.manager!, project, path)).rows.some((row) => row.role === 'member'));
      } finally {
        clock = saved;
      }
      const recorded = await withOrg(t.context.db, project.orgId, (trx) =>
        trx.selectFrom('acknowledgments').select('blob_id').where('path', '=', path).where('user_id', '=', actors.member!.userId).execute(),
      );
      assert.deepEqual(recorded.map((r) => r.blob_id), [task.currentBlob], 'the acknowledgment stays on record');
    });

    test('overdue acknowledgments: one computation for the organization, filtered for a manager, refused below manager', async () => {
      const path = 'policies/overdue-check.md';
      await listener.handle(await commitAndEvent(t, project, { [path]: askingDocument('Overdue check', 'everyone') }, 'Add'));
      await listener.handle(await commitAndEvent(t, project, { 'policies/overdue-secret.md': askingDocument('Secret OVERDUE-RESTRICTED', 'everyone', 'x', 'restricted') }, 'Add'));
      const task = (await acks.taskFor(actors.manager!, project, path))!;
      await acks.acknowledge(actors.manager!, project, path, task.currentBlob, CONTEXT);
      assert.ok(!(await acks.overdue(project.orgId)).some((row) => row.path === path), 'not overdue before the due date');
      const saved = clock;
      try {
        clock = task.dueAt.getTime() + DAY; // past the due dates of both documents
        const all = await acks.overdue(project.orgId);
        const people = all.filter((row) => row.path === path).map((row) => row.email).sort();
        assert.ok(people.includes('member@acme.test') && people.includes('viewer@acme.test'));
        assert.ok(!people.includes('manager@acme.test'), 'acknowledged in time');
        assert.ok(!all.some((row) => row.email === 'member@globex.test'), 'members of this organization only');
        assert.ok(all.some((row) => row.path === 'policies/overdue-secret.md' && row.email === 'admin@acme.test'), 'the system view names every document');
        assert.ok(!all.some((row) => row.path === 'policies/overdue-secret.md' && row.role === 'member'), 'asks only those who may read it');
        const managers = await acks.overdueFor(actors.manager!, project.orgId);
        assert.ok(managers.some((row) => row.path === path));
        assert.ok(!JSON.stringify(managers).includes('OVERDUE-RESTRICTED'), "a manager's list holds no restricted document");
        await assert.rejects(acks.overdueFor(actors.member!, project.orgId), NotFoundError);
        const csv = overdueAcknowledgmentsCsv(managers);
        assert.match(csv.split('\r\n')[0]!, /^project,document,title,version_commit,due_at,name,email,role,last_acknowledged_at$/);
        assert.ok(csv.includes(`handbook,${path},Overdue check,`));
      } finally {
        clock = saved;
      }
    });
  });
}
