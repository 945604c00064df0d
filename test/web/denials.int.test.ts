import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { DenialFloodGuard, refusalsRecorded } from '../../src/access/denials.ts';
import type { Db } from '../../src/db/connection.ts';
import { createToken } from '../../src/auth/tokens.ts';
import { withOrg } from '../../src/db/connection.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { createTestApp, csrfFrom, type TestApp } from '../helpers/test-app.ts';

/** A response body with its per-request ids removed, so two answers can be compared byte for byte. */
const normalized = (body: string) => body.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'ID');

const DOC = 'policies/data-handling.md';

/** Routes of organization `org` a non-member may not use (HTML, JSON, history, compare, editor, admin pages, export). */
const crossOrgUrls = (org: string) => [
  `/${org}/handbook/policies/data-handling`,
  `/${org}/handbook/-/tags/policy`,
  `/${org}/handbook/-/problems`,
  `/${org}/handbook/-/history/${DOC}`,
  `/${org}/handbook/-/compare/1234567..89abcde/${DOC}`,
  `/${org}/handbook/-/blob/1234567/${DOC}`,
  `/${org}/handbook/-/commits`,
  `/${org}/handbook/-/edit/${DOC}`,
  `/${org}/handbook/-/new`,
  `/${org}/handbook/-/access-requests/new`,
  `/${org}/-/access-requests`,
  `/${org}/-/members`,
  `/${org}/-/audit`,
  `/${org}/-/audit?format=jsonl`,
  `/${org}/-/settings`,
];

for (const target of databaseTargets()) {
  describe(`access.denied events (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    const cookies: Record<string, string> = {};
    const ids: Record<string, string> = {};
    const orgs: Record<string, string> = {};

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      for (const email of ['viewer@acme.test', 'member@acme.test', 'member@globex.test']) {
        cookies[email] = await t.login(email);
        ids[email] = (await t.context.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id;
      }
      for (const row of await t.context.db.selectFrom('organizations').select(['id', 'slug']).execute()) orgs[row.slug] = row.id;
    });
    after(async () => {
      await t.close();
      await dispose();
    });

    const get = (url: string, cookie: string, headers: Record<string, string> = {}) =>
      t.app.inject({ method: 'GET', url, headers: { cookie, ...headers } });
    const post = (url: string, cookie: string, fields: Record<string, string>) =>
      t.app.inject({
        method: 'POST',
        url,
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams(fields).toString(),
      });

    /** The `access.denied` events of one organization's chain, oldest first (read inside its tenant scope). */
    const denials = async (slug: string) => {
      await refusalsRecorded(); // written off the reply path: wait for the writes in flight
      return withOrg(t.context.db, orgs[slug]!, (trx) =>
        trx.selectFrom('audit_events').selectAll().where('org_id', '=', orgs[slug]!).where('action', '=', 'access.denied').orderBy('seq').execute(),
      );
    };
    const requestIdOf = (response: LightMyRequestResponse) => String(response.headers['x-request-id']);

    test('a member of another organization gets the 404 of a missing organization on every route, and each refusal is an event in the target organization only', async () => {
      const globex = cookies['member@globex.test']!;
      const requestIds = new Map<string, string>();
      for (const url of crossOrgUrls('acme')) {
        const refused = await get(url, globex);
        const missing = await get(url.replace('/acme/', '/no-such-org/'), globex);
        assert.equal(refused.statusCode, 404, url);
        assert.equal(missing.statusCode, 404, url);
        assert.equal(normalized(refused.body), normalized(missing.body), `${url}: the same answer as for nothing there`);
        assert.equal(refused.headers['content-type'], missing.headers['content-type'], url);
        assert.equal(refused.headers['cache-control'], missing.headers['cache-control'], url);
        // the first refusal per path is recorded (the export below shares the audit page's path: left out)
        if (!requestIds.has(url.split('?')[0]!)) requestIds.set(url.split('?')[0]!, requestIdOf(refused));
      }
      // the JSON answer too
      const json = await get('/acme/handbook/-/commits', globex, { accept: 'application/json' });
      const jsonMissing = await get('/no-such-org/handbook/-/commits', globex, { accept: 'application/json' });
      assert.equal(json.statusCode, 404);
      assert.equal(normalized(json.body), normalized(jsonMissing.body));

      const events = await denials('acme');
      for (const [path, requestId] of requestIds) {
        const event = events.find((e) => e.request_id === requestId);
        assert.ok(event, `an access.denied event for ${path}`);
        assert.equal(event.actor_type, 'user');
        assert.equal(event.actor_id, ids['member@globex.test']);
        assert.equal(event.actor_label, 'member@globex.test');
        assert.equal(event.target_type, 'path');
        assert.equal(event.target_id, path);
        assert.equal(event.outcome, 'denied');
        assert.equal(event.reason, 'not a member of this organization');
        assert.equal(event.ip, '127.0.0.1');
        // the export left out just before the settings page is counted on the settings page's event
        assert.deepEqual(event.details, path === '/acme/-/settings' ? { method: 'GET', status: 404, suppressed: 1 } : { method: 'GET', status: 404 });
      }
      assert.equal((await denials('globex')).length, 0, "nothing in the actor's own organization");
      // nothing of the documents' text or titles in the events
      assert.doesNotMatch(JSON.stringify(events), /Data handling|How data moves/);
    });

    test('a git request with a token of another organization gets the 404 of a missing project and is recorded in the target organization', async () => {
      const { token } = await createToken(t.context.db, { userId: ids['member@globex.test']!, name: 'laptop', scopes: ['write'] });
      const auth = { authorization: `Basic ${Buffer.from(`x:${token}`).toString('base64')}` };
      const refs = (repo: string, service = 'git-upload-pack') => t.app.inject({ method: 'GET', url: `/${repo}.git/info/refs?service=${service}`, headers: auth });
      const refused = await refs('acme/handbook');
      const missing = await refs('no-such-org/handbook');
      assert.equal(refused.statusCode, 404);
      assert.equal(refused.body, missing.body);
      assert.equal(refused.headers['content-type'], missing.headers['content-type']);
      const event = (await denials('acme')).find((e) => e.request_id === requestIdOf(refused));
      assert.ok(event);
      assert.equal(event.actor_type, 'token');
      assert.equal(event.actor_label, 'member@globex.test');
      assert.equal(event.target_type, 'repository');
      assert.equal(event.target_id, '/acme/handbook.git');
      assert.equal((await denials('globex')).length, 0);
      // the token's own organization: a clone works and records nothing
      assert.equal((await refs('globex/wiki')).statusCode, 200);
      assert.equal((await denials('globex')).length, 0);
    });

    test("a member's plain missing page is not recorded; a document hidden by its classification is, with the same 404", async () => {
      const member = cookies['member@acme.test']!;
      const before = (await denials('acme')).length;
      const missing = await get('/acme/handbook/policies/no-such-document', member);
      assert.equal(missing.statusCode, 404);
      assert.equal((await denials('acme')).length, before);
      const hidden = await get('/acme/handbook/policies/salary-bands', member); // restricted
      assert.equal(hidden.statusCode, 404);
      assert.equal(normalized(hidden.body), normalized(missing.body));
      const events = await denials('acme');
      assert.equal(events.length, before + 1);
      const event = events.at(-1)!;
      assert.equal(event.request_id, requestIdOf(hidden));
      assert.equal(event.actor_id, ids['member@acme.test']);
      assert.equal(event.target_type, 'document');
      assert.equal(event.target_label, 'policies/salary-bands.md');
      assert.equal(event.reason, 'the role does not allow this');
      // own organization's admin pages: the same 404 as a missing page, recorded
      const members = await get('/acme/-/members', member);
      assert.equal(members.statusCode, 404);
      assert.equal(normalized(members.body), normalized(missing.body));
      assert.ok((await denials('acme')).some((e) => e.request_id === requestIdOf(members)));
    });

    test('attack: a hidden document\'s 404 does no more work before replying than a missing one\'s (the event is written after)', { timeout: 60_000 }, async () => {
      const member = cookies['member@acme.test']!;
      // every query of the audit database waits until released: a reply that waited for the event would never come
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const started: string[] = [];
      const stalled = stalledDb(gate, started);
      const auditDb = t.app.denialAuditDb;
      t.app.denialAuditDb = stalled;
      let hidden: LightMyRequestResponse, missing: LightMyRequestResponse;
      try {
        hidden = await get('/acme/handbook/policies/salary-bands', member); // restricted
        missing = await get('/acme/handbook/policies/no-such-document', member);
        assert.ok(started.length > 0, 'the refusals were handed to the audit database');
      } finally {
        t.app.denialAuditDb = auditDb;
        release();
        await refusalsRecorded();
      }
      assert.equal(hidden.statusCode, 404);
      assert.equal(normalized(hidden.body), normalized(missing.body));
    });

    test('anonymous visitors are sent to sign in and nothing is recorded', async () => {
      const before = (await denials('acme')).length;
      const res = await t.app.inject({ method: 'GET', url: '/acme/handbook/policies/salary-bands' });
      assert.equal(res.statusCode, 303);
      assert.equal((await denials('acme')).length, before);
    });

    test('a viewer posting an edit, a new document, a move or a delete gets 403 and an event; a refused CSRF token is not an event', async () => {
      const viewer = cookies['viewer@acme.test']!;
      const csrf = csrfFrom((await get('/acme/handbook/policies/data-handling', viewer)).body);
      const before = (await denials('acme')).length;
      const attempts = [
        () => post(`/acme/handbook/-/edit/${DOC}`, viewer, { _csrf: csrf, base: 'a'.repeat(40), content: 'x', message: 'x' }),
        () => post(`/acme/handbook/-/edit/${DOC}`, viewer, { _csrf: csrf, base: 'not-a-commit', content: 'x', message: 'x' }),
        () => post('/acme/handbook/-/new', viewer, { _csrf: csrf, path: 'policies/new.md', content: '---\ntitle: New\n---\n', message: 'x' }),
        () => post(`/acme/handbook/-/rename/${DOC}`, viewer, { _csrf: csrf, base: 'a'.repeat(40), newPath: 'policies/moved.md', message: 'x' }),
        () => post(`/acme/handbook/-/delete/${DOC}`, viewer, { _csrf: csrf, base: 'a'.repeat(40), message: 'x' }),
      ];
      // One after another: the flood guard keeps the first of two alike attempts, so the order must be fixed.
      const responses = [];
      for (const attempt of attempts) responses.push(await attempt());
      for (const res of responses) assert.equal(res.statusCode, 403);
      const events = await denials('acme');
      for (const [index, res] of responses.entries()) {
        const event = events.find((e) => e.request_id === requestIdOf(res));
        // the second save is the same actor and target within a minute: left out by the flood guard
        if (index === 1) {
          assert.equal(event, undefined);
          continue;
        }
        assert.ok(event, `event for attempt ${index}`);
        assert.equal(event.actor_id, ids['viewer@acme.test']);
        assert.equal(event.outcome, 'denied');
        assert.equal(event.reason, 'the role does not allow this');
        assert.deepEqual(event.details, index === 2 ? { method: 'POST', status: 403, suppressed: 1 } : { method: 'POST', status: 403 });
      }
      assert.equal(events.length, before + 4);

      // the edit form of a readable document: 403 and an event
      const form = await get('/acme/handbook/-/edit/index.md', viewer);
      assert.equal(form.statusCode, 403);
      assert.ok((await denials('acme')).some((e) => e.request_id === requestIdOf(form)));

      // nothing committed: the document is unchanged
      assert.match((await get('/acme/handbook/policies/data-handling', viewer)).body, /Data handling/);

      const forged = await post(`/acme/handbook/-/edit/policies/other.md`, viewer, { _csrf: 'forged', base: 'a'.repeat(40), content: 'x', message: 'x' });
      assert.equal(forged.statusCode, 403);
      assert.equal((await denials('acme')).some((e) => e.request_id === requestIdOf(forged)), false);
    });

    test("a viewer's token cannot push (403) and the refusal is recorded", async () => {
      const { token } = await createToken(t.context.db, { userId: ids['viewer@acme.test']!, name: 'push', scopes: ['write'] });
      const res = await t.app.inject({
        method: 'GET',
        url: '/acme/handbook.git/info/refs?service=git-receive-pack',
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(res.statusCode, 403);
      const event = (await denials('acme')).find((e) => e.request_id === requestIdOf(res));
      assert.ok(event);
      assert.equal(event.actor_type, 'token');
      assert.equal(event.actor_label, 'viewer@acme.test');
      assert.deepEqual(event.details, { method: 'GET', status: 403 });
    });

    test('the flood guard records one event per actor, organization and target per minute', async () => {
      const globex = cookies['member@globex.test']!;
      const url = '/acme/handbook/hr/reviews';
      const responses = [await get(url, globex), await get(url, globex), await get(url, globex)];
      for (const res of responses) assert.equal(res.statusCode, 404);
      const recorded = (await denials('acme')).filter((e) => responses.some((r) => requestIdOf(r) === e.request_id));
      assert.equal(recorded.length, 1);
      assert.equal(recorded[0]!.request_id, requestIdOf(responses[0]!));
    });
  });
}

describe('DenialFloodGuard', () => {
  test('one event per target and minute, at most the limit per actor and organization, counting what it left out', () => {
    let now = 1_000_000;
    const guard = new DenialFloodGuard(() => now, { targetWindowMs: 60_000, actorWindowMs: 60_000, actorLimit: 3 });
    assert.deepEqual(guard.admit('user:a', 'org1', '/x'), { record: true, suppressed: 0 });
    assert.deepEqual(guard.admit('user:a', 'org1', '/x'), { record: false, suppressed: 0 });
    // another organization, another actor: their own limits
    assert.deepEqual(guard.admit('user:a', 'org2', '/x'), { record: true, suppressed: 0 });
    assert.deepEqual(guard.admit('user:b', 'org1', '/x'), { record: true, suppressed: 0 });
    assert.deepEqual(guard.admit('user:a', 'org1', '/y'), { record: true, suppressed: 1 });
    assert.deepEqual(guard.admit('user:a', 'org1', '/z'), { record: true, suppressed: 0 });
    // the fourth distinct target within the minute is over the per-actor limit
    assert.deepEqual(guard.admit('user:a', 'org1', '/w'), { record: false, suppressed: 0 });
    now += 60_000;
    assert.deepEqual(guard.admit('user:a', 'org1', '/x'), { record: true, suppressed: 1 });
    assert.deepEqual(guard.admit('user:a', 'org1', '/w'), { record: true, suppressed: 0 });
  });
});

/**
 * A stand-in database whose every query waits for `gate` and then fails (as a database that hangs and then
 * drops the connection would); `started` records the queries begun.
 */
function stalledDb(gate: Promise<void>, started: string[]): Db {
  const handler: ProxyHandler<() => void> = {
    get(_target, property) {
      if (property === 'then') return undefined;
      if (typeof property === 'string' && property.startsWith('execute')) {
        return () => {
          started.push(property);
          return gate.then(() => {
            throw new Error('stalled database');
          });
        };
      }
      return proxy;
    },
    apply: () => proxy,
  };
  const proxy: Db = new Proxy(() => {}, handler) as unknown as Db;
  return proxy;
}
