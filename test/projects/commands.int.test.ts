import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { changeProjectDetails } from '../../src/projects/commands/change-project-details.ts';
import { createProject } from '../../src/projects/commands/create-project.ts';
import { deleteProject } from '../../src/projects/commands/delete-project.ts';
import type { ProjectCommandDeps } from '../../src/projects/commands/deps.ts';
import { findProject } from '../../src/projects/projects.ts';
import { upsertAccount } from '../../src/auth/accounts.ts';
import { withOrg } from '../../src/db/connection.ts';
import { ForbiddenError, NotFoundError } from '../../src/errors.ts';
import { actorOf } from '../helpers/actors.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { withAuditRefused } from '../helpers/refused-audit.ts';
import { createTestApp, PASSWORD, type TestApp } from '../helpers/test-app.ts';

/** Project commands: wrong role, wrong tenant, and the audit event in the transaction of the change. */
for (const target of databaseTargets()) {
  describe(`project commands (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let deps: ProjectCommandDeps;
    let acme: string;
    let forgets = 0;
    const repos = () => readdirSync(join(t.dataDir, 'repos')).sort();
    const input = (slug: string) => ({ orgId: acme, slug, name: 'Scratch', description: '', starter: 'empty' as const });

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      await upsertAccount(t.context.db, { email: 'admin@globex.test', orgSlug: 'globex', role: 'admin', password: PASSWORD });
      acme = (await t.context.db.selectFrom('organizations').select('id').where('slug', '=', 'acme').executeTakeFirstOrThrow()).id;
      deps = {
        db: t.context.db,
        repositories: t.context.repositories,
        publisher: t.context.publisher,
        branchMoves: t.context.branchMoves,
        dataDir: t.dataDir,
        catalog: {
          forgetAll: async () => {
            forgets++;
          },
        },
      };
    });
    after(async () => {
      await t.close();
      await dispose();
    });

    test('create: a manager gets 403, an admin of another organization 404; the project needs project.created', async () => {
      await assert.rejects(createProject(deps, await actorOf(t.context.db, 'manager@acme.test'), input('scratch')), ForbiddenError);
      await assert.rejects(createProject(deps, await actorOf(t.context.db, 'admin@globex.test'), input('scratch')), NotFoundError);
      const admin = await actorOf(t.context.db, 'admin@acme.test');
      const reposBefore = repos();
      await withAuditRefused(t.context.db, 'project.created', () => assert.rejects(createProject(deps, admin, input('scratch'))));
      assert.equal(await findProject(t.context.db, 'acme', 'scratch'), null);
      assert.deepEqual(repos(), reposBefore, 'no repository is made for a project that was not created');
      const made = await createProject(deps, admin, input('scratch'));
      assert.ok(existsSync(t.context.repositories.pathOf(made)));
      // the first commit is a branch move like any other: recorded and published
      const moves = await withOrg(t.context.db, acme, (trx) => trx.selectFrom('branch_moves').select(['kind', 'project_id']).where('project_id', '=', made.id).execute());
      assert.deepEqual(moves, [{ kind: 'import', project_id: made.id }]);
      assert.ok(t.context.publisher.snapshotOf(made.id)?.documents.has('index.md'));
      assert.equal((await findProject(t.context.db, 'acme', 'scratch'))?.name, 'Scratch');
      assert.ok(forgets > 0, 'the catalog forgets what it remembered');
    });

    test('rename: wrong role 403, wrong tenant 404; the new name stands or falls with project.renamed', async () => {
      const project = (await findProject(t.context.db, 'acme', 'scratch'))!;
      await assert.rejects(changeProjectDetails(deps, await actorOf(t.context.db, 'member@acme.test'), { project, name: 'X', description: '' }), ForbiddenError);
      await assert.rejects(changeProjectDetails(deps, await actorOf(t.context.db, 'admin@globex.test'), { project, name: 'X', description: '' }), NotFoundError);
      const admin = await actorOf(t.context.db, 'admin@acme.test');
      await withAuditRefused(t.context.db, 'project.renamed', () => assert.rejects(changeProjectDetails(deps, admin, { project, name: 'Renamed', description: '' })));
      assert.equal((await findProject(t.context.db, 'acme', 'scratch'))?.name, 'Scratch');
      assert.deepEqual(await changeProjectDetails(deps, admin, { project, name: 'Renamed', description: 'Now described.' }), { renamed: true, described: true });
      assert.equal((await findProject(t.context.db, 'acme', 'scratch'))?.name, 'Renamed');
    });

    test('delete: wrong role 403, wrong tenant 404; the deletion stands or falls with project.deleted, repository included', async () => {
      const project = (await findProject(t.context.db, 'acme', 'scratch'))!;
      await assert.rejects(deleteProject(deps, await actorOf(t.context.db, 'manager@acme.test'), { project, confirmation: project.name }), ForbiddenError);
      await assert.rejects(deleteProject(deps, await actorOf(t.context.db, 'admin@globex.test'), { project, confirmation: project.name }), NotFoundError);
      const admin = await actorOf(t.context.db, 'admin@acme.test');
      await withAuditRefused(t.context.db, 'project.deleted', () => assert.rejects(deleteProject(deps, admin, { project, confirmation: project.name })));
      assert.ok(await findProject(t.context.db, 'acme', 'scratch'));
      assert.ok(existsSync(t.context.repositories.pathOf(project)));
      await deleteProject(deps, admin, { project, confirmation: project.name });
      assert.equal(await findProject(t.context.db, 'acme', 'scratch'), null);
      assert.equal(existsSync(t.context.repositories.pathOf(project)), false);
      const deleted = await withOrg(t.context.db, acme, (trx) => trx.selectFrom('audit_events').select('target_id').where('action', '=', 'project.deleted').execute());
      assert.deepEqual(deleted.map((e) => e.target_id), [project.id]);
    });
  });
}
