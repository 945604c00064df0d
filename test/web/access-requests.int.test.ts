import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { upsertAccount } from '../../src/auth/accounts.ts';
import { buildApp } from '../../src/web/app.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { createTestApp, csrfFrom, login, PASSWORD, type TestApp } from '../helpers/test-app.ts';

const CONFIDENTIAL = '/acme/handbook/policies/incident-response';
const RESTRICTED = '/acme/handbook/policies/salary-bands';
const HOUR = 60 * 60 * 1000;

for (const target of databaseTargets()) {
  describe(`access requests over HTTP (${target.name})`, () => {
    let t: TestApp;
    let app: FastifyInstance;
    let dispose: () => Promise<void>;
    let clock = Date.parse('2026-03-02T09:00:00Z');
    const cookies: Record<string, string> = {};

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      await upsertAccount(t.context.db, { email: 'manager2@acme.test', orgSlug: 'acme', role: 'manager', password: PASSWORD, name: 'Second manager' });
      await upsertAccount(t.context.db, { email: 'member2@acme.test', orgSlug: 'acme', role: 'member', password: PASSWORD, name: 'Second member' });
      await upsertAccount(t.context.db, { email: 'manager@globex.test', orgSlug: 'globex', role: 'manager', password: PASSWORD });
      await upsertAccount(t.context.db, { email: 'admin2@acme.test', orgSlug: 'acme', role: 'admin', password: PASSWORD, name: 'Second admin' });
      // The same context with a clock the tests move (sessions keep real time).
      app = (await buildApp(t.context, { now: () => clock })).app;
      for (const who of ['owner', 'admin', 'admin2', 'manager', 'manager2', 'member', 'member2', 'viewer']) {
        cookies[who] = await login(app, `${who}@acme.test`, PASSWORD);
      }
      cookies.globexManager = await login(app, 'manager@globex.test', PASSWORD);
    });
    after(async () => {
      await app.close();
      await t.close();
      await dispose();
    });
    beforeEach(async () => {
      // Every test starts with no requests or grants and the clock at a fresh morning.
      await asDatabaseOwner(t.context.db, (owner) => owner.deleteFrom('access_requests').execute());
      clock += 7 * 24 * HOUR;
    });

    const get = (url: string, cookie: string) => app.inject({ method: 'GET', url, headers: { cookie } });
    async function post(url: string, cookie: string, fields: Record<string, string> = {}) {
      const csrf = csrfFrom((await get('/acme/-/access-requests', cookie)).body);
      return app.inject({
        method: 'POST',
        url,
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ ...fields, _csrf: csrf }).toString(),
      });
    }
    async function request(who: string, path: string, reason = 'Customer escalation needs the runbook'): Promise<string> {
      clock += 1000; // distinct creation times, so "the newest request" below is this one
      const res = await post('/acme/handbook/-/access-requests', cookies[who]!, { path, reason, ticket: 'SUP-42' });
      assert.equal(res.statusCode, 303, res.body);
      assert.equal(res.headers.location, '/acme/-/access-requests?done=created');
      const row = await asDatabaseOwner(t.context.db, (owner) => owner
        .selectFrom('access_requests')
        .select('id')
        .orderBy('created_at', 'desc')
        .executeTakeFirstOrThrow());
      return row.id;
    }
    const decide = (who: string, id: string, decision: 'approve' | 'deny' = 'approve') =>
      post(`/acme/-/access-requests/${id}/${decision}`, cookies[who]!);
    const grants = async () => (await asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('access_grants').selectAll().execute())).length;

    test('the request form accepts any path and answers the same whether or not a document exists', async () => {
      const form = await get('/acme/handbook/-/access-requests/new?path=policies/incident-response', cookies.member!);
      assert.equal(form.statusCode, 200);
      assert.match(form.body, /value="policies\/incident-response"/);
      assert.doesNotMatch(form.body, /Incident response runbook/);
      const real = await post('/acme/handbook/-/access-requests', cookies.member!, { path: 'policies/incident-response', reason: 'Need it for a ticket' });
      const missing = await post('/acme/handbook/-/access-requests', cookies.member!, { path: 'policies/no-such-thing', reason: 'Need it for a ticket' });
      assert.equal(real.statusCode, 303);
      assert.equal(missing.statusCode, 303);
      assert.equal(real.headers.location, missing.headers.location);
      const mine = await get('/acme/-/access-requests', cookies.member!);
      assert.match(mine.body, /policies\/no-such-thing\.md/);
      assert.match(mine.body, /Pending/);
      assert.doesNotMatch(mine.body, /Incident response runbook/, 'the requester never sees the title');
      assert.doesNotMatch(mine.body, /Waiting for a decision/, 'members approve nothing');
    });

    test('a manager approves; the member reads the confidential page, others still get 404, and after 24 hours it closes', async () => {
      assert.equal((await get(CONFIDENTIAL, cookies.member!)).statusCode, 404);
      const id = await request('member', CONFIDENTIAL);
      const pending = await get('/acme/-/access-requests', cookies.manager!);
      assert.match(pending.body, new RegExp(`data-request-id="${id}"`));
      assert.match(pending.body, /Incident response/, 'approvers see the title of a document they may read');
      clock += 2 * HOUR;
      const approved = await decide('manager', id);
      assert.equal(approved.statusCode, 303);
      assert.equal(approved.headers.location, '/acme/-/access-requests?done=approved');

      const read = await get(CONFIDENTIAL, cookies.member!);
      assert.equal(read.statusCode, 200);
      assert.match(read.body, /Incident response/);
      assert.equal((await get(CONFIDENTIAL, cookies.member2!)).statusCode, 404, 'another member is still refused');
      assert.equal((await get(CONFIDENTIAL, cookies.viewer!)).statusCode, 404);
      assert.equal((await get(RESTRICTED, cookies.member!)).statusCode, 404, 'the grant opens only that document');
      const mine = await get('/acme/-/access-requests', cookies.member!);
      assert.match(mine.body, /Approved/);

      clock += 24 * HOUR - 1000;
      assert.equal((await get(CONFIDENTIAL, cookies.member!)).statusCode, 200, 'still open just before 24 hours');
      clock += 1000;
      assert.equal((await get(CONFIDENTIAL, cookies.member!)).statusCode, 404, 'closed at 24 hours');
      assert.match((await get('/acme/-/access-requests', cookies.member!)).body, /Access ended/);
    });

    test('an organization may set a shorter grant lifetime', async () => {
      const org = await t.context.db.selectFrom('organizations').select('id').where('slug', '=', 'acme').executeTakeFirstOrThrow();
      await t.context.db.updateTable('organizations').set({ access_grant_max_minutes: 60 }).where('id', '=', org.id).execute();
      try {
        const id = await request('member', CONFIDENTIAL);
        await decide('manager', id);
        clock += 59 * 60 * 1000;
        assert.equal((await get(CONFIDENTIAL, cookies.member!)).statusCode, 200);
        clock += 60 * 1000;
        assert.equal((await get(CONFIDENTIAL, cookies.member!)).statusCode, 404);
      } finally {
        await t.context.db.updateTable('organizations').set({ access_grant_max_minutes: 1440 }).where('id', '=', org.id).execute();
      }
    });

    test('nobody approves their own request (403)', async () => {
      const id = await request('manager2', RESTRICTED);
      const admin = await request('admin', 'policies/nothing-here');
      assert.equal((await decide('manager2', id)).statusCode, 403);
      assert.equal((await decide('admin', admin)).statusCode, 403);
      assert.equal(await grants(), 0);
    });

    test("another organization's manager gets 404 and no grant", async () => {
      const id = await request('member', CONFIDENTIAL);
      const res = await app.inject({
        method: 'POST',
        url: `/acme/-/access-requests/${id}/approve`,
        headers: { cookie: cookies.globexManager!, 'content-type': 'application/x-www-form-urlencoded' },
        payload: `_csrf=${encodeURIComponent(csrfFrom((await get('/globex/-/access-requests', cookies.globexManager!)).body))}`,
      });
      assert.equal(res.statusCode, 404);
      assert.equal((await get('/acme/-/access-requests', cookies.globexManager!)).statusCode, 404);
      assert.equal(await grants(), 0);
    });

    test('members, viewers and managers-for-restricted cannot approve (403); managers never see restricted requests', async () => {
      const confidential = await request('member', CONFIDENTIAL);
      const restricted = await request('member', RESTRICTED);
      assert.equal((await decide('member2', confidential)).statusCode, 403);
      assert.equal((await decide('viewer', confidential)).statusCode, 403);
      assert.equal((await decide('manager', restricted)).statusCode, 403);
      const page = (await get('/acme/-/access-requests', cookies.manager!)).body;
      assert.match(page, new RegExp(confidential));
      assert.doesNotMatch(page, new RegExp(restricted));
      assert.doesNotMatch(page, /salary-bands/);
      assert.equal(await grants(), 0);
    });

    test('a restricted document needs two different admins or owners', async () => {
      const id = await request('member', RESTRICTED);
      const first = await decide('admin', id);
      assert.equal(first.statusCode, 303);
      assert.equal(first.headers.location, '/acme/-/access-requests?done=partly');
      assert.equal((await get(RESTRICTED, cookies.member!)).statusCode, 404, 'one approval is not enough');
      assert.equal((await decide('admin', id)).statusCode, 409, 'the same admin twice is refused');
      assert.equal((await get(RESTRICTED, cookies.member!)).statusCode, 404);
      assert.equal(await grants(), 0);
      assert.equal((await decide('owner', id)).statusCode, 303);
      assert.equal((await get(RESTRICTED, cookies.member!)).statusCode, 200);
      assert.equal(await grants(), 1);
    });

    test('approval at 24 h + 1 s is 410 Gone with no grant; at 23 h 59 m it is granted', async () => {
      const late = await request('member', CONFIDENTIAL);
      clock += 24 * HOUR + 1000;
      const gone = await decide('manager', late);
      assert.equal(gone.statusCode, 410);
      assert.equal(await grants(), 0);
      const row = await asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('access_requests').select('status').where('id', '=', late).executeTakeFirstOrThrow());
      assert.equal(row.status, 'expired');
      assert.match((await get('/acme/-/access-requests', cookies.member!)).body, /Expired/);

      const onTime = await request('member', CONFIDENTIAL);
      clock += 23 * HOUR + 59 * 60 * 1000;
      assert.equal((await decide('manager', onTime)).statusCode, 303);
      assert.equal(await grants(), 1);
      assert.equal((await get(CONFIDENTIAL, cookies.member!)).statusCode, 200);
    });

    test('two concurrent approvals give exactly one grant', async () => {
      const id = await request('member', CONFIDENTIAL);
      const [a, b] = await Promise.all([decide('manager', id), decide('manager2', id)]);
      const codes = [a.statusCode, b.statusCode].sort();
      assert.deepEqual(codes, [303, 409]);
      assert.equal(await grants(), 1);
    });

    test('an approver demoted after loading the list cannot approve', async () => {
      const id = await request('member', CONFIDENTIAL);
      const csrf = csrfFrom((await get('/acme/-/access-requests', cookies.manager2!)).body);
      const user = await t.context.db.selectFrom('users').select('id').where('email', '=', 'manager2@acme.test').executeTakeFirstOrThrow();
      // Straight in the database: no session cache is told, so only the in-transaction re-check can catch it.
      await asDatabaseOwner(t.context.db, (owner) => owner.updateTable('memberships').set({ role: 'member' }).where('user_id', '=', user.id).execute());
      try {
        const res = await app.inject({
          method: 'POST',
          url: `/acme/-/access-requests/${id}/approve`,
          headers: { cookie: cookies.manager2!, 'content-type': 'application/x-www-form-urlencoded' },
          payload: `_csrf=${encodeURIComponent(csrf)}`,
        });
        assert.equal(res.statusCode, 403);
        assert.equal(await grants(), 0);
      } finally {
        await asDatabaseOwner(t.context.db, (owner) => owner.updateTable('memberships').set({ role: 'manager' }).where('user_id', '=', user.id).execute());
        t.context.sessions.invalidateUser(user.id);
      }
    });

    test('a denied request grants nothing and shows as denied', async () => {
      const id = await request('member', CONFIDENTIAL);
      assert.equal((await decide('manager', id, 'deny')).statusCode, 303);
      assert.equal((await decide('manager2', id)).statusCode, 409);
      assert.equal(await grants(), 0);
      assert.match((await get('/acme/-/access-requests', cookies.member!)).body, /Denied/);
    });

    test('a member keeps at most 10 requests open: a flood sent at once leaves 10 and refuses the rest with 409', async () => {
      const csrf = csrfFrom((await get('/acme/-/access-requests', cookies.member!)).body);
      const answers = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          app.inject({
            method: 'POST',
            url: '/acme/handbook/-/access-requests',
            headers: { cookie: cookies.member!, 'content-type': 'application/x-www-form-urlencoded' },
            payload: new URLSearchParams({ path: `junk/${i}`, reason: 'flooding the approvers', _csrf: csrf }).toString(),
          }),
        ),
      );
      assert.equal(answers.filter((r) => r.statusCode === 303).length, 10);
      const refused = answers.filter((r) => r.statusCode === 409);
      assert.equal(refused.length, 20);
      assert.match(refused[0]!.body, /already have 10 open access requests/);
      const open = await asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('access_requests').select('id').where('status', '=', 'pending').execute());
      assert.equal(open.length, 10);
      // Another member is not affected; a decision frees a place.
      assert.equal((await post('/acme/handbook/-/access-requests', cookies.member2!, { path: CONFIDENTIAL, reason: 'Need it for a ticket' })).statusCode, 303);
      assert.equal((await decide('admin', open[0]!.id, 'deny')).statusCode, 303);
      assert.equal((await post('/acme/handbook/-/access-requests', cookies.member!, { path: CONFIDENTIAL, reason: 'Need it for a ticket' })).statusCode, 303);
    });

    test("the approvers' list is paged: 205 pending requests are all reachable, 50 a page, oldest first", async () => {
      const [acme, project, member] = await asDatabaseOwner(t.context.db, async (owner) => [
        (await owner.selectFrom('organizations').select('id').where('slug', '=', 'acme').executeTakeFirstOrThrow()).id,
        (await owner.selectFrom('projects').select('id').where('slug', '=', 'handbook').executeTakeFirstOrThrow()).id,
        (await owner.selectFrom('users').select('id').where('email', '=', 'member@acme.test').executeTakeFirstOrThrow()).id,
      ]);
      // Written straight in the database, as a flood from before the limit would have left them.
      await asDatabaseOwner(t.context.db, (owner) =>
        owner
          .insertInto('access_requests')
          .values(
            Array.from({ length: 205 }, (_, i) => ({
              org_id: acme,
              project_id: project,
              path: 'policies/incident-response.md',
              requester_id: member,
              reason: `queued request ${i}`,
              created_at: new Date(clock - HOUR + i * 1000),
              expires_at: new Date(clock + 23 * HOUR),
            })),
          )
          .execute(),
      );
      const seen: string[] = [];
      for (let page = 1; page <= 5; page++) {
        const body = (await get(`/acme/-/access-requests?page=${page}`, cookies.manager!)).body;
        const ids = [...body.matchAll(/data-request-id="([0-9a-f-]{36})"/g)].map((m) => m[1]!);
        assert.equal(ids.length, page < 5 ? 50 : 5, `page ${page}`);
        assert.match(body, new RegExp(`Page ${page} of 5`));
        if (page < 5) assert.match(body, new RegExp(`href="/acme/-/access-requests\\?page=${page + 1}"`));
        seen.push(...ids);
      }
      assert.equal(new Set(seen).size, 205, 'every request on exactly one page');
      assert.match((await get('/acme/-/access-requests', cookies.manager!)).body, /queued request 0</);
      assert.doesNotMatch((await get('/acme/-/access-requests', cookies.manager!)).body, /queued request 50</);
    });

    /** An admin changes the incident runbook's classification in the browser editor, adding a line of text. */
    /**
     * Reclassifies the incident runbook as a change request (protected main: restricted and confidential documents
     * change only through one): proposed by an admin in the editor, approved by two others, merged.
     */
    async function reclassify(from: string, to: string) {
      const editUrl = '/acme/handbook/-/edit/policies/incident-response.md';
      const page = await get(editUrl, cookies.admin!);
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /data-review-required/, 'the editor offers only "Propose change"');
      const source = /<textarea[^>]*name="content"[^>]*>([\s\S]*?)<\/textarea>/.exec(page.body)![1]!.replace(/^\n/, '').replace(/&amp;/g, '&');
      assert.match(source, new RegExp(`classification: ${from}`));
      const base = /name="base" value="([0-9a-f]{40})"/.exec(page.body)![1]!;
      const content = `${source.replace(`classification: ${from}`, `classification: ${to}`)}\nNow ${to}.\n`;
      const form = (cookie: string, fields: Record<string, string>) => ({
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ _csrf: csrfFrom(page.body), ...fields }).toString(),
      });
      const proposed = await app.inject({ method: 'POST', url: '/acme/handbook/-/propose/policies/incident-response.md', ...form(cookies.admin!, { base, content, message: `Reclassify ${to}` }) });
      assert.equal(proposed.statusCode, 303, proposed.body);
      const change = /\/-\/changes\/(\d+)/.exec(proposed.headers.location as string)![1]!;
      const csrfOf = async (who: string) => csrfFrom((await get(`/acme/handbook/-/changes/${change}`, cookies[who]!)).body);
      for (const who of ['owner', 'admin2']) {
        const approved = await app.inject({ method: 'POST', url: `/acme/handbook/-/changes/${change}/approve`, headers: { cookie: cookies[who]!, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ _csrf: await csrfOf(who) }).toString() });
        assert.equal(approved.statusCode, 303, approved.body);
      }
      const merged = await app.inject({ method: 'POST', url: `/acme/handbook/-/changes/${change}/merge`, headers: { cookie: cookies.admin!, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ _csrf: await csrfOf('admin') }).toString() });
      assert.equal(merged.statusCode, 303, merged.body);
      await t.context.branchMoves.idle();
      // Recorded as a classification change with both values, beside the merge.
      const events = await asDatabaseOwner(t.context.db, (owner) =>
        owner.selectFrom('audit_events').select(['action', 'details', 'target_label']).orderBy('seq', 'desc').limit(2).execute(),
      );
      const changed = events.find((e) => e.action === 'document.classification_changed');
      assert.ok(changed, JSON.stringify(events));
      const details = (typeof changed.details === 'string' ? JSON.parse(changed.details) : changed.details) as Record<string, unknown>;
      assert.equal(details.from, from);
      assert.equal(details.to, to);
      assert.equal(changed.target_label, 'policies/incident-response.md');
      assert.ok(events.some((e) => e.action === 'change_request.merged'));
    }

    test('a grant approved for confidential ends when the document is reclassified restricted; the member may ask again', async () => {
      const id = await request('member', CONFIDENTIAL);
      assert.equal((await decide('manager', id)).statusCode, 303);
      assert.equal((await get(CONFIDENTIAL, cookies.member!)).statusCode, 200);
      await reclassify('confidential', 'restricted');
      try {
        const after = await get(CONFIDENTIAL, cookies.member!);
        assert.equal(after.statusCode, 404, 'the confidential grant does not open the restricted document');
        assert.doesNotMatch(after.body, /CONFIDENTIAL-BODY-MARKER|Now restricted/);
        assert.match((await get('/acme/-/access-requests', cookies.member!)).body, /Access ended/);
        // A new request follows the restricted rule: a manager cannot approve it, two admins or owners must.
        const again = await request('member', CONFIDENTIAL);
        assert.equal((await decide('manager', again)).statusCode, 403);
        assert.equal((await decide('admin', again)).statusCode, 303);
        assert.equal((await get(CONFIDENTIAL, cookies.member!)).statusCode, 404, 'one approval is not enough');
        assert.equal((await decide('owner', again)).statusCode, 303);
        assert.match((await get(CONFIDENTIAL, cookies.member!)).body, /Now restricted/);
      } finally {
        await reclassify('restricted', 'confidential');
      }
    });

    test('outsiders get 404 for the form and anonymous readers are sent to sign in', async () => {
      const globexMember = await login(app, 'member@globex.test', PASSWORD);
      assert.equal((await get('/acme/handbook/-/access-requests/new', globexMember)).statusCode, 404);
      assert.equal((await get('/acme/-/access-requests', globexMember)).statusCode, 404);
      const anonymous = await app.inject({ method: 'GET', url: '/acme/-/access-requests' });
      assert.equal(anonymous.statusCode, 303);
    });
  });
}
