import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { createTestApp, csrfFrom, type TestApp } from '../helpers/test-app.ts';

const HIDDEN = '/acme/handbook/policies/salary-bands';
const MISSING = '/acme/handbook/policies/no-such-page';

for (const target of databaseTargets()) {
  describe(`asking for access from a 404, and the approvers' count (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    const cookies: Record<string, string> = {};

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      for (const who of ['owner', 'admin', 'manager', 'member']) cookies[who] = await t.login(`${who}@acme.test`);
      cookies.globex = await t.login('member@globex.test');
    });
    after(async () => {
      await t.close();
      await dispose();
    });

    const get = (url: string, cookie?: string) => t.app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} });
    /** The page with what differs per request (request ids) taken out. */
    const normalized = (body: string) => body.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, 'ID');

    test('a member’s 404 inside their organization offers to ask for access, identical for hidden and missing documents', async () => {
      const hidden = await get(HIDDEN, cookies.member);
      const missing = await get(MISSING, cookies.member);
      const missingProject = await get('/acme/no-such-project/page', cookies.member);
      assert.equal(hidden.statusCode, 404);
      assert.equal(missing.statusCode, 404);
      assert.match(hidden.body, /<a class="button button-primary" href="\/acme\/-\/access-requests\/ask">Ask for access to this address<\/a>/);
      assert.equal(normalized(hidden.body), normalized(missing.body));
      assert.equal(normalized(hidden.body), normalized(missingProject.body));
      assert.equal(normalized(hidden.body), normalized((await get('/acme/-/members', cookies.member)).body), 'an admin page hidden from a member');
      // Following the link from either page leads to the same request form, the address filled in.
      const forms: string[] = [];
      for (const address of [HIDDEN, MISSING]) {
        const ask = await t.app.inject({
          method: 'GET',
          url: '/acme/-/access-requests/ask',
          headers: { cookie: cookies.member!, referer: `http://localhost:80${address}` },
        });
        assert.equal(ask.statusCode, 303, address);
        assert.equal(ask.headers.location, `/acme/handbook/-/access-requests/new?path=${encodeURIComponent(address)}`);
        const form = await get(String(ask.headers.location), cookies.member);
        assert.equal(form.statusCode, 200);
        assert.ok(form.body.includes(`value="${address}"`));
        forms.push(normalized(form.body).replaceAll(address, 'ADDRESS'));
      }
      assert.equal(forms[0], forms[1]);
      // No offer outside the reader's organizations or to anonymous readers.
      assert.doesNotMatch((await get(HIDDEN, cookies.globex)).body, /Ask for access/);
      assert.doesNotMatch((await get('/-/nothing-here', cookies.member)).body, /Ask for access/);
      assert.doesNotMatch((await get(MISSING)).body, /Ask for access/);
    });

    test('without a usable Referer the member types the address; one outside the organization is refused', async () => {
      const blank = await get('/acme/-/access-requests/ask', cookies.member);
      assert.equal(blank.statusCode, 200);
      assert.match(blank.body, /Ask for access to an address/);
      const typed = await get(`/acme/-/access-requests/ask?address=${encodeURIComponent(`http://elsewhere.test${MISSING}?x=1`)}`, cookies.member);
      assert.equal(typed.headers.location, `/acme/handbook/-/access-requests/new?path=${encodeURIComponent(MISSING)}`);
      const foreign = await get(`/acme/-/access-requests/ask?address=${encodeURIComponent('/globex/wiki/home')}`, cookies.member);
      assert.equal(foreign.statusCode, 400);
      assert.equal((await get('/acme/-/access-requests/ask', cookies.globex)).statusCode, 404);
    });

    test('approvers see how many requests wait for them in the top bar; requesters and decided requests do not count', async () => {
      const before = await get('/', cookies.admin);
      assert.doesNotMatch(before.body, /topbar-count/);
      const form = await get(`/acme/handbook/-/access-requests/new?path=${encodeURIComponent(MISSING)}`, cookies.member);
      const res = await t.app.inject({
        method: 'POST',
        url: '/acme/handbook/-/access-requests',
        headers: { cookie: cookies.member!, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ path: MISSING, reason: 'I was sent this link by a colleague', _csrf: csrfFrom(form.body) }).toString(),
      });
      assert.equal(res.statusCode, 303);
      const stored = await asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('access_requests').select(['path']).execute());
      assert.deepEqual(stored.map((r) => r.path), ['policies/no-such-page.md']);
      // No document at the path: admins and owners decide (restricted), a manager does not.
      for (const who of ['admin', 'owner']) {
        const page = await get('/', cookies[who]);
        assert.match(page.body, /<span class="topbar-count">1<\/span>/, who);
        assert.match(page.body, /href="\/acme\/-\/access-requests#pending-heading"/);
      }
      assert.doesNotMatch((await get('/', cookies.manager)).body, /topbar-count/);
      assert.doesNotMatch((await get('/', cookies.member)).body, /topbar-count/);
      const list = await get('/acme/-/access-requests', cookies.admin);
      const id = /\/acme\/-\/access-requests\/([0-9a-f-]{36})\/deny/.exec(list.body)![1]!;
      const denied = await t.app.inject({
        method: 'POST',
        url: `/acme/-/access-requests/${id}/deny`,
        headers: { cookie: cookies.admin!, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ _csrf: csrfFrom(list.body) }).toString(),
      });
      assert.equal(denied.statusCode, 303);
      assert.doesNotMatch((await get('/', cookies.admin)).body, /topbar-count/, 'the decider’s count drops at once');
    });
  });
}
