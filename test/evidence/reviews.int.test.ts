import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { runGit } from '../../src/git/run.ts';
import { findProject, type ProjectRecord } from '../../src/projects/projects.ts';
import { buildApp } from '../../src/web/app.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { createTestApp, csrfFrom, login, PASSWORD, type TestApp } from '../helpers/test-app.ts';
import { commitThroughProtocol, headOf } from './helpers.ts';
import { nextReviewDue, ReviewChanges, Reviews } from '../../src/evidence/reviews.ts';

const BASE = '/acme/handbook';
const DAY = 24 * 60 * 60 * 1000;
const CADENCE_PATH = 'policies/access-review.md';
const CADENCE_URL = `${BASE}/policies/access-review`;
const SECRET_PATH = 'policies/vendor-risk.md';
const SECRET_MARKER = 'VENDOR-RISK-CONFIDENTIAL-MARKER';

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

describe('the next review date (pure)', () => {
  const year = { count: 12, unit: 'month' as const };
  test('review_every counts from the last review, of either kind', () => {
    assert.equal(nextReviewDue({ reviewBy: null, reviewEvery: year, lastReviewed: new Date('2026-01-31T10:00:00Z'), lastMarked: null }), '2027-01-31');
    assert.equal(nextReviewDue({ reviewBy: null, reviewEvery: year, lastReviewed: null, lastMarked: null }), null);
  });
  test('review_by is met by a "Mark reviewed" from 30 days before it on; a change keeping the date does not meet it', () => {
    const base = { reviewBy: '2026-06-30', reviewEvery: null };
    assert.equal(nextReviewDue({ ...base, lastReviewed: new Date('2026-06-20T00:00:00Z'), lastMarked: null }), '2026-06-30');
    assert.equal(nextReviewDue({ ...base, lastReviewed: new Date('2026-06-20T00:00:00Z'), lastMarked: new Date('2026-06-20T00:00:00Z') }), null);
    assert.equal(nextReviewDue({ ...base, lastReviewed: new Date('2026-05-01T00:00:00Z'), lastMarked: new Date('2026-05-01T00:00:00Z') }), '2026-06-30');
    assert.equal(nextReviewDue({ ...base, lastReviewed: new Date('2026-07-02T00:00:00Z'), lastMarked: null }), '2026-06-30', 'a change after the date');
    assert.equal(nextReviewDue({ ...base, lastReviewed: new Date('2026-07-02T00:00:00Z'), lastMarked: new Date('2026-07-02T00:00:00Z') }), null, 'marked late');
    // both: the earlier unmet date
    assert.equal(nextReviewDue({ reviewBy: '2026-06-30', reviewEvery: { count: 1, unit: 'month' }, lastReviewed: new Date('2026-03-01T00:00:00Z'), lastMarked: null }), '2026-04-01');
  });
});

for (const target of databaseTargets()) {
  describe(`review cadence (${target.name})`, () => {
    let t: TestApp;
    let app: FastifyInstance;
    let dispose: () => Promise<void>;
    let project: ProjectRecord;
    const start = Date.now();
    let clock = start;
    const cookies: Record<string, string> = {};

    const get = (url: string, cookie: string) => app.inject({ method: 'GET', url, headers: { cookie } });
    const post = (url: string, cookie: string, fields: Record<string, string>) =>
      app.inject({ method: 'POST', url, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: form(fields) });
    const csrfOf = async (cookie: string) => csrfFrom((await get(`${BASE}/`, cookie)).body);

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      project = (await findProject(t.context.db, 'acme', 'handbook'))!;
      // The same context with a clock the tests move (sessions keep real time).
      app = (await buildApp(t.context, { reviewNow: () => clock })).app;
      for (const role of ['owner', 'manager', 'member', 'viewer']) cookies[role] = await login(app, `${role}@acme.test`, PASSWORD);
      cookies.globex = await login(app, 'member@globex.test', PASSWORD);
      await commitThroughProtocol(
        t,
        project,
        {
          [CADENCE_PATH]: '---\ntitle: Access review\nreview_every: 12 months\n---\n\nQuarterly access review.\n',
          [SECRET_PATH]: `---\ntitle: ${SECRET_MARKER}\nclassification: confidential\nreview_by: ${day(start + 10 * DAY)}\n---\n\nVendors.\n`,
        },
        'Add documents with a review cadence',
      );
    });
    after(async () => {
      await app.close();
      await t.close();
      await dispose();
    });

    test('a published change counts as a review: the listener records it, by whom and when', async () => {
      const reviews = await reviewsService().reviewsOf(project, CADENCE_PATH);
      assert.equal(reviews.length, 1);
      assert.equal(reviews[0]!.kind, 'change');
      assert.equal(reviews[0]!.commit, await headOf(t, project));
      assert.equal(reviews[0]!.reviewer, 'author@test');
    });

    test('editors see when the next review is due; viewers see nothing; a year later it is overdue', async () => {
      clock = start;
      const member = await get(CADENCE_URL, cookies.member!);
      assert.equal(member.statusCode, 200);
      assert.match(member.body, /Next review <time datetime="(\d{4}-\d{2}-\d{2})">/);
      assert.ok(member.body.includes('Mark reviewed — no changes'));
      assert.ok(!member.body.includes('Review overdue'));
      const viewer = await get(CADENCE_URL, cookies.viewer!);
      assert.equal(viewer.statusCode, 200);
      assert.ok(!viewer.body.includes('review-banner'), 'a viewer may not edit: no review box');

      clock = start + 400 * DAY; // no restart: the same app, a later day
      const overdue = await get(CADENCE_URL, cookies.member!);
      assert.match(overdue.body, /Review overdue<\/span> since <time datetime="(\d{4}-\d{2}-\d{2})">/);
      const list = await get('/acme/-/reviews', cookies.member!);
      assert.equal(list.statusCode, 200);
      assert.match(list.body, new RegExp(`<tr data-path="${CADENCE_PATH}" data-state="overdue">`));
    });

    test('hidden = missing: a confidential document is in no list, box or answer for a member', async () => {
      clock = start;
      const managerList = await get('/acme/-/reviews', cookies.manager!);
      assert.ok(managerList.body.includes(SECRET_MARKER), 'the manager may read it: listed as due within 30 days');
      assert.match(managerList.body, new RegExp(`<tr data-path="${SECRET_PATH}" data-state="upcoming">`));
      const memberList = await get('/acme/-/reviews', cookies.member!);
      assert.ok(!memberList.body.includes(SECRET_MARKER) && !memberList.body.includes(SECRET_PATH));
      const csrf = await csrfOf(cookies.member!);
      const hidden = await post(`${BASE}/-/review`, cookies.member!, { _csrf: csrf, path: SECRET_PATH });
      const missing = await post(`${BASE}/-/review`, cookies.member!, { _csrf: csrf, path: 'policies/no-such-document.md' });
      assert.equal(hidden.statusCode, 404);
      assert.equal(missing.statusCode, 404);
      assert.equal(hidden.body.replace(/[0-9a-f-]{36}/g, ''), missing.body.replace(/[0-9a-f-]{36}/g, ''), 'the same answer as a missing document');
      // the list is for those who may edit: a viewer, another organization's member and nobody signed in get no list
      assert.equal((await get('/acme/-/reviews', cookies.viewer!)).statusCode, 404);
      assert.equal((await get('/acme/-/reviews', cookies.globex!)).statusCode, 404);
      assert.equal((await app.inject({ method: 'GET', url: '/acme/-/reviews' })).statusCode, 303);
      // a viewer may read but not edit: refused; another organization's member: the project does not exist
      assert.equal((await post(`${BASE}/-/review`, cookies.viewer!, { _csrf: await csrfOf(cookies.viewer!), path: CADENCE_PATH })).statusCode, 403);
      const outsider = await post(`${BASE}/-/review`, cookies.globex!, { _csrf: csrfFrom((await get('/', cookies.globex!)).body), path: CADENCE_PATH });
      assert.equal(outsider.statusCode, 404);
      assert.equal((await post(`${BASE}/-/review`, cookies.member!, { path: CADENCE_PATH })).statusCode, 403, 'no CSRF token');
    });

    test('"Mark reviewed — no changes" makes an empty commit with a Reviewed-by trailer, an audit event and a review', async () => {
      clock = start + 400 * DAY;
      const before = await headOf(t, project);
      const marked = await post(`${BASE}/-/review`, cookies.member!, { _csrf: await csrfOf(cookies.member!), path: CADENCE_PATH });
      assert.equal(marked.statusCode, 303, marked.body);
      assert.equal(marked.headers.location, CADENCE_URL);
      const head = await headOf(t, project);
      assert.notEqual(head, before);
      const repository = await t.context.repositories.get(project);
      const commit = await repository.readCommit(head);
      assert.deepEqual(commit.parents, [before]);
      assert.equal(commit.tree, (await repository.readCommit(before)).tree, 'an empty commit: the text did not change');
      assert.match(commit.message, /\n\nReviewed-by: Acme member <member@acme\.test>\n?$/);
      // git log shows it
      const log = (await runGit({ gitDir: repository.path, args: ['log', '-1', '--format=%B', 'main'] })).stdout.toString('utf8');
      assert.match(log, /Reviewed-by: Acme member <member@acme\.test>/);
      const events = await asDatabaseOwner(t.context.db, (owner) =>
        owner.selectFrom('audit_events').selectAll().where('action', '=', 'document.reviewed').execute(),
      );
      assert.equal(events.length, 1);
      assert.equal(events[0]!.actor_label, 'member@acme.test');
      assert.equal(events[0]!.target_label, CADENCE_PATH);
      assert.equal((events[0]!.details as { commit: string }).commit, head);
      const moves = await asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('branch_moves').select(['kind', 'new_commit']).where('new_commit', '=', head).execute());
      assert.deepEqual(moves, [{ kind: 'review', new_commit: head }]);
      const reviews = await reviewsService().reviewsOf(project, CADENCE_PATH);
      assert.equal(reviews[0]!.kind, 'marked');
      assert.equal(reviews[0]!.commit, head);
      assert.equal(reviews[0]!.at.getTime(), clock, 'recorded at the (injected) time of the review');
      // no longer overdue: the next review is a year after this one
      const page = await get(CADENCE_URL, cookies.member!);
      assert.ok(!page.body.includes('Review overdue'));
      const nextYear = new Date(clock);
      nextYear.setUTCFullYear(nextYear.getUTCFullYear() + 1);
      assert.ok(page.body.includes(`Next review <time datetime="${day(nextYear.getTime())}">`), 'due a year after the review');
      const list = await get('/acme/-/reviews', cookies.member!);
      assert.ok(!list.body.includes(`data-path="${CADENCE_PATH}"`));
    });

    test('every later change of the document is another review; a change of another document is not', async () => {
      const commit = await commitThroughProtocol(t, project, { [CADENCE_PATH]: '---\ntitle: Access review\nreview_every: 12 months\n---\n\nMonthly access review.\n' }, 'Monthly');
      await commitThroughProtocol(t, project, { 'policies/other.md': '# Other\n' }, 'Another document');
      const reviews = await reviewsService().reviewsOf(project, CADENCE_PATH);
      assert.deepEqual(reviews.map((r) => r.kind).sort(), ['change', 'change', 'marked']);
      assert.ok(reviews.some((r) => r.kind === 'change' && r.commit === commit));
    });

    test('a "Mark reviewed" whose record was lost in a crash is written again from its commit when recovery replays the move; a push is never one', async () => {
      const marked = (await reviewsService().reviewsOf(project, CADENCE_PATH)).find((r) => r.kind === 'marked')!;
      await asDatabaseOwner(t.context.db, (owner) => owner.deleteFrom('document_reviews').where('commit_id', '=', marked.commit).execute());
      assert.equal((await reviewsService().reviewsOf(project, CADENCE_PATH)).some((r) => r.kind === 'marked'), false);
      const listener = new ReviewChanges(t.context.db, t.context.repositories);
      const event = {
        id: '999999',
        orgId: project.orgId,
        projectId: project.id,
        ref: 'refs/heads/main',
        oldCommit: null,
        newCommit: marked.commit,
        changedPaths: [],
        pathsTruncated: false,
        recovered: true,
        at: new Date(clock).toISOString(),
        actor: { type: 'user' as const, id: marked.reviewerId!, label: 'member@acme.test' },
      };
      // the same empty commit pushed by someone is no review of anything
      await listener.handle({ ...event, kind: 'push' });
      assert.equal((await reviewsService().reviewsOf(project, CADENCE_PATH)).some((r) => r.kind === 'marked'), false);
      await listener.handle({ ...event, kind: 'review' });
      await listener.handle({ ...event, kind: 'review' }); // at least once: no second row
      const recovered = (await reviewsService().reviewsOf(project, CADENCE_PATH)).filter((r) => r.kind === 'marked');
      assert.equal(recovered.length, 1);
      assert.equal(recovered[0]!.commit, marked.commit);
      assert.equal(recovered[0]!.reviewerId, marked.reviewerId);
    });

    /** The service the app uses, on the same database (reviewsOf takes no actor: its callers authorize). */
    function reviewsService(): Reviews {
      return new Reviews(t.context.db, t.context.repositories, t.context.branchMoves, (id) => t.context.publisher.snapshotOf(id), () => clock);
    }
  });
}
