import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { EffectiveVersions } from '../../src/evidence/effective-versions.ts';
import { findProject, type ProjectRecord } from '../../src/projects/projects.ts';
import { buildApp } from '../../src/web/app.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { createTestApp, login, PASSWORD, type TestApp } from '../helpers/test-app.ts';
import { commitThroughProtocol } from './helpers.ts';

const BASE = '/acme/handbook';
const DAY = 24 * 60 * 60 * 1000;
const TRAVEL = 'policies/travel.md';
const MERGER = 'policies/merger-plan.md';
const HOLIDAY = 'news/holiday-hours.md';
const NEWCOMER = 'policies/remote-work.md';

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const doc = (title: string, body: string, extra = '') => `---\ntitle: ${title}\n${extra}---\n\n${body}\n`;

for (const target of databaseTargets()) {
  describe(`effective dates and the project as of a date (${target.name})`, () => {
    let t: TestApp;
    let app: FastifyInstance;
    let dispose: () => Promise<void>;
    let project: ProjectRecord;
    // noon today, so that "today" and the days around it do not depend on when the test runs
    const start = Math.floor(Date.now() / DAY) * DAY + 12 * 60 * 60 * 1000;
    let clock = start;
    const commits: Record<string, string> = {};
    const cookies: Record<string, string> = {};

    const get = (url: string, cookie?: string) => app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} });
    const at = (offsetDays: number) => day(start + offsetDays * DAY);

    /** Record that the published branch reached `commit` on that day (as if the move had been made then). */
    async function publishedOn(commit: string | null, offsetDays: number) {
      await asDatabaseOwner(t.context.db, async (owner) => {
        let update = owner.updateTable('branch_moves').set({ created_at: new Date(start + offsetDays * DAY) }).where('project_id', '=', project.id);
        if (commit !== null) update = update.where('new_commit', '=', commit);
        await update.execute();
      });
    }

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      project = (await findProject(t.context.db, 'acme', 'handbook'))!;
      app = (await buildApp(t.context, { reviewNow: () => clock })).app;
      for (const role of ['manager', 'member']) cookies[role] = await login(app, `${role}@acme.test`, PASSWORD);
      await publishedOn(null, -300); // the import
      commits.v1 = await commitThroughProtocol(t, project, { [TRAVEL]: doc('Travel policy', 'TRAVEL-V1'), [MERGER]: doc('Merger plan', 'MERGER-THEN-INTERNAL') }, 'v1');
      await publishedOn(commits.v1, -200);
      commits.v2 = await commitThroughProtocol(
        t,
        project,
        { [TRAVEL]: doc('Travel policy', 'TRAVEL-V2'), [MERGER]: doc('Merger plan', 'MERGER-NOW-CONFIDENTIAL', 'classification: confidential\n') },
        'v2',
      );
      await publishedOn(commits.v2, -100);
      commits.holiday1 = await commitThroughProtocol(t, project, { [HOLIDAY]: doc('Holiday hours', 'HOLIDAY-V1', 'classification: public\n') }, 'holiday v1');
      await publishedOn(commits.holiday1, -20);
      // upcoming versions, published five days ago, taking effect in ten days (and a new document in twenty)
      commits.v3 = await commitThroughProtocol(
        t,
        project,
        {
          [TRAVEL]: doc('Travel policy', 'TRAVEL-V3', `effective: ${at(10)}\n`),
          [HOLIDAY]: doc('Holiday hours', 'HOLIDAY-V2', `classification: public\neffective: ${at(10)}\n`),
          [NEWCOMER]: doc('Remote work', 'REMOTE-WORK-NEW', `effective: ${at(20)}\n`),
        },
        'v3, effective later',
      );
      await publishedOn(commits.v3, -5);
    });
    after(async () => {
      await app.close();
      await t.close();
      await dispose();
    });

    test('an upcoming version: readers keep the version in effect, with a notice and the redline; on its date it takes effect, without a restart', async () => {
      clock = start;
      const before = await get(`${BASE}/policies/travel`, cookies.member);
      assert.equal(before.statusCode, 200);
      assert.ok(before.body.includes('TRAVEL-V2') && !before.body.includes('TRAVEL-V3'));
      assert.match(before.body, new RegExp(`A new version takes effect on <time datetime="${at(10)}">`));
      assert.ok(before.body.includes(`href="${BASE}/-/compare/${commits.v2}..${commits.v3}/${TRAVEL}"`), 'the redline of what changes');
      const redline = await get(`${BASE}/-/compare/${commits.v2}..${commits.v3}/${TRAVEL}`, cookies.member);
      assert.equal(redline.statusCode, 200);
      assert.ok(redline.body.includes('TRAVEL-V3'));

      clock = start + 9 * DAY;
      assert.ok((await get(`${BASE}/policies/travel`, cookies.member)).body.includes('TRAVEL-V2'), 'the day before: still in effect');
      clock = start + 10 * DAY;
      const after = await get(`${BASE}/policies/travel`, cookies.member);
      assert.ok(after.body.includes('TRAVEL-V3') && !after.body.includes('TRAVEL-V2'));
      assert.ok(!after.body.includes('A new version takes effect'));
    });

    test('cached anonymous pages change at the switch too', async () => {
      clock = start;
      const first = await get(`${BASE}/news/holiday-hours`);
      assert.equal(first.statusCode, 200);
      assert.ok(first.body.includes('HOLIDAY-V1'));
      assert.ok((await get(`${BASE}/news/holiday-hours`)).body.includes('HOLIDAY-V1'), 'served from the cache');
      clock = start + 10 * DAY;
      const switched = await get(`${BASE}/news/holiday-hours`);
      assert.ok(switched.body.includes('HOLIDAY-V2') && !switched.body.includes('HOLIDAY-V1'));
    });

    test('a new document taking effect later is missing until its date', async () => {
      clock = start;
      assert.equal((await get(`${BASE}/policies/remote-work`, cookies.member)).statusCode, 404);
      assert.ok(!(await get(`${BASE}/policies/`, cookies.member)).body.includes('Remote work'), 'not in the navigation');
      clock = start + 20 * DAY;
      const page = await get(`${BASE}/policies/remote-work`, cookies.member);
      assert.equal(page.statusCode, 200);
      assert.ok(page.body.includes('REMOTE-WORK-NEW'));
    });

    test('as of a date: the whole project then, with a banner and navigation within that day', async () => {
      clock = start;
      const home = await get(`${BASE}/-/at/${at(-150)}/`, cookies.member);
      assert.equal(home.statusCode, 200);
      assert.match(home.body, new RegExp(`As in effect on <time datetime="${at(-150)}">`));
      assert.ok(home.body.includes(`href="${BASE}/-/at/${at(-150)}/policies/travel"`), 'navigation links stay on that day');
      const v1 = await get(`${BASE}/-/at/${at(-150)}/policies/travel`, cookies.member);
      assert.equal(v1.statusCode, 200);
      assert.ok(v1.body.includes('TRAVEL-V1') && !v1.body.includes('TRAVEL-V2'));
      assert.ok(v1.body.includes(`href="${BASE}/policies/travel"`), 'a link to the page as in effect today');
      assert.ok((await get(`${BASE}/-/at/${at(-50)}/policies/travel`, cookies.member)).body.includes('TRAVEL-V2'));
      // five days ago v3 was published but not in effect: v2, with the notice
      const pending = await get(`${BASE}/-/at/${at(-1)}/policies/travel`, cookies.member);
      assert.ok(pending.body.includes('TRAVEL-V2') && pending.body.includes('A new version takes effect'));
      // before the document existed; before the project existed; a day to come; no such day
      assert.equal((await get(`${BASE}/-/at/${at(-250)}/policies/travel`, cookies.member)).statusCode, 404);
      assert.equal((await get(`${BASE}/-/at/${at(-250)}/`, cookies.member)).statusCode, 200);
      assert.equal((await get(`${BASE}/-/at/${at(-301)}/`, cookies.member)).statusCode, 404);
      assert.equal((await get(`${BASE}/-/at/${at(-301)}/policies/travel`, cookies.member)).statusCode, 404);
      assert.equal((await get(`${BASE}/-/at/${at(1)}/`, cookies.member)).statusCode, 404);
      assert.equal((await get(`${BASE}/-/at/2026-02-30/`, cookies.member)).statusCode, 404);
      assert.equal((await get(`${BASE}/-/at/yesterday/`, cookies.member)).statusCode, 404);
      // effective dates apply on that day too
      clock = start + 30 * DAY;
      assert.ok((await get(`${BASE}/-/at/${at(12)}/policies/travel`, cookies.member)).body.includes('TRAVEL-V3'));
      assert.equal((await get(`${BASE}/-/at/${at(12)}/policies/remote-work`, cookies.member)).statusCode, 404);
      assert.equal((await get(`${BASE}/-/at/${at(21)}/policies/remote-work`, cookies.member)).statusCode, 200);
    });

    test("as of a date, under today's access rules: internal then, confidential now, is missing for a member; a manager's read is audited", async () => {
      clock = start;
      const url = `${BASE}/-/at/${at(-150)}/policies/merger-plan`;
      const member = await get(url, cookies.member);
      const missing = await get(`${BASE}/-/at/${at(-150)}/policies/no-such-plan`, cookies.member);
      assert.equal(member.statusCode, 404);
      assert.equal(missing.statusCode, 404);
      assert.equal(member.body.replace(/[0-9a-f-]{36}/g, ''), missing.body.replace(/[0-9a-f-]{36}/g, ''), 'the same answer as a missing document');
      for (const page of [member, await get(`${BASE}/-/at/${at(-150)}/policies/`, cookies.member), await get(`${BASE}/-/at/${at(-150)}/`, cookies.member)]) {
        assert.ok(!page.body.includes('Merger plan') && !page.body.includes('MERGER-'), 'no title or text anywhere');
      }
      const reads = async () =>
        (await asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('audit_events').select('target_label').where('action', '=', 'document.read').execute())).filter(
          (e) => e.target_label === MERGER,
        ).length;
      const before = await reads();
      const manager = await get(url, cookies.manager);
      assert.equal(manager.statusCode, 200);
      assert.ok(manager.body.includes('MERGER-THEN-INTERNAL'));
      assert.equal(await reads(), before + 1, 'read like a confidential document today: audited');
    });

    test('versionInEffectAt answers the evidence pack: the version in effect at the end of a day', async () => {
      clock = start;
      const versions = new EffectiveVersions(t.context.db, t.context.publisher, t.context.repositories, () => clock);
      const repository = await t.context.repositories.get(project);
      const blobAt = async (commit: string) => (await repository.entryAt(commit, TRAVEL))!.oid;
      assert.equal((await versions.versionInEffectAt(project, TRAVEL, at(-150)))?.blobId, await blobAt(commits.v1!));
      assert.equal((await versions.versionInEffectAt(project, TRAVEL, at(-1)))?.blobId, await blobAt(commits.v2!));
      assert.equal(await versions.versionInEffectAt(project, TRAVEL, at(-250)), null);
      assert.equal(await versions.commitAt(project, at(-301)), null);
    });
  });
}
