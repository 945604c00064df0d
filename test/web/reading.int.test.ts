import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { PUBLISHED_BRANCH } from '../../src/content/published-branch.ts';
import { cookieNames } from '../../src/web/cookies.ts';
import { framePage } from '../../src/web/page.ts';
import { PageCache } from '../../src/web/page-cache.ts';
import { renderPage } from '../../src/web/views/index.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { signedInApp } from '../helpers/signed-in-app.ts';
import type { TestApp } from '../helpers/test-app.ts';
import type { TrustedHtml } from '../../src/content/trusted-html.ts';

const DOC = '/acme/handbook/policies/data-handling';
const CONFIDENTIAL = '/acme/handbook/policies/incident-response';
const RESTRICTED = '/acme/handbook/policies/salary-bands';
const PUBLIC = '/acme/handbook/security';

/** A 404 page with its per-request id removed, so two 404s can be compared byte for byte. */
const normalized404 = (body: string) => body.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'ID');

for (const target of databaseTargets()) {
  describe(`reading pages (${target.name})`, () => {
    const signedIn = signedInApp(target);
    const { cookies, get } = signedIn;
    let t: TestApp;
    before(() => {
      t = signedIn.t;
    });

    test('an anonymous reader reads public pages without signing in', async () => {
      const res = await get(PUBLIC);
      assert.equal(res.statusCode, 200);
      assert.match(res.body, /Security overview/);
      assert.match(res.body, /We encrypt everything/);
    });

    test('an anonymous reader is sent to sign in alike for internal and missing pages', async () => {
      const internal = await get(DOC);
      const missing = await get('/acme/handbook/policies/no-such-page');
      const missingOrg = await get('/nope/nothing/at-all');
      for (const res of [internal, missing, missingOrg]) {
        assert.equal(res.statusCode, 303);
        assert.match(res.headers.location as string, /^\/login\?next=/);
      }
      assert.equal(internal.headers.location, `/login?next=${encodeURIComponent(DOC)}`);
    });

    test('an organization address with a trailing slash is missing, not redirected to an empty project', async () => {
      const anonymous = await get('/acme/');
      assert.equal(anonymous.statusCode, 303);
      assert.match(anonymous.headers.location as string, /^\/login\?next=/);
      const member = await get('/acme/', cookies.member);
      assert.equal(member.statusCode, 404);
      const project = await get('/acme/handbook', cookies.member);
      assert.equal(project.statusCode, 301);
      assert.equal(project.headers.location, '/acme/handbook/');
    });

    test('anonymous navigation on a public page lists only public documents', async () => {
      const res = await get(PUBLIC);
      assert.doesNotMatch(res.body, /Data handling/);
      assert.doesNotMatch(res.body, /Incident response runbook/);
      assert.doesNotMatch(res.body, /RESTRICTED-TITLE-MARKER/);
    });

    test('a viewer reads internal pages with the table, the raw div and rewritten links', async () => {
      const res = await get(DOC, cookies.viewer);
      assert.equal(res.statusCode, 200);
      assert.match(res.body, /<table/);
      assert.match(res.body, /<div class="text-muted">Raw HTML passes through the renderer.<\/div>/);
      assert.match(res.body, /href="incident-response#triage"/);
      assert.match(res.body, /Document Navigation/);
      assert.match(res.body, /href="#access-requests"/);
    });

    test('each role reads exactly the classifications it is cleared for', async () => {
      const expected: Record<string, [number, number]> = {
        viewer: [404, 404],
        member: [404, 404],
        manager: [200, 404],
        admin: [200, 200],
        owner: [200, 200],
      };
      for (const [role, [confidential, restricted]] of Object.entries(expected)) {
        assert.equal((await get(CONFIDENTIAL, cookies[role])).statusCode, confidential, `${role} → confidential`);
        assert.equal((await get(RESTRICTED, cookies[role])).statusCode, restricted, `${role} → restricted`);
        assert.equal((await get(DOC, cookies[role])).statusCode, 200, `${role} → internal`);
      }
    });

    test('a hidden document answers exactly like a missing one', async () => {
      const hidden = await get(CONFIDENTIAL, cookies.viewer);
      const missing = await get('/acme/handbook/policies/never-existed', cookies.viewer);
      const missingProject = await get('/acme/no-project/x', cookies.viewer);
      assert.equal(hidden.statusCode, 404);
      assert.equal(normalized404(hidden.body), normalized404(missing.body));
      assert.equal(normalized404(hidden.body), normalized404(missingProject.body));
      assert.doesNotMatch(hidden.body, /CONFIDENTIAL-BODY-MARKER|Incident response runbook/);
    });

    test('navigation never shows titles the reader may not read', async () => {
      const viewer = (await get(DOC, cookies.viewer)).body;
      assert.doesNotMatch(viewer, /Incident response runbook/);
      assert.doesNotMatch(viewer, /RESTRICTED-TITLE-MARKER/);
      assert.doesNotMatch(viewer, /Performance review calibration/);
      const manager = (await get(DOC, cookies.manager)).body;
      assert.match(manager, /Incident response runbook/);
      assert.doesNotMatch(manager, /RESTRICTED-TITLE-MARKER/);
      const admin = (await get(DOC, cookies.admin)).body;
      assert.match(admin, /RESTRICTED-TITLE-MARKER/);
      assert.match(admin, /Performance review calibration/);
    });

    test('a folder holding only restricted documents does not exist for a viewer', async () => {
      assert.equal((await get('/acme/handbook/hr/', cookies.viewer)).statusCode, 404);
      assert.equal((await get('/acme/handbook/hr/', cookies.admin)).statusCode, 200);
      assert.equal((await get('/acme/handbook/hr', cookies.admin)).headers.location, '/acme/handbook/hr/');
    });

    test('tag pages list only readable documents and hide tags with none', async () => {
      const viewer = await get('/acme/handbook/-/tags/policy', cookies.viewer);
      assert.equal(viewer.statusCode, 200);
      assert.match(viewer.body, /Data handling/);
      assert.doesNotMatch(viewer.body, /Incident response runbook|RESTRICTED-TITLE-MARKER/);
      assert.equal((await get('/acme/handbook/-/tags/hr', cookies.viewer)).statusCode, 404);
      assert.equal((await get('/acme/handbook/-/tags/hr', cookies.admin)).statusCode, 200);
    });

    test('a member of another organization gets the same 404 and cannot see the project', async () => {
      const internal = await get(DOC, cookies.globex);
      const missing = await get('/acme/handbook/not-there', cookies.globex);
      assert.equal(internal.statusCode, 404);
      assert.equal(normalized404(internal.body), normalized404(missing.body));
      assert.equal((await get('/acme/handbook/-/tags/policy', cookies.globex)).statusCode, 404);
      const list = await get('/', cookies.globex);
      assert.match(list.body, /Globex Wiki/);
      assert.doesNotMatch(list.body, /Acme Handbook/);
      // Public pages stay public for everyone.
      assert.equal((await get(PUBLIC, cookies.globex)).statusCode, 200);
    });

    test('an acme member cannot read globex pages, even by guessing URLs', async () => {
      const res = await get('/globex/wiki/', cookies.member);
      assert.equal(res.statusCode, 200); // the project has a public page; the home lists only it
      assert.doesNotMatch(res.body, /GLOBEX-INTERNAL-MARKER/);
      assert.match(res.body, /About Globex/);
    });

    test('the project list shows the reader their organization\'s projects only', async () => {
      const anonymous = await get('/');
      assert.equal(anonymous.statusCode, 200);
      assert.doesNotMatch(anonymous.body, /Acme Handbook|Globex Wiki/);
      const member = await get('/', cookies.member);
      assert.match(member.body, /Acme Handbook/);
      assert.doesNotMatch(member.body, /Globex Wiki/);
    });

    test('the project home renders index.md; sections list their documents newest first when dated', async () => {
      const home = await get('/acme/handbook/', cookies.viewer);
      assert.equal(home.statusCode, 200);
      assert.match(home.body, /Welcome to the Acme handbook/);
      assert.match(home.body, /href="policies\/data-handling"/);
      const news = await get('/acme/handbook/news/', cookies.viewer);
      assert.equal(news.statusCode, 200);
      assert.ok(news.body.indexOf('Spring update') < news.body.indexOf('We launched'), 'newest first');
    });

    test('editors see front-matter errors and broken links; readers do not', async () => {
      const member = await get(DOC, cookies.member);
      assert.match(member.body, /missing-page\.md/);
      const viewer = await get(DOC, cookies.viewer);
      assert.doesNotMatch(viewer.body, /missing-page\.md/);
      // Invalid front matter fails closed (restricted) and names file and line for those who may see it.
      assert.equal((await get('/acme/handbook/broken', cookies.member)).statusCode, 404);
      const admin = await get('/acme/handbook/broken', cookies.admin);
      assert.equal(admin.statusCode, 200);
      assert.match(admin.body, /broken\.md:3/);
    });

    test('editors get a project-wide list of source problems; readers and outsiders get 404', async () => {
      const member = await get('/acme/handbook/-/problems', cookies.member);
      assert.equal(member.statusCode, 200);
      assert.match(member.body, /missing-page\.md/);
      assert.doesNotMatch(member.body, /broken\.md/, 'errors of documents the editor cannot read stay hidden');
      const admin = await get('/acme/handbook/-/problems', cookies.admin);
      assert.match(admin.body, /broken\.md:3/);
      assert.match(admin.body, /missing-page\.md/);
      assert.match((await get(DOC, cookies.member)).body, /href="\/acme\/handbook\/-\/problems"/, 'linked from the navigation');
      assert.doesNotMatch((await get(DOC, cookies.viewer)).body, /-\/problems/);
      assert.match((await get(DOC, cookies.member)).body, /href="\/acme\/handbook\/-\/new"/, 'editors can start a new document');
      assert.doesNotMatch((await get(DOC, cookies.viewer)).body, /-\/new"/);
      assert.equal((await get('/acme/handbook/-/problems', cookies.viewer)).statusCode, 404);
      assert.equal((await get('/acme/handbook/-/problems', cookies.globex)).statusCode, 404);
      assert.equal((await get('/acme/handbook/-/problems')).statusCode, 303);
    });

    test('pages behind sign-in are not cached; every response carries the security headers', async () => {
      const res = await get(DOC, cookies.viewer);
      assert.equal(res.headers['cache-control'], 'no-store');
      const csp = String(res.headers['content-security-policy']);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.doesNotMatch(csp, /unsafe-inline/);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.ok(res.headers['referrer-policy']);
      assert.equal(res.headers['x-powered-by'], undefined);
      assert.equal(res.headers.server, undefined);
      assert.doesNotMatch(res.body, /<script(?![^>]*\bsrc=)/);
    });

    test('the stylesheet is served under its content hash', async () => {
      const page = await get(PUBLIC);
      const href = /<link[^>]+href="(\/-\/assets\/app\.[0-9a-f]+\.css)"/.exec(page.body)?.[1];
      assert.ok(href, 'stylesheet link present');
      const css = await get(href);
      assert.equal(css.statusCode, 200);
      assert.match(String(css.headers['content-type']), /text\/css/);
      assert.match(String(css.headers['cache-control']), /immutable/);
      assert.equal((await get('/-/assets/app.0000.css')).statusCode, 404);
    });

    test('cached pages are byte-identical per reader view, with the reader\'s own name and CSRF token', async () => {
      const first = await get(PUBLIC);
      const second = await get(PUBLIC);
      assert.equal(second.body, first.body);
      assert.equal(second.headers['cache-control'], 'no-cache');
      const member = await get(DOC, cookies.member);
      const viewer = await get(DOC, cookies.viewer);
      const viewerAgain = await get(DOC, await t.login('viewer@acme.test'));
      assert.equal(member.headers['cache-control'], 'no-store');
      assert.match(member.body, /Acme member/);
      assert.match(viewer.body, /Acme viewer/);
      assert.doesNotMatch(viewer.body, /Acme member/);
      const token = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
      assert.ok(token(member.body) && token(viewer.body) && token(viewerAgain.body));
      assert.notEqual(token(viewer.body), token(viewerAgain.body));
      assert.notEqual(token(viewer.body), token(member.body));
      // a second session of the same reader: the same page apart from its own CSRF token
      assert.equal(viewerAgain.body.replace(token(viewerAgain.body)!, 'T'), viewer.body.replace(token(viewer.body)!, 'T'));
    });

    test('concurrent requests with one session share its lookup and each get the reader\'s own page; a revoked session reads nothing', async () => {
      const cookie = await t.login('member@acme.test');
      const pages = await Promise.all(Array.from({ length: 12 }, () => get(DOC, cookie)));
      for (const res of pages) {
        assert.equal(res.statusCode, 200);
        assert.equal(res.headers['cache-control'], 'no-store');
        assert.match(res.body, /Acme member/);
        assert.equal(res.body, pages[0]!.body);
      }
      // Anonymous readers arriving together get the public page and nothing of the member's.
      const anonymous = await Promise.all(Array.from({ length: 6 }, () => get(DOC)));
      for (const res of anonymous) assert.equal(res.statusCode, 303);
      const session = cookie.split('; ').map((c) => c.split('=')).find(([name]) => name === cookieNames(false).session)?.[1];
      assert.ok(session, 'session cookie');
      await t.context.sessions.destroy(decodeURIComponent(session));
      const after = await Promise.all(Array.from({ length: 6 }, () => get(DOC, cookie)));
      for (const res of after) assert.equal(res.statusCode, 303);
    });

    test('a commit that changes one document is served at once, other pages stay exact', async () => {
      const project = (await asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('projects').select(['id']).where('slug', '=', 'handbook').executeTakeFirstOrThrow())).id;
      const snapshot = t.context.publisher.snapshotOf(project)!;
      const record = { id: project, orgId: (await asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('projects').select('org_id').where('id', '=', project).executeTakeFirstOrThrow())).org_id, repoDir: `${project}.git` };
      const repository = await t.context.repositories.get(record);
      const path = [...snapshot.documents.keys()].find((p) => p === 'policies/data-handling.md')!;
      const source = (await repository.readBlob(snapshot.documents.get(path)!.blobId)).toString('utf8');
      const before = await get(DOC, cookies.viewer);
      const publicBefore = await get(PUBLIC);
      const head = await repository.resolveCommit(`refs/heads/${PUBLISHED_BRANCH}`);
      await repository.commitFiles({
        branch: PUBLISHED_BRANCH,
        expectedOld: head,
        mode: 'patch',
        changes: [{ path, content: Buffer.from(`${source.trimEnd()}\n\nA freshly committed sentence.\n`) }],
        author: { name: 'Test', email: 'test@acme.test' },
        message: 'Edit',
      });
      await t.context.publisher.publish({ ...(await findRecord(project)) });
      const after = await get(DOC, cookies.viewer);
      assert.match(after.body, /A freshly committed sentence/);
      assert.doesNotMatch(before.body, /A freshly committed sentence/);
      assert.equal((await get(PUBLIC)).body, publicBefore.body);
      // hidden stays hidden after the incremental publish
      const hidden = await get(RESTRICTED, cookies.viewer);
      const missing = await get('/acme/handbook/policies/no-such-page', cookies.viewer);
      assert.equal(hidden.statusCode, 404);
      assert.equal(normalized404(hidden.body), normalized404(missing.body));
    });

    async function findRecord(projectId: string) {
      const { listAllProjects } = await import('../../src/projects/projects.ts');
      return (await listAllProjects(t.context.db)).find((p) => p.id === projectId)!;
    }

    test('every route declares whether it is public or policy-gated', () => {
      assert.ok(t.built.routes.length >= 6);
      for (const route of t.built.routes) assert.ok(route.access === 'public' || route.access === 'policy', `${route.method} ${route.url}`);
    });
  });
}

test('the page frame template writes exactly what renderPage writes', () => {
  const tricky = ['Plain', 'A & B < C > D "quoted" \'single\'', 'Ünïcödé · — 漢字', '&amp; already', '<script>x</script>'];
  for (const title of tricky) {
    for (const user of [null, { name: tricky[1]!, email: 'a"b@example.test' }, { name: title, email: title }]) {
      const frame = { title, body: '<p>body & more</p>' as TrustedHtml, user, csrfToken: user ? `tok"${title}` : null };
      assert.equal(framePage(frame).toString('utf8'), renderPage(frame));
    }
  }
});

test('the page cache keeps what is read and evicts the least recently placed first, within its size', () => {
  const cache = new PageCache(8 * 1024);
  const page = (n: number) => Buffer.alloc(1000, n);
  for (let i = 0; i < 8; i++) cache.set(`p${i}`, page(i));
  assert.equal(cache.size, 8000);
  // p0 is the oldest: reading it moves it to the young end, so p1 goes first when room is needed.
  assert.deepEqual(cache.get('p0'), page(0));
  cache.set('p8', page(8));
  cache.set('p9', page(9));
  assert.ok(cache.size <= 8 * 1024);
  assert.deepEqual(cache.get('p0'), page(0));
  assert.equal(cache.get('p1'), undefined);
  assert.deepEqual(cache.get('p9'), page(9));
  // Replacing an entry counts its new size only; an entry over an eighth of the cache is not kept.
  cache.set('p9', Buffer.alloc(10));
  assert.equal(cache.get('p9')!.length, 10);
  cache.set('huge', Buffer.alloc(2000));
  assert.equal(cache.get('huge'), undefined);
});
