import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { restoreProject } from '../../src/projects/commands/restore-project.ts';
import { listDeletedProjects, purgeDeletedProjects } from '../../src/projects/deleted-projects.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { signedInApp } from '../helpers/signed-in-app.ts';
import { csrfFrom, type TestApp } from '../helpers/test-app.ts';

const DAY = 24 * 60 * 60 * 1000;

for (const target of databaseTargets()) {
  describe(`projects in the browser (${target.name})`, () => {
    const signedIn = signedInApp(target);
    const { cookies, get } = signedIn;
    let t: TestApp;
    before(() => {
      t = signedIn.t;
    });
    async function post(url: string, cookie: string, fields: Record<string, string>) {
      const csrf = csrfFrom((await get('/', cookie)).body);
      return t.app.inject({
        method: 'POST',
        url,
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ ...fields, _csrf: csrf }).toString(),
      });
    }
    const events = (action: string) =>
      asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('audit_events').select(['action', 'target_label', 'details', 'actor_label']).where('action', '=', action).orderBy('seq').execute());

    test('only admins and owners may create, change or delete projects; everyone else gets the one 404', async () => {
      for (const who of ['manager', 'member', 'viewer', 'globex']) {
        assert.equal((await get('/acme/-/projects/new', cookies[who])).statusCode, 404, who);
        assert.equal((await get('/acme/handbook/-/settings', cookies[who])).statusCode, 404, who);
        assert.equal((await post('/acme/-/projects', cookies[who]!, { name: 'X', slug: 'x', starter: 'empty' })).statusCode, 404, who);
        assert.equal((await post('/acme/handbook/-/delete', cookies[who]!, { confirm: 'Acme Handbook' })).statusCode, 404, who);
      }
      assert.match((await get('/', cookies.admin)).body, /href="\/acme\/-\/projects\/new"/);
      assert.doesNotMatch((await get('/', cookies.manager)).body, /projects\/new/);
    });

    test('an admin creates a project from the handbook starter: home page and policies section, audited', async () => {
      const form = await get('/acme/-/projects/new', cookies.admin);
      assert.equal(form.statusCode, 200);
      const created = await post('/acme/-/projects', cookies.admin!, { name: 'People: Guide', slug: 'people', description: 'How we work', starter: 'handbook' });
      assert.equal(created.statusCode, 303, created.body);
      assert.equal(created.headers.location, '/acme/people/');
      const home = await get('/acme/people/', cookies.member);
      assert.equal(home.statusCode, 200);
      assert.match(home.body, /People: Guide/);
      assert.equal((await get('/acme/people/policies/', cookies.member)).statusCode, 200);
      assert.equal((await get('/acme/people/policies/leave', cookies.member)).statusCode, 200);
      const again = await post('/acme/-/projects', cookies.admin!, { name: 'Other', slug: 'people', starter: 'empty' });
      assert.equal(again.statusCode, 409);
      const bad = await post('/acme/-/projects', cookies.admin!, { name: 'Bad', slug: 'Not A Slug', starter: 'empty' });
      assert.equal(bad.statusCode, 400);
      const empty = await post('/acme/-/projects', cookies.owner!, { name: 'Scratch', slug: 'scratch', starter: 'empty' });
      assert.equal(empty.statusCode, 303);
      assert.equal((await get('/acme/scratch/policies/', cookies.member)).statusCode, 404, 'the empty project has only a home page');
      const audited = await events('project.created');
      assert.deepEqual(audited.map((e) => [e.target_label, (e.details as { starter: string }).starter]), [['people', 'handbook'], ['scratch', 'empty']]);
    });

    test('rename and description: shown at once on the project’s pages, audited', async () => {
      const saved = await post('/acme/people/-/settings', cookies.admin!, { name: 'People Guide', description: 'How we work here' });
      assert.equal(saved.statusCode, 303);
      assert.match((await get('/acme/people/', cookies.member)).body, /People Guide/);
      assert.match((await get('/', cookies.member)).body, /How we work here/);
      const renamed = await events('project.renamed');
      assert.deepEqual(renamed.map((e) => e.details), [{ from: 'People: Guide', to: 'People Guide' }]);
      assert.equal((await events('project.description_changed')).length, 1);
    });

    test('the clone URL is shown to those who may clone, with a copy button', async () => {
      const settings = await get('/acme/people/-/settings', cookies.admin);
      assert.match(settings.body, /value="http:\/\/localhost:80\/acme\/people\.git"/);
      assert.match(settings.body, /data-copy="clone-url"/);
      // The handbook fixture holds restricted documents: a member may not clone it, so no URL for them.
      const member = await get('/acme/handbook/-/clone', cookies.member);
      assert.equal(member.statusCode, 200);
      assert.doesNotMatch(member.body, /\.git"/);
      assert.match((await get('/acme/people/-/clone', cookies.member)).body, /value="http:\/\/localhost:80\/acme\/people\.git"/);
      assert.equal((await get('/acme/people/-/clone', cookies.globex)).statusCode, 404);
    });

    test('delete needs the typed name; the repository is kept, restored from the CLI, and purged after 30 days', async () => {
      const wrong = await post('/acme/scratch/-/delete', cookies.admin!, { confirm: 'scratch' });
      assert.equal(wrong.statusCode, 400);
      assert.equal((await get('/acme/scratch/', cookies.member)).statusCode, 200);
      const deleted = await post('/acme/scratch/-/delete', cookies.admin!, { confirm: 'Scratch' });
      assert.equal(deleted.statusCode, 303);
      assert.equal((await get('/acme/scratch/', cookies.member)).statusCode, 404);
      const kept = listDeletedProjects(t.dataDir);
      assert.deepEqual(kept.map((m) => `${m.orgSlug}/${m.slug}`), ['acme/scratch']);
      assert.ok(existsSync(join(t.dataDir, 'deleted-projects', kept[0]!.repoDir)));
      assert.equal((await events('project.deleted')).length, 1);

      const restored = await restoreProject({ db: t.context.db, dataDir: t.dataDir, reposDir: join(t.dataDir, 'repos') }, { label: 'test' }, { orgSlug: 'acme', slug: 'scratch' });
      assert.equal(restored.id, kept[0]!.id);
      assert.ok(existsSync(join(t.dataDir, 'repos', restored.repoDir)));
      const row = await asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('projects').select('name').where('id', '=', restored.id).executeTakeFirst());
      assert.equal(row?.name, 'Scratch');
      assert.equal((await events('project.restored')).length, 1);

      // Deleted again (by its owner this time), then left past its 30 days.
      assert.equal((await post('/acme/scratch/-/delete', cookies.owner!, { confirm: 'Scratch' })).statusCode, 303);
      const again = listDeletedProjects(t.dataDir);
      assert.equal(again.length, 1);
      assert.deepEqual(await purgeDeletedProjects(t.context.db, t.dataDir, Date.now() + 29 * DAY), []);
      const purged = await purgeDeletedProjects(t.context.db, t.dataDir, Date.now() + 31 * DAY);
      assert.equal(purged.length, 1);
      assert.equal(existsSync(join(t.dataDir, 'deleted-projects', again[0]!.repoDir)), false);
      assert.equal((await events('project.purged')).length, 1);
      await assert.rejects(
        restoreProject({ db: t.context.db, dataDir: t.dataDir, reposDir: join(t.dataDir, 'repos') }, { label: 'test' }, { orgSlug: 'acme', slug: 'scratch' }),
        /No deleted project/,
      );
    });
  });
}
