import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { createToken, revokeToken } from '../../src/auth/tokens.ts';
import { findProject, type ProjectRecord } from '../../src/projects/projects.ts';
import { buildApp } from '../../src/web/app.ts';
import { actorOf } from '../helpers/actors.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { askingDocument, commitThroughProtocol } from '../evidence/helpers.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

// CommonJS modules: their default import is `module.exports`, whose `default` is the class and the plugin
const Ajv2020 = Ajv2020Module.default;
const addFormats = addFormatsModule.default;

const P = '/api/v1/projects/acme/handbook';
const DAY = 24 * 60 * 60 * 1000;
const doc = (title: string, classification: string, body: string) => `---\ntitle: ${title}\nclassification: ${classification}\n---\n\n# ${title}\n\n${body}\n`;
const ROLES = ['owner', 'admin', 'manager', 'member', 'viewer'] as const;

for (const target of databaseTargets()) {
  describe(`REST API /api/v1 (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let project: ProjectRecord;
    /** Write tokens per role (acme), `${role}-read` read-only ones, and globex's member. */
    const tokens: Record<string, string> = {};
    const cookies: Record<string, string> = {};
    const commits = { v1: '', v2: '' };

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      project = (await findProject(opened.db, 'acme', 'handbook'))!;
      for (const role of ROLES) {
        const { userId } = await actorOf(opened.db, `${role}@acme.test`);
        tokens[role] = (await createToken(opened.db, { userId, name: `${role} write`, scopes: ['write'] })).token;
        tokens[`${role}-read`] = (await createToken(opened.db, { userId, name: `${role} read`, scopes: ['read'] })).token;
      }
      const globex = await actorOf(opened.db, 'member@globex.test');
      tokens.globex = (await createToken(opened.db, { userId: globex.userId, name: 'globex', scopes: ['write'] })).token;
      cookies.owner = await t.login('owner@acme.test');
      commits.v1 = await commitThroughProtocol(t, project, { 'policies/retention.md': doc('Retention', 'internal', 'We audit yearly OLD-MARKER.') }, 'Add retention');
      commits.v2 = await commitThroughProtocol(
        t,
        project,
        {
          'policies/retention.md': doc('Retention', 'internal', 'We audit quarterly NEW-MARKER.'),
          'policies/conduct.md': askingDocument('Code of conduct', 'everyone'),
        },
        'Audit quarterly',
      );
    });
    after(async () => {
      await t.close();
      await dispose();
    });

    const call = (method: 'GET' | 'POST', url: string, token?: string, body?: unknown, headers: Record<string, string> = {}) =>
      t.app.inject({
        method,
        url,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      });
    const get = (url: string, token?: string) => call('GET', url, token);

    /** The API's 404, with the request id taken out: identical for missing and hidden. */
    const notFound = (res: { statusCode: number; json(): any }) => {
      assert.equal(res.statusCode, 404);
      const { error } = res.json();
      assert.equal(error.code, 'not_found');
      return { ...error, requestId: 'ID' };
    };

    test('the OpenAPI 3.1 document is public and lists every operation with its token scope', async () => {
      const res = await get('/api/v1/openapi.json');
      assert.equal(res.statusCode, 200);
      const spec = res.json();
      assert.equal(spec.openapi, '3.1.0');
      const ids = Object.values(spec.paths).flatMap((ops: any) => Object.values(ops).map((op: any) => `${op.operationId}:${op['x-token-scope']}`));
      for (const expected of ['listProjects:read', 'getDocumentMarkdown:read', 'compareDocument:read', 'openChangeRequest:write', 'approveChangeRequest:write', 'listAuditEvents:read']) {
        assert.ok(ids.includes(expected), expected);
      }
    });

    test('every documented operation answers as the document says (responses validated against it)', async () => {
      const spec = (await get('/api/v1/openapi.json')).json();
      const ajv = new Ajv2020({ strict: false, allErrors: true });
      addFormats(ajv);
      // one call per operation; the change-request ones build on the one opened first
      let opened = 0;
      const samples: Record<string, () => Promise<{ method: 'GET' | 'POST'; url: string; token: string; body?: unknown }>> = {
        listProjects: async () => ({ method: 'GET', url: '/api/v1/projects', token: tokens.member! }),
        listDocuments: async () => ({ method: 'GET', url: `${P}/documents`, token: tokens.member! }),
        getDocument: async () => ({ method: 'GET', url: `${P}/document?path=policies/retention.md&at=${commits.v1}`, token: tokens.member! }),
        getDocumentMarkdown: async () => ({ method: 'GET', url: `${P}/document/markdown?path=policies/retention.md`, token: tokens.member! }),
        getDocumentHtml: async () => ({ method: 'GET', url: `${P}/document/html?path=policies/data-handling`, token: tokens.member! }),
        getDocumentHistory: async () => ({ method: 'GET', url: `${P}/history?path=policies/retention.md`, token: tokens.member! }),
        compareDocument: async () => ({ method: 'GET', url: `${P}/compare?path=policies/retention.md&from=${commits.v1}&to=${commits.v2}`, token: tokens.member! }),
        openChangeRequest: async () => {
          const markdown = (await get(`${P}/document/markdown?path=policies/data-handling.md`, tokens.member)).json().markdown as string;
          return { method: 'POST', url: `${P}/change-requests`, token: tokens.member!, body: { title: 'Contract CR', edit: { path: 'policies/data-handling.md', content: `${markdown}\nCONTRACT-EDIT\n` } } };
        },
        listChangeRequests: async () => ({ method: 'GET', url: `${P}/change-requests`, token: tokens.member! }),
        getChangeRequest: async () => ({ method: 'GET', url: `${P}/change-requests/${opened}`, token: tokens.viewer! }),
        commentOnChangeRequest: async () => ({ method: 'POST', url: `${P}/change-requests/${opened}/comments`, token: tokens.viewer!, body: { body: 'Looks fine.' } }),
        approveChangeRequest: async () => ({ method: 'POST', url: `${P}/change-requests/${opened}/approvals`, token: tokens.admin!, body: {} }),
        search: async () => ({ method: 'GET', url: '/api/v1/search?q=data', token: tokens.member! }),
        listMyAcknowledgments: async () => ({ method: 'GET', url: '/api/v1/orgs/acme/acknowledgments/mine', token: tokens.member! }),
        listAcknowledgmentDocuments: async () => ({ method: 'GET', url: '/api/v1/orgs/acme/acknowledgments', token: tokens.manager! }),
        getAcknowledgmentStatus: async () => ({ method: 'GET', url: `${P}/acknowledgments?path=policies/conduct.md`, token: tokens.manager! }),
        listAuditEvents: async () => ({ method: 'GET', url: '/api/v1/orgs/acme/audit-events?limit=5', token: tokens.admin! }),
      };
      const documented: { id: string; method: string; status: string; schema: object; errorSchema: object }[] = [];
      for (const [path, ops] of Object.entries<any>(spec.paths)) {
        for (const [method, op] of Object.entries<any>(ops)) {
          const status = Object.keys(op.responses).find((s) => s.startsWith('2'))!;
          documented.push({ id: op.operationId, method: method.toUpperCase(), status, schema: op.responses[status].content['application/json'].schema, errorSchema: op.responses['404']?.content['application/json'].schema ?? op.responses['400'].content['application/json'].schema });
          assert.ok(path.startsWith('/'), path);
        }
      }
      assert.deepEqual(documented.map((d) => d.id).sort(), Object.keys(samples).sort(), 'a sample call for every documented operation');
      const order = ['openChangeRequest', ...documented.map((d) => d.id).filter((id) => id !== 'openChangeRequest')];
      for (const id of order) {
        const entry = documented.find((d) => d.id === id)!;
        const sample = await samples[id]!();
        assert.equal(sample.method, entry.method, id);
        const res = await call(sample.method, sample.url, sample.token, sample.body);
        assert.equal(String(res.statusCode), entry.status, `${id}: ${res.body}`);
        const validate = ajv.compile(entry.schema);
        const body = res.json();
        assert.ok(validate(body), `${id}: ${JSON.stringify(validate.errors)}`);
        if (id === 'openChangeRequest') opened = (res.json() as { number: number }).number;
        // and an error of the same operation has the documented error shape
        const missing = await call(sample.method, sample.url.replace('/acme', '/nobody-here'), sample.token, sample.body);
        if (missing.statusCode >= 400) assert.ok(ajv.validate(entry.errorSchema, missing.json()), `${id} error: ${missing.body}`);
      }
    });

    test('documents as of any commit: metadata, Markdown and HTML of an older version; history and redline', async () => {
      const old = await get(`${P}/document/markdown?path=policies/retention.md&at=${commits.v1.slice(0, 10)}`, tokens.viewer);
      assert.equal(old.statusCode, 200);
      assert.match(old.json().markdown, /OLD-MARKER/);
      assert.equal(old.json().commit, commits.v1);
      const now = await get(`${P}/document/html?path=policies/retention`, tokens.viewer);
      assert.match(now.json().html, /NEW-MARKER/);
      assert.doesNotMatch(now.json().html, /OLD-MARKER/);
      const meta = (await get(`${P}/document?path=policies/retention.md&at=${commits.v1}`, tokens.viewer)).json();
      assert.equal(meta.title, 'Retention');
      assert.equal(meta.isCurrent, false);
      assert.equal(meta.lastChange.subject, 'Add retention');
      const history = (await get(`${P}/history?path=policies/retention.md`, tokens.viewer)).json();
      assert.deepEqual(history.items.map((e: any) => e.commit), [commits.v2, commits.v1]);
      const compare = (await get(`${P}/compare?path=policies/retention.md&from=${commits.v1}&to=${commits.v2}`, tokens.viewer)).json();
      assert.match(compare.diff.redlineHtml, /<del>yearly/);
      assert.match(compare.diff.redlineHtml, /<ins>quarterly/);
      assert.ok(compare.diff.source.some((l: any) => l.kind === 'added' && /NEW-MARKER/.test(l.text)));
      // a commit that is not on the published branch, or not a commit at all, is missing
      notFound(await get(`${P}/document/markdown?path=policies/retention.md&at=${'0'.repeat(40)}`, tokens.viewer));
    });

    test('no token, a cookie alone, or a bad token: 401 with a Bearer challenge, never a redirect', async () => {
      const user = await actorOf(t.context.db, 'owner@acme.test');
      const expired = (await createToken(t.context.db, { userId: user.userId, name: 'old', scopes: ['write'], expiresInDays: 1, now: Date.now() - 2 * DAY })).token;
      const revoked = await createToken(t.context.db, { userId: user.userId, name: 'gone', scopes: ['write'] });
      await revokeToken(t.context.db, { id: revoked.summary.id, userId: user.userId });
      const forged = `dcpat_${'A'.repeat(43)}${'B'.repeat(6)}`;
      const wrongSecret = tokens.owner!.slice(0, 10) + (tokens.owner![10] === 'a' ? 'b' : 'a') + tokens.owner!.slice(11);
      const cases: [string, Record<string, string>][] = [
        ['nothing', {}],
        ['cookie alone', { cookie: cookies.owner! }],
        ['cookie and a forged token', { cookie: cookies.owner!, authorization: `Bearer ${forged}` }],
        ['expired', { authorization: `Bearer ${expired}` }],
        ['revoked', { authorization: `Bearer ${revoked.token}` }],
        ['altered', { authorization: `Bearer ${wrongSecret}` }],
        ['token in the query string', {}],
      ];
      for (const [name, headers] of cases) {
        const url = name === 'token in the query string' ? `/api/v1/projects?access_token=${tokens.owner}` : '/api/v1/projects';
        for (const method of ['GET', 'POST'] as const) {
          const res = await t.app.inject({ method, url: method === 'GET' ? url : `${P}/change-requests`, headers: { ...headers, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) }, ...(method === 'POST' ? { payload: '{"title":"x","branch":"y"}' } : {}) });
          assert.equal(res.statusCode, 401, `${name} ${method}`);
          assert.equal(res.json().error.code, 'not_authenticated', name);
          assert.match(String(res.headers['www-authenticate']), /^Bearer /, name);
          assert.doesNotMatch(res.body, /CONFIDENTIAL|Handbook/);
        }
      }
      // the same cookie with a valid token: the token's owner decides, not the session
      const viewerWithOwnerCookie = await t.app.inject({ method: 'GET', url: '/api/v1/orgs/acme/audit-events', headers: { cookie: cookies.owner!, authorization: `Bearer ${tokens.viewer}` } });
      notFound(viewerWithOwnerCookie);
    });

    test('hidden is missing: wrong organization, wrong role and confidential documents answer the one 404', async () => {
      const missingProject = notFound(await get('/api/v1/projects/acme/nope/documents', tokens.globex));
      assert.deepEqual(notFound(await get(`${P}/documents`, tokens.globex)), missingProject);
      assert.deepEqual(notFound(await get(`${P}/document/markdown?path=policies/data-handling.md`, tokens.globex)), missingProject);
      assert.deepEqual(notFound(await get(`${P}/change-requests`, tokens.globex)), missingProject);
      const projects = (await get('/api/v1/projects', tokens.globex)).json();
      assert.deepEqual(projects.items.map((p: any) => `${p.org}/${p.project}`), ['globex/wiki']);

      // a member may not read a confidential document: exactly like a missing one, in every operation
      const missingDoc = notFound(await get(`${P}/document/markdown?path=policies/no-such-thing.md`, tokens.member));
      for (const op of ['document', 'document/markdown', 'document/html', 'history', 'acknowledgments']) {
        const res = await get(`${P}/${op}?path=policies/incident-response.md`, tokens.member);
        assert.deepEqual(notFound(res), missingDoc, op);
        assert.doesNotMatch(res.body, /CONFIDENTIAL-BODY-MARKER|Incident/);
      }
      const listed = (await get(`${P}/documents?limit=500`, tokens.member)).json();
      assert.ok(listed.items.some((d: any) => d.path === 'policies/data-handling.md'));
      assert.ok(!listed.items.some((d: any) => d.classification === 'confidential' || d.classification === 'restricted'));
      const found = (await get('/api/v1/search?q=CONFIDENTIAL-BODY-MARKER', tokens.member)).json();
      assert.equal(found.total, 0);
      assert.deepEqual(found.items, []);
      assert.doesNotMatch(JSON.stringify(found), /Incident/);
      // the manager reads it
      assert.match((await get(`${P}/document/markdown?path=policies/incident-response.md`, tokens.manager)).json().markdown, /CONFIDENTIAL-BODY-MARKER/);
      assert.ok((await get('/api/v1/search?q=CONFIDENTIAL-BODY-MARKER', tokens.manager)).json().total >= 1);

      // roles: the audit log for admins and owners, acknowledgment status for managers and above
      for (const role of ['manager', 'member', 'viewer']) notFound(await get('/api/v1/orgs/acme/audit-events', tokens[role]));
      notFound(await get('/api/v1/orgs/acme/audit-events', tokens.globex));
      assert.equal((await get('/api/v1/orgs/acme/audit-events', tokens['admin-read'])).statusCode, 200);
      for (const role of ['member', 'viewer']) {
        notFound(await get('/api/v1/orgs/acme/acknowledgments', tokens[role]));
        notFound(await get(`${P}/acknowledgments?path=policies/conduct.md`, tokens[role]));
      }
      assert.equal((await get('/api/v1/orgs/acme/acknowledgments', tokens['manager-read'])).statusCode, 200);
      // one's own tasks: any member, never another organization's
      assert.ok((await get('/api/v1/orgs/acme/acknowledgments/mine', tokens.viewer)).json().items.some((task: any) => task.path === 'policies/conduct.md'));
      notFound(await get('/api/v1/orgs/acme/acknowledgments/mine', tokens.globex));
    });

    test('a read-only token may not write (403), while what it may not see stays 404', async () => {
      const markdown = (await get(`${P}/document/markdown?path=policies/data-handling.md`, tokens.member)).json().markdown as string;
      const edit = { title: 'Read-only attempt', edit: { path: 'policies/data-handling.md', content: `${markdown}\nREAD-ONLY\n` } };
      const refused = await call('POST', `${P}/change-requests`, tokens['member-read'], edit);
      assert.equal(refused.statusCode, 403);
      assert.equal(refused.json().error.code, 'forbidden');
      // nothing was proposed
      const open = (await get(`${P}/change-requests?state=open`, tokens.member)).json();
      assert.ok(!open.items.some((cr: any) => cr.title === 'Read-only attempt'));
      // an open change request: read-only tokens cannot comment or approve; outsiders do not find it
      const created = await call('POST', `${P}/change-requests`, tokens.member, { ...edit, title: 'Writable' });
      assert.equal(created.statusCode, 201, created.body);
      const n = created.json().number;
      assert.match(created.json().branch, /^draft\//);
      for (const [path, body] of [['comments', { body: 'hi' }], ['approvals', {}]] as const) {
        const res = await call('POST', `${P}/change-requests/${n}/${path}`, tokens['admin-read'], body);
        assert.equal(res.statusCode, 403, path);
        notFound(await call('POST', `${P}/change-requests/${n}/${path}`, tokens.globex, body));
      }
      // approving: never one's own (403, as on the page), viewers may not review (403), an admin may
      assert.equal((await call('POST', `${P}/change-requests/${n}/approvals`, tokens.member, {})).statusCode, 403);
      assert.equal((await call('POST', `${P}/change-requests/${n}/approvals`, tokens.viewer, {})).statusCode, 403);
      const approved = await call('POST', `${P}/change-requests/${n}/approvals`, tokens.admin, { body: 'Good.' });
      assert.equal(approved.statusCode, 201);
      assert.ok(approved.json().reviews.some((r: any) => r.verdict === 'approve' && r.reviewer === 'Acme admin'));
      // a change request touching a confidential document does not exist for a member
      const secret = (await get(`${P}/document/markdown?path=policies/incident-response.md`, tokens.manager)).json().markdown as string;
      const hidden = await call('POST', `${P}/change-requests`, tokens.manager, { title: 'Runbook', edit: { path: 'policies/incident-response.md', content: `${secret}\nMORE\n` } });
      assert.equal(hidden.statusCode, 201, hidden.body);
      notFound(await get(`${P}/change-requests/${hidden.json().number}`, tokens.member));
      notFound(await call('POST', `${P}/change-requests/${hidden.json().number}/comments`, tokens.member, { body: 'x' }));
      assert.ok(!(await get(`${P}/change-requests`, tokens.member)).json().items.some((cr: any) => cr.number === hidden.json().number));
      // a member may not propose a change to a document they may not read: 404 like any missing one
      notFound(await call('POST', `${P}/change-requests`, tokens.member, { title: 'x', edit: { path: 'policies/incident-response.md', content: 'x' } }));
      // invalid input has a stable code
      const bad = await call('POST', `${P}/change-requests`, tokens.member, { title: '' });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().error.code, 'invalid_input');
    });

    test('a change request with edits of several documents: one draft commit, every document checked as its own save would be', async () => {
      const markdown = (await get(`${P}/document/markdown?path=policies/data-handling.md`, tokens.member)).json().markdown as string;
      const body = {
        title: 'Data handling and a new annex',
        description: 'Two documents, one review.',
        edits: [
          { path: 'policies/data-handling.md', content: `${markdown}\nMULTI-EDIT\n` },
          { path: 'policies/dpa-annex.md', content: '---\ntitle: DPA annex\nclassification: internal\n---\n\nThe annex.\n' },
        ],
      };
      const created = await call('POST', `${P}/change-requests`, tokens.member, body);
      assert.equal(created.statusCode, 201, created.body);
      const paths = (created.json().documents as { path: string }[]).map((d) => d.path).sort();
      assert.deepEqual(paths, ['policies/data-handling.md', 'policies/dpa-annex.md']);
      // nothing published: the new document is only on the draft
      notFound(await get(`${P}/document/markdown?path=policies/dpa-annex.md`, tokens.member));
      // a hidden document among the edits: 404 as if missing, and no draft, no change request
      const before = (await get(`${P}/change-requests?state=open&limit=50`, tokens.owner)).json().items.length;
      notFound(
        await call('POST', `${P}/change-requests`, tokens.member, {
          title: 'Sneaky',
          edits: [
            { path: 'policies/data-handling.md', content: `${markdown}\nSNEAKY\n` },
            { path: 'policies/incident-response.md', content: 'overwritten' },
          ],
        }),
      );
      assert.equal((await get(`${P}/change-requests?state=open&limit=50`, tokens.owner)).json().items.length, before);
      // deleting a document one may not see is the same 404; a path named twice and an empty list are invalid input
      notFound(await call('POST', `${P}/change-requests`, tokens.member, { title: 'x', edits: [{ path: 'policies/incident-response.md', content: null }] }));
      const twice = await call('POST', `${P}/change-requests`, tokens.member, { title: 'x', edits: [body.edits[0], body.edits[0]] });
      assert.equal(twice.statusCode, 400);
      assert.equal((await call('POST', `${P}/change-requests`, tokens.member, { title: 'x', edits: [] })).statusCode, 400);
    });

    test('reads of confidential documents through the API are audited like page reads', async () => {
      const before = (await get('/api/v1/orgs/acme/audit-events?action=document.read&limit=500', tokens.owner)).json().items.length;
      assert.equal((await get(`${P}/document/html?path=policies/incident-response.md`, tokens.manager)).statusCode, 200);
      const events = (await get('/api/v1/orgs/acme/audit-events?action=document.read&limit=500', tokens.owner)).json().items;
      assert.equal(events.length, before + 1);
      const event = events[0];
      assert.equal(event.targetLabel, 'policies/incident-response.md');
      assert.equal(event.actorType, 'token');
      assert.equal(event.actorLabel, 'manager@acme.test');
      assert.equal(event.details.classification, 'confidential');
      assert.doesNotMatch(JSON.stringify(event), /CONFIDENTIAL-BODY-MARKER/);
      // internal documents are not audited reads
      await get(`${P}/document/html?path=policies/data-handling.md`, tokens.manager);
      assert.equal((await get('/api/v1/orgs/acme/audit-events?action=document.read&limit=500', tokens.owner)).json().items.length, before + 1);
      // a refused read is recorded as access.denied, as for pages
      await get(`${P}/document/markdown?path=policies/incident-response.md`, tokens.member);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const denied = (await get('/api/v1/orgs/acme/audit-events?action=access.denied&limit=50', tokens.owner)).json().items;
      assert.ok(denied.some((e: any) => e.actorLabel === 'member@acme.test' && /incident-response/.test(`${e.targetId} ${e.targetLabel}`)), JSON.stringify(denied.slice(0, 3)));
    });

    test('cursor pagination walks a list once; cursors are bound to list, person and filters', async () => {
      const all = (await get(`${P}/documents?limit=500`, tokens.owner)).json().items.map((d: any) => d.path);
      assert.ok(all.length >= 5);
      const walked: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await get(`${P}/documents?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, tokens.owner);
        assert.equal(res.statusCode, 200);
        walked.push(...res.json().items.map((d: any) => d.path));
        cursor = res.json().nextCursor;
        pages++;
      } while (cursor !== null && pages < 50);
      assert.deepEqual(walked, all);
      const first = (await get(`${P}/documents?limit=2`, tokens.owner)).json().nextCursor as string;
      const invalid = async (url: string, token: string | undefined) => {
        const res = await get(url, token);
        assert.equal(res.statusCode, 400, url);
        assert.equal(res.json().error.code, 'invalid_cursor');
      };
      // altered position (same MAC), forged, another person's, another list's, other filters
      const [payload, mac] = first.split('.') as [string, string];
      const moved = `${Buffer.from(JSON.stringify({ p: 0 })).toString('base64url')}.${mac}`;
      await invalid(`${P}/documents?limit=2&cursor=${encodeURIComponent(moved)}`, tokens.owner);
      await invalid(`${P}/documents?limit=2&cursor=${encodeURIComponent(`${payload}.AAAA`)}`, tokens.owner);
      await invalid(`${P}/documents?limit=2&cursor=${encodeURIComponent(first)}`, tokens.admin);
      await invalid(`/api/v1/projects?cursor=${encodeURIComponent(first)}`, tokens.owner);
      const history = (await get(`${P}/history?path=policies/retention.md`, tokens.owner)).json();
      assert.equal(history.nextCursor, null);
      const audit = (await get('/api/v1/orgs/acme/audit-events?limit=2', tokens.owner)).json();
      const older = (await get(`/api/v1/orgs/acme/audit-events?limit=2&cursor=${encodeURIComponent(audit.nextCursor)}`, tokens.owner)).json();
      assert.ok(BigInt(older.items[0].seq) < BigInt(audit.items[1].seq));
      await invalid(`/api/v1/orgs/acme/audit-events?limit=2&action=auth.&cursor=${encodeURIComponent(audit.nextCursor)}`, tokens.owner);
    });

    test('rate limit per token: of a parallel burst exactly N pass, then 429 with Retry-After', async () => {
      const { app } = await buildApp(t.context, { apiRateLimit: { requests: 5, windowMs: 60_000 } });
      try {
        const user = await actorOf(t.context.db, 'viewer@acme.test');
        const limited = (await createToken(t.context.db, { userId: user.userId, name: 'burst', scopes: ['read'] })).token;
        const other = (await createToken(t.context.db, { userId: user.userId, name: 'other', scopes: ['read'] })).token;
        const burst = await Promise.all(
          Array.from({ length: 14 }, () => app.inject({ method: 'GET', url: '/api/v1/projects', headers: { authorization: `Bearer ${limited}` } })),
        );
        const statuses = burst.map((r) => r.statusCode);
        assert.equal(statuses.filter((s) => s === 200).length, 5, statuses.join(','));
        assert.equal(statuses.filter((s) => s === 429).length, 9, statuses.join(','));
        for (const refused of burst.filter((r) => r.statusCode === 429)) {
          const retry = Number(refused.headers['retry-after']);
          assert.ok(retry >= 1 && retry <= 60, String(retry));
          assert.equal(refused.json().error.code, 'too_many_requests');
        }
        // still refused afterwards; another token of the same person has its own count
        assert.equal((await app.inject({ method: 'GET', url: '/api/v1/projects', headers: { authorization: `Bearer ${limited}` } })).statusCode, 429);
        assert.equal((await app.inject({ method: 'GET', url: '/api/v1/projects', headers: { authorization: `Bearer ${other}` } })).statusCode, 200);
      } finally {
        await app.close();
      }
    });

    test('unknown API paths and malformed bodies are JSON errors with a code', async () => {
      for (const url of ['/api/v1/nothing-here', '/api/v1/projects/acme/handbook/nothing', '/api/v1/']) {
        const unknown = await get(url, tokens.owner);
        assert.equal(unknown.statusCode, 404, url);
        assert.equal(unknown.json().error.code, 'not_found');
        // without a token: 401, not a redirect to the sign-in page
        assert.equal((await get(url)).statusCode, 401, url);
      }
      const malformed = await t.app.inject({ method: 'POST', url: `${P}/change-requests`, headers: { authorization: `Bearer ${tokens.member}`, 'content-type': 'application/json' }, payload: '{not json' });
      assert.equal(malformed.statusCode, 400);
      assert.equal(malformed.json().error.code, 'invalid_input');
      const badQuery = await get(`${P}/compare?path=policies/retention.md&from=zzz&to=${commits.v2}`, tokens.owner);
      assert.equal(badQuery.statusCode, 400);
      assert.equal(badQuery.json().error.code, 'invalid_input');
    });
  });
}
