import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { createAppContext } from '../../src/app-context.ts';
import { upsertAccount } from '../../src/auth/accounts.ts';
import type { UserActor } from '../../src/access/actor.ts';
import { deleteProject } from '../../src/projects/commands/delete-project.ts';
import { findProject } from '../../src/projects/projects.ts';
import { fixtureProject, testConfig } from '../helpers/test-app.ts';
import { importFolder } from '../../src/projects/import-folder.ts';

const BIN = fileURLToPath(new URL('../../bin/docucommit.mjs', import.meta.url));

function cli(args: string[]) {
  const result = spawnSync(process.execPath, [BIN, ...args], { input: '', encoding: 'utf8', env: { ...process.env, DATABASE_URL: '' }, timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('docucommit project', () => {
  let dataDir: string;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'dc-cli-project-'));
    const context = await createAppContext(testConfig(dataDir));
    const { user } = await upsertAccount(context.db, { email: 'owner@acme.test', orgSlug: 'acme', role: 'owner', password: 'a long owner passphrase' });
    const { project } = await importFolder(context, {
      folder: fixtureProject('acme-handbook'),
      orgSlug: 'acme',
      projectSlug: 'handbook',
      projectName: 'Acme Handbook',
      author: { name: 'Bot', email: 'bot@acme.test' },
    });
    const owner: UserActor = { kind: 'user', userId: user.id, email: user.email, name: user.name, memberships: new Map([[project.orgId, 'owner']]) };
    await deleteProject({ ...context, dataDir }, owner, { project, confirmation: 'Acme Handbook' });
    await context.close();
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('lists the deleted projects kept, and restores one under its address with its history', async () => {
    assert.equal(cli(['project', 'restore', 'not-an-address', '--data', dataDir]).code, 2);
    const listed = cli(['project', 'deleted', '--data', dataDir]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /acme\/handbook  "Acme Handbook"  deleted .* by owner@acme\.test, kept until \d{4}-\d\d-\d\d/);
    const restored = cli(['project', 'restore', 'acme/handbook', '--data', dataDir]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, /Restored acme\/handbook/);
    assert.equal(cli(['project', 'restore', 'acme/handbook', '--data', dataDir]).code, 1, 'nothing left to restore');
    assert.match(cli(['project', 'deleted', '--data', dataDir]).stdout, /No deleted projects are kept/);
    const context = await createAppContext(testConfig(dataDir));
    try {
      const project = await findProject(context.db, 'acme', 'handbook');
      assert.ok(project);
      assert.ok(existsSync(join(dataDir, 'repos', project.repoDir)));
      const snapshot = await context.publisher.publish(project);
      assert.ok(snapshot.documents.has('policies/salary-bands.md'), 'the history and documents came back');
    } finally {
      await context.close();
    }
  });
});
