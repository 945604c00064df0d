import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { withOrg } from '../../src/db/connection.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { createTestApp, csrfFrom, type TestApp } from '../helpers/test-app.ts';

/**
 * The route-opening helper (src/web/open-resource.ts) through the real routes that use it: an unknown slug, an
 * organization the reader is not in and a page their role does not open answer byte for byte alike (but the
 * request id), for GET and POST; nobody signed in is sent to sign in.
 */
const withoutIds = (body: string) => body.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, 'ID').replace(/req-[0-9a-z-]+/g, 'REQ');

/** Pages whose organization is in the address: `{org}` is replaced by acme (known) or nope (unknown). */
const ORG_PAGES = ['/{org}/-/members', '/{org}/-/settings', '/{org}/-/audit', '/{org}/-/evidence', '/{org}/-/projects/new', '/{org}/-/access-requests'];
const PROJECT_PAGES = ['/{org}/{project}/-/settings', '/{org}/{project}/-/clone', '/{org}/{project}/-/access-requests/new'];
const ORG_POSTS = ['/{org}/-/members/00000000-0000-4000-8000-000000000000/remove', '/{org}/-/invitations', '/{org}/-/settings', '/{org}/-/evidence', '/{org}/-/projects'];
const PROJECT_POSTS = ['/{org}/{project}/-/settings', '/{org}/{project}/-/delete', '/{org}/{project}/-/access-requests'];

for (const target of databaseTargets()) {
  describe(`opening an organization or project (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    const cookies: Record<'globex' | 'viewer' | 'admin', string> = { globex: '', viewer: '', admin: '' };

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      cookies.globex = await t.login('member@globex.test');
      cookies.viewer = await t.login('viewer@acme.test');
      cookies.admin = await t.login('admin@acme.test');
    });
    after(async () => {
      await t.close();
      await dispose();
    });

    const get = (url: string, cookie?: string) => t.app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} });
    async function post(url: string, cookie: string) {
      const csrf = csrfFrom((await get('/', cookie)).body);
      return t.app.inject({ method: 'POST', url, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ _csrf: csrf }).toString() });
    }
    const at = (page: string, org: string, project = 'handbook') => page.replace('{org}', org).replace('{project}', project);

    test('GET: an outsider at a known organization sees what anyone sees at an unknown one', async () => {
      for (const page of [...ORG_PAGES, ...PROJECT_PAGES]) {
        const hidden = await get(at(page, 'acme'), cookies.globex);
        const unknown = await get(at(page, 'nope'), cookies.globex);
        const noProject = page.includes('{project}') ? await get(at(page, 'acme', 'no-such-project'), cookies.globex) : unknown;
        assert.equal(hidden.statusCode, 404, page);
        assert.equal(unknown.statusCode, 404, page);
        assert.equal(withoutIds(hidden.body), withoutIds(unknown.body), page);
        assert.equal(withoutIds(noProject.body), withoutIds(unknown.body), page);
      }
    });

    test("GET: a member on an admin page sees the same 404 as on a page that does not exist", async () => {
      for (const page of ['/{org}/-/members', '/{org}/-/settings', '/{org}/-/audit', '/{org}/-/evidence', '/{org}/-/projects/new', '/{org}/{project}/-/settings']) {
        const hidden = await get(at(page, 'acme'), cookies.viewer);
        const missing = await get(at(page, 'acme', 'no-such-project').replace('/-/', '/-/no-such-page-'), cookies.viewer);
        assert.equal(hidden.statusCode, 404, page);
        assert.equal(withoutIds(hidden.body), withoutIds(missing.body), page);
      }
    });

    test('POST: an outsider is refused at a known organization exactly as at an unknown one, and nothing changes', async () => {
      const acmeId = (await t.context.db.selectFrom('organizations').select('id').where('slug', '=', 'acme').executeTakeFirstOrThrow()).id;
      const count = () =>
        withOrg(t.context.db, acmeId, (trx) => trx.selectFrom('audit_events').select((e) => e.fn.countAll<string>().as('n')).where('action', '<>', 'access.denied').executeTakeFirstOrThrow());
      const before_ = await count();
      for (const page of [...ORG_POSTS, ...PROJECT_POSTS]) {
        const hidden = await post(at(page, 'acme'), cookies.globex);
        const unknown = await post(at(page, 'nope'), cookies.globex);
        assert.equal(hidden.statusCode, 404, page);
        assert.equal(unknown.statusCode, 404, page);
        assert.equal(withoutIds(hidden.body), withoutIds(unknown.body), page);
      }
      assert.deepEqual(await count(), before_);
    });

    test('the refusal of an outsider is recorded as access.denied in the organization asked about', async () => {
      await get('/acme/-/members', cookies.globex);
      const acmeId = (await t.context.db.selectFrom('organizations').select('id').where('slug', '=', 'acme').executeTakeFirstOrThrow()).id;
      // recorded off the reply path: wait for it
      for (let i = 0; i < 50; i++) {
        const found = await withOrg(t.context.db, acmeId, (trx) =>
          trx.selectFrom('audit_events').select('id').where('action', '=', 'access.denied').where('actor_label', '=', 'member@globex.test').executeTakeFirst(),
        );
        if (found) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.fail('no access.denied event');
    });

    test('nobody signed in: sent to sign in, for known and unknown organizations alike', async () => {
      for (const page of [...ORG_PAGES, ...PROJECT_PAGES]) {
        for (const org of ['acme', 'nope']) {
          const res = await get(at(page, org));
          assert.equal(res.statusCode, 303, `${page} ${org}`);
          assert.equal(res.headers.location, `/login?next=${encodeURIComponent(at(page, org))}`);
        }
      }
    });

    test('those allowed get the page', async () => {
      for (const page of [...ORG_PAGES, ...PROJECT_PAGES]) {
        assert.equal((await get(at(page, 'acme'), cookies.admin)).statusCode, 200, page);
      }
    });
  });
}
