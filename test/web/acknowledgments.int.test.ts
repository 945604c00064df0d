import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { upsertAccount } from '../../src/auth/accounts.ts';
import { findProject, type ProjectRecord } from '../../src/projects/projects.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { createToken } from '../../src/auth/tokens.ts';
import { cookiesOf, createTestApp, csrfFrom, PASSWORD, type TestApp } from '../helpers/test-app.ts';
import { actorOf, askingDocument, commitThroughProtocol, headOf } from '../evidence/helpers.ts';

const BASE = '/acme/handbook';
const DOC_PATH = 'policies/code-of-conduct.md';
const DOC_URL = `${BASE}/policies/code-of-conduct`;
const SECRET_PATH = 'policies/merger.md';
const SECRET_TITLE = 'Merger plan CONFIDENTIAL-ACK-MARKER';

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

function field(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!match) throw new Error(`no ${name} field in page`);
  return match[1]!;
}

for (const target of databaseTargets()) {
  describe(`acknowledgments in the browser (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let project: ProjectRecord;
    const cookies: Record<string, string> = {};

    const get = (url: string, cookie: string) => t.app.inject({ method: 'GET', url, headers: { cookie } });
    const post = (url: string, cookie: string, fields: Record<string, string>) =>
      t.app.inject({ method: 'POST', url, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: form(fields) });

    /** Save a document through the editor form as `role`; the branch-move protocol delivers the move to the listener. */
    async function save(role: string, path: string, content: string, extra: Record<string, string> = {}) {
      const editor = await get(`${BASE}/-/edit/${path}`, cookies[role]!);
      assert.equal(editor.statusCode, 200);
      const saved = await post(`${BASE}/-/edit/${path}`, cookies[role]!, { _csrf: csrfFrom(editor.body), base: field(editor.body, 'base'), content, message: '', ...extra });
      assert.equal(saved.statusCode, 303, saved.body);
      await t.context.branchMoves.idle();
    }

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      project = (await findProject(t.context.db, 'acme', 'handbook'))!;
      // someone whose name a spreadsheet would run as a formula
      await upsertAccount(t.context.db, { email: 'formula@acme.test', orgSlug: 'acme', role: 'member', password: PASSWORD, name: '=HYPERLINK("http://evil")' });
      for (const role of ['owner', 'admin', 'manager', 'member', 'viewer']) cookies[role] = await t.login(`${role}@acme.test`);
      cookies.globex = await t.login('member@globex.test');
      // documents asking for acknowledgment (a first version always asks)
      await commitThroughProtocol(t, project, {
        [DOC_PATH]: askingDocument('Code of conduct', 'everyone', 'Be kind.'),
        [SECRET_PATH]: askingDocument(SECRET_TITLE, 'everyone', 'Secret.', 'confidential'),
      }, 'Add policies to acknowledge');
    });
    after(async () => {
      await t.close();
      await dispose();
    });

    test('the document shows the banner with the button, and the top bar counts the open task', async () => {
      const page = await get(DOC_URL, cookies.member!);
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /Read and acknowledge — due <time datetime="\d{4}-\d{2}-\d{2}">/);
      assert.match(page.body, /I have read and understood/);
      assert.match(page.body, /To acknowledge <span class="topbar-count">1<\/span>/);
      assert.ok(page.body.includes('href="/acme/-/acknowledgments"'));
      const list = await get('/acme/-/acknowledgments', cookies.member!);
      assert.equal(list.statusCode, 200);
      assert.match(list.body, /Waiting for you \(1\)/);
      assert.ok(list.body.includes('Code of conduct'));
      // a page of a document that asks nothing has no banner (the count stays)
      const other = await get(`${BASE}/policies/data-handling`, cookies.member!);
      assert.ok(!other.body.includes('Read and acknowledge'));
    });

    test('hidden = missing: a confidential document asks nothing of a member, anywhere', async () => {
      const list = await get('/acme/-/acknowledgments', cookies.member!);
      assert.ok(!list.body.includes('CONFIDENTIAL-ACK-MARKER') && !list.body.includes(SECRET_PATH));
      const page = await get(DOC_URL, cookies.member!);
      assert.match(page.body, /topbar-count">1</, 'counted once: the confidential document is not counted');
      const blob = field((await get(`${BASE}/policies/merger`, cookies.manager!)).body, 'blob');
      const csrf = csrfFrom(page.body);
      const hidden = await post(`${BASE}/-/acknowledge`, cookies.member!, { _csrf: csrf, path: SECRET_PATH, blob });
      const missing = await post(`${BASE}/-/acknowledge`, cookies.member!, { _csrf: csrf, path: 'policies/no-such.md', blob });
      assert.equal(hidden.statusCode, 404);
      assert.equal(missing.statusCode, 404);
      assert.equal(hidden.body.replace(/[0-9a-f-]{36}/g, ''), missing.body.replace(/[0-9a-f-]{36}/g, ''), 'the same answer as a missing document');
      // the manager reads it and is asked
      const manager = await get(`${BASE}/policies/merger`, cookies.manager!);
      assert.match(manager.body, /Read and acknowledge/);
      // another organization's member: the project does not exist for them
      const outsider = await post(`${BASE}/-/acknowledge`, cookies.globex!, { _csrf: csrfFrom((await get('/', cookies.globex!)).body), path: DOC_PATH, blob });
      assert.equal(outsider.statusCode, 404);
      assert.equal((await get('/acme/-/acknowledgments', cookies.globex!)).statusCode, 404);
    });

    test('acknowledging records the version shown; a stale page or a forged request is refused', async () => {
      const page = await get(DOC_URL, cookies.member!);
      const csrf = csrfFrom(page.body);
      const blob = field(page.body, 'blob');
      assert.equal((await post(`${BASE}/-/acknowledge`, cookies.member!, { path: DOC_PATH, blob })).statusCode, 403, 'no CSRF token');
      assert.equal((await post(`${BASE}/-/acknowledge`, cookies.member!, { _csrf: csrf, path: DOC_PATH, blob: 'f'.repeat(40) })).statusCode, 409);
      assert.equal((await post(`${BASE}/-/acknowledge`, cookies.member!, { _csrf: csrf, path: DOC_PATH, blob: 'not-a-blob' })).statusCode, 400);
      // an access token does not acknowledge for its owner, even with a valid signed-out form token
      const { token } = await createToken(t.context.db, { userId: (await actorOf(t.context.db, 'member@acme.test')).userId, name: 'api', scopes: ['write'] });
      const loginForm = await t.app.inject({ method: 'GET', url: '/login' });
      const viaToken = await t.app.inject({
        method: 'POST',
        url: `${BASE}/-/acknowledge`,
        headers: { authorization: `Bearer ${token}`, cookie: cookiesOf(loginForm), 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ _csrf: csrfFrom(loginForm.body), path: DOC_PATH, blob }),
      });
      // (browser routes do not take tokens at all: it is a request without a session, sent to sign in)
      assert.equal(viaToken.statusCode, 303);
      assert.match(String(viaToken.headers.location), /^\/login/);
      assert.equal((await t.app.inject({ method: 'GET', url: DOC_URL, headers: { cookie: cookies.member! } })).body.includes('I have read and understood'), true);
      const done = await post(`${BASE}/-/acknowledge`, cookies.member!, { _csrf: csrf, path: DOC_PATH, blob });
      assert.equal(done.statusCode, 303);
      assert.equal(done.headers.location, DOC_URL);
      const after = await get(DOC_URL, cookies.member!);
      assert.match(after.body, /You acknowledged this document on <time/);
      assert.ok(!after.body.includes('I have read and understood'));
      assert.ok(!after.body.includes('To acknowledge'), 'nothing left to count');
      const list = await get('/acme/-/acknowledgments', cookies.member!);
      assert.match(list.body, /Waiting for you \(0\)/);
      assert.match(list.body, /Acknowledged \(1\)/);
    });

    test('managers see who has and has not acknowledged, and download it as CSV; others cannot', async () => {
      const list = await get('/acme/-/acknowledgments', cookies.manager!);
      assert.match(list.body, /Progress by document/);
      assert.ok(list.body.includes(`${BASE}/-/acknowledgments/${DOC_PATH}`));
      const status = await get(`${BASE}/-/acknowledgments/${DOC_PATH}`, cookies.manager!);
      assert.equal(status.statusCode, 200);
      assert.match(status.body, /member@acme\.test<\/span><\/td><td>member<\/td><td><span class="status status-approved">Acknowledged/);
      assert.match(status.body, /viewer@acme\.test<\/span><\/td><td>viewer<\/td><td><span class="status status-pending">Not yet/);
      assert.ok(!status.body.includes('globex'));
      const csv = await get(`${BASE}/-/acknowledgments/${DOC_PATH}?format=csv`, cookies.manager!);
      assert.equal(csv.statusCode, 200);
      assert.match(String(csv.headers['content-type']), /^text\/csv/);
      assert.match(String(csv.headers['content-disposition']), /attachment; filename="acknowledgments-policies-code-of-conduct\.csv"/);
      const lines = csv.body.trim().split('\r\n');
      assert.equal(lines[0], 'document,version_commit,due_at,name,email,role,status,acknowledged_at');
      assert.ok(lines.some((line) => line.includes('member@acme.test,member,done,')));
      assert.ok(lines.some((line) => line.includes(`"'=HYPERLINK(""http://evil"")",formula@acme.test,member,open,`)), 'formula neutralized');
      // members and viewers: the status does not exist for them
      for (const role of ['member', 'viewer']) {
        assert.equal((await get(`${BASE}/-/acknowledgments/${DOC_PATH}`, cookies[role]!)).statusCode, 404);
        assert.equal((await get(`${BASE}/-/acknowledgments/${DOC_PATH}?format=csv`, cookies[role]!)).statusCode, 404);
        assert.ok(!(await get('/acme/-/acknowledgments', cookies[role]!)).body.includes('Progress by document'));
      }
      // the confidential document's status lists only those who may read it
      const secret = await get(`${BASE}/-/acknowledgments/${SECRET_PATH}`, cookies.manager!);
      assert.equal(secret.statusCode, 200);
      assert.ok(!secret.body.includes('member@acme.test') && !secret.body.includes('viewer@acme.test'));
    });

    test('managers download every overdue acknowledgment as CSV from the organization page; others get 404', async () => {
      const backdate = (days: number) =>
        asDatabaseOwner(t.context.db, (owner) =>
          owner
            .updateTable('ack_versions')
            .set({ published_at: new Date(Date.now() - days * 24 * 60 * 60 * 1000) })
            .where('org_id', '=', project.orgId)
            .where('path', 'in', [DOC_PATH, SECRET_PATH])
            .execute(),
        );
      await backdate(30);
      try {
        const list = await get('/acme/-/acknowledgments', cookies.manager!);
        assert.ok(list.body.includes('href="/acme/-/acknowledgments/overdue.csv"'), 'the link, when something is overdue');
        const csv = await get('/acme/-/acknowledgments/overdue.csv', cookies.manager!);
        assert.equal(csv.statusCode, 200);
        assert.match(String(csv.headers['content-type']), /^text\/csv/);
        assert.match(String(csv.headers['content-disposition']), /attachment; filename="overdue-acknowledgments-acme\.csv"/);
        const lines = csv.body.trim().split('\r\n');
        assert.equal(lines[0], 'project,document,title,version_commit,due_at,name,email,role,last_acknowledged_at');
        assert.ok(lines.some((line) => line.startsWith(`handbook,${DOC_PATH},`) && line.includes(',viewer@acme.test,viewer,')), 'the viewer has not acknowledged');
        assert.ok(!lines.some((line) => line.startsWith(`handbook,${DOC_PATH},`) && line.includes(',member@acme.test,member,')), 'the member did');
        assert.ok(!lines.some((line) => line.includes('member@acme.test') && line.includes(SECRET_PATH)), 'nobody who may not read it');
        for (const cookie of [cookies.member!, cookies.viewer!, cookies.globex!]) {
          const refused = await get('/acme/-/acknowledgments/overdue.csv', cookie);
          assert.equal(refused.statusCode, 404);
          assert.ok(!refused.body.includes(DOC_PATH));
        }
        assert.equal((await get('/no-such-org/-/acknowledgments/overdue.csv', cookies.manager!)).statusCode, 404);
      } finally {
        await backdate(0);
      }
    });

    test('an editorial save keeps it acknowledged; a material one asks again with the personal redline', async () => {
      await save('owner', DOC_PATH, askingDocument('Code of conduct', 'everyone', 'Be kind, always.'), { editorial: 'yes' });
      const repository = await t.context.repositories.get(project);
      const head = await repository.readCommit(await headOf(t, project));
      assert.match(head.message, /\n\nAcknowledgment: not-required\s*$/);
      assert.match((await get(DOC_URL, cookies.member!)).body, /You acknowledged this document/);

      const acknowledged = head.oid;
      await save('owner', DOC_PATH, askingDocument('Code of conduct', 'everyone', 'New rules: be kind and on time.'));
      const page = await get(DOC_URL, cookies.member!);
      assert.match(page.body, /Read and acknowledge/);
      const redline = /<a href="([^"]+)">See what changed for you<\/a>/.exec(page.body);
      assert.ok(redline, 'the redline link');
      // the version they last acknowledged (before the editorial change) against the current one
      const previousAck = (await repository.readCommit(acknowledged)).parents[0]!;
      assert.equal(redline[1], `${BASE}/-/compare/${previousAck}..${await headOf(t, project)}/${DOC_PATH}`);
      const compare = await get(redline[1]!.replace(/&amp;/g, '&'), cookies.member!);
      assert.equal(compare.statusCode, 200);
      assert.match(compare.body, /on time/);
      // the viewer never acknowledged: no redline for them, only the button
      const viewer = await get(DOC_URL, cookies.viewer!);
      assert.match(viewer.body, /Read and acknowledge/);
      assert.ok(!viewer.body.includes('See what changed for you'));
    });
  });
}
