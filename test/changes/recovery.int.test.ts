/**
 * The start-up reconciler (src/changes/recovery.ts) against a real repository and database: a branch moved while
 * the server was down, and a change interrupted between its ref move and its audit record, are both caught up
 * when the app starts again on the same data: snapshot published, audit event written, exactly once.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createAppContext, reconcileSnapshots, type AppContext } from '../../src/app-context.ts';
import { noteRefChange } from '../../src/changes/ref-audit.ts';
import type { Db } from '../../src/db/connection.ts';
import { importFolder } from '../../src/projects/import-folder.ts';
import { findProject, type ProjectRecord } from '../../src/projects/projects.ts';
import { buildApp } from '../../src/web/app.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { fixtureProject, testConfig } from '../helpers/test-app.ts';

const author = { name: 'Fixture Bot', email: 'bot@acme.test' };

/** Plain git with no configuration of the host, as an operator would run it in the data folder. */
function gitCli(args: string[], cwd?: string): string {
  const result = spawnSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      HOME: tmpdir(),
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_AUTHOR_NAME: 'Operator',
      GIT_AUTHOR_EMAIL: 'operator@acme.test',
      GIT_COMMITTER_NAME: 'Operator',
      GIT_COMMITTER_EMAIL: 'operator@acme.test',
      LC_ALL: 'C',
    },
  });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

const detailsOf = (row: { details: unknown }) =>
  (typeof row.details === 'string' ? JSON.parse(row.details) : row.details) as Record<string, unknown>;

for (const target of databaseTargets()) {
  describe(`start-up reconciler (${target.name})`, () => {
    let db: Db;
    let dispose: () => Promise<void>;
    let dataDir: string;
    let project: ProjectRecord;
    let repoPath: string;

    /** A process's worth of services on the shared data: what `serve` builds on start. */
    async function start(): Promise<{ context: AppContext; app: Awaited<ReturnType<typeof buildApp>>['app']; stop(): Promise<void> }> {
      const context = await createAppContext(testConfig(dataDir), db);
      await reconcileSnapshots(context);
      const { app } = await buildApp(context);
      return {
        context,
        app,
        async stop() {
          await app.close();
          await context.repositories.closeAll();
        },
      };
    }

    const events = async (action: string) =>
      asDatabaseOwner(db, (owner) => owner.selectFrom('audit_events').selectAll().where('org_id', '=', project.orgId).where('action', '=', action).orderBy('seq').execute());
    const publishedCommit = async () =>
      (await asDatabaseOwner(db, (owner) => owner.selectFrom('projects').select('published_commit').where('id', '=', project.id).executeTakeFirstOrThrow())).published_commit;
    const head = () => gitCli(['--git-dir', repoPath, 'rev-parse', 'refs/heads/main']);

    before(async () => {
      ({ db, dispose } = await target.open());
      dataDir = mkdtempSync(join(tmpdir(), 'docucommit-recovery-'));
      const context = await createAppContext(testConfig(dataDir), db);
      await importFolder(context, { folder: fixtureProject('acme-handbook'), orgSlug: 'acme', projectSlug: 'handbook', projectName: 'Acme Handbook', author });
      await context.repositories.closeAll();
      project = (await findProject(db, 'acme', 'handbook'))!;
      repoPath = context.repositories.pathOf(project);
    });

    after(async () => {
      await dispose();
      rmSync(dataDir, { recursive: true, force: true });
    });

    test('a branch moved with git while the server was down: published and recorded as git.push on restart, once', async () => {
      const before = head();
      // the server is down; an operator pushes into the bare repository directly (DocuCommit's hook switched off)
      const work = mkdtempSync(join(tmpdir(), 'docucommit-operator-'));
      try {
        gitCli(['clone', '--quiet', repoPath, work]);
        writeFileSync(join(work, 'security.md'), `${readFileSync(join(work, 'security.md'), 'utf8')}\nOut-of-band marker-9931.\n`);
        gitCli(['commit', '-qam', 'edited outside DocuCommit'], work);
        gitCli(['push', '--quiet', '--receive-pack=git -c core.hooksPath=/nonexistent receive-pack', 'origin', 'HEAD:main'], work);
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
      const moved = head();
      assert.notEqual(moved, before);
      assert.equal(await publishedCommit(), before, 'the database still knows the old head');

      const server = await start();
      try {
        assert.equal(await publishedCommit(), moved, 'the reconciler published the new head');
        const page = await server.app.inject({ method: 'GET', url: '/acme/handbook/security' });
        assert.equal(page.statusCode, 200);
        assert.match(page.body, /marker-9931/);

        const pushes = await events('git.push');
        assert.equal(pushes.length, 1);
        assert.equal(pushes[0]!.actor_type, 'system');
        assert.equal(pushes[0]!.outcome, 'success');
        assert.equal(pushes[0]!.target_id, project.id);
        const details = detailsOf(pushes[0]!);
        assert.equal(details.ref, 'refs/heads/main');
        assert.equal(details.old, before);
        assert.equal(details.new, moved);
        assert.equal(details.files, 1);
        assert.equal(details.reconstructed, true);
        assert.match(String(details.reflog_identity), /operator@acme\.test/);
        assert.doesNotMatch(JSON.stringify(pushes), /marker-9931/, 'no content in the audit log');
      } finally {
        await server.stop();
      }

      // another restart finds nothing new to record
      const again = await start();
      await again.stop();
      assert.equal((await events('git.push')).length, 1);
    });

    test('killed after the ref moved but before the audit record: the journal is settled on restart', async () => {
      const context = await createAppContext(testConfig(dataDir), db);
      const repository = await context.repositories.get(project);
      const base = head();
      // exactly what the editor does up to the crash: commit, note the event, move the branch; then the process dies
      const result = await repository.commitFiles({
        branch: 'main',
        expectedOld: base,
        mode: 'patch',
        changes: [{ path: 'security.md', content: '---\ntitle: Security overview\nclassification: public\n---\n\nSaved just before a crash marker-5120.\n' }],
        author,
        message: 'Saved before the crash',
        beforeUpdate: async (commit) => {
          await noteRefChange(repository.path, [{ ref: 'refs/heads/main', old: base, new: commit }], {
            orgId: project.orgId,
            events: [
              {
                update: 0,
                event: {
                  orgId: project.orgId,
                  actor: { type: 'user', id: 'u-1', label: 'member@acme.test' },
                  action: 'document.saved',
                  target: { type: 'document', id: `${project.id}:security.md`, label: 'security.md' },
                  outcome: 'success',
                  details: { commit },
                },
              },
            ],
          });
        },
      });
      // and a change that died between its note and its ref move: the branch never moved, nothing to record
      const orphan = gitCli(['--git-dir', repoPath, 'commit-tree', `${result.commit}^{tree}`, '-p', result.commit!, '-m', 'never applied']);
      await noteRefChange(repository.path, [{ ref: 'refs/heads/main', old: result.commit, new: orphan }], {
        orgId: project.orgId,
        events: [{ update: 0, event: { orgId: project.orgId, actor: { type: 'user', id: 'u-1' }, action: 'document.saved', outcome: 'success', details: { commit: orphan } } }],
      });
      await context.repositories.closeAll();
      const journal = join(repoPath, 'docucommit', 'journal');
      assert.equal(readdirSync(journal).length, 2);
      const pushesBefore = (await events('git.push')).length;

      const server = await start();
      try {
        assert.equal(head(), result.commit);
        assert.equal(await publishedCommit(), result.commit, 'the saved commit is published');
        const saved = (await events('document.saved')).filter((e) => JSON.stringify(e.details).includes(result.commit!));
        assert.equal(saved.length, 1, 'the save is recorded once');
        assert.equal(saved[0]!.actor_label, 'member@acme.test');
        assert.equal(detailsOf(saved[0]!).recovered, true);
        assert.equal((await events('document.saved')).filter((e) => JSON.stringify(e.details).includes(orphan)).length, 0);
        assert.equal((await events('git.push')).length, pushesBefore, 'a journaled change is not also reported as an unknown move');
        assert.deepEqual(existsSync(journal) ? readdirSync(journal) : [], [], 'the journal is empty');
      } finally {
        await server.stop();
      }
      gitCli(['--git-dir', repoPath, 'fsck', '--no-progress']);
    });
  });
}
