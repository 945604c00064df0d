import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { recordAuditEvent } from '../../src/audit/audit-log.ts';
import { eventHash } from '../../src/audit/hash.ts';
import { toAuditEvent, type AuditEvent } from '../../src/audit/query.ts';
import { verifyAuditChain } from '../../src/audit/verify.ts';
import { findOrganization } from '../../src/organizations/organizations.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { cookiesOf, createTestApp, csrfFrom, PASSWORD, type TestApp } from '../helpers/test-app.ts';

const AUDIT = '/acme/-/audit';
const INTERNAL = '/acme/handbook/policies/data-handling';
const CONFIDENTIAL = '/acme/handbook/policies/incident-response';
const RESTRICTED = '/acme/handbook/policies/salary-bands';
const PUBLIC = '/acme/handbook/security';
const WRONG_PASSWORD = 'not-the-password-Zq81!';

const normalized404 = (body: string) => body.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'ID');

/** A small RFC 4180 parser (quoted cells, doubled quotes, CRLF), enough to read an export back. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(cell), (cell = '');
    else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell), rows.push(row), (row = []), (cell = ''), i++;
    } else cell += c;
  }
  if (cell !== '' || row.length > 0) row.push(cell), rows.push(row);
  return rows;
}

for (const target of databaseTargets()) {
  describe(`audit page and audited events (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let acmeId: string;
    let globexId: string;
    const cookies: Record<string, string> = {};

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      for (const role of ['owner', 'admin', 'manager', 'member', 'viewer']) cookies[role] = await t.login(`${role}@acme.test`);
      cookies.globex = await t.login('member@globex.test');
      acmeId = (await findOrganization(t.context.db, 'acme'))!.id;
      globexId = (await findOrganization(t.context.db, 'globex'))!.id;
    });
    after(async () => {
      await t.close();
      await dispose();
    });

    const get = (url: string, cookie?: string) => t.app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} });

    async function events(orgId: string | null, action?: string): Promise<AuditEvent[]> {
      const rows = await asDatabaseOwner(t.context.db, (owner) => {
        let query = owner.selectFrom('audit_events').selectAll().orderBy('seq', 'asc');
        query = orgId === null ? query.where('org_id', 'is', null) : query.where('org_id', '=', orgId);
        if (action) query = query.where('action', '=', action);
        return query.execute();
      });
      return rows.map(toAuditEvent);
    }

    test('an admin and an owner see the audit page with the sign-ins', async () => {
      for (const role of ['admin', 'owner']) {
        const res = await get(AUDIT, cookies[role]);
        assert.equal(res.statusCode, 200, role);
        assert.match(res.body, /<h1>Audit log<\/h1>/);
        assert.match(res.body, /auth\.sign_in/);
        assert.match(res.body, /manager@acme\.test/);
        assert.doesNotMatch(res.body, /member@globex\.test/, 'only this organization’s events');
        assert.equal(res.headers['cache-control'], 'no-store');
      }
    });

    test('managers, members, viewers and outsiders get the same 404 as a missing page; anonymous is sent to sign in', async () => {
      const missing = await get('/acme/-/no-such-page', cookies.member);
      assert.equal(missing.statusCode, 404);
      for (const who of ['manager', 'member', 'viewer', 'globex']) {
        for (const url of [AUDIT, `${AUDIT}?format=csv`, `${AUDIT}?format=jsonl`]) {
          const res = await get(url, cookies[who]);
          assert.equal(res.statusCode, 404, `${who} ${url}`);
          assert.equal(normalized404(res.body), normalized404((await get('/acme/-/no-such-page', cookies[who])).body));
        }
      }
      assert.equal((await get('/no-such-org/-/audit', cookies.admin)).statusCode, 404);
      const anonymous = await get(AUDIT);
      assert.equal(anonymous.statusCode, 303);
      assert.match(anonymous.headers.location as string, /^\/login\?next=/);
    });

    test('filters narrow the list; invalid filters are a 400', async () => {
      const res = await get(`${AUDIT}?action=auth.sign_in&actor=viewer%40acme`, cookies.admin);
      assert.equal(res.statusCode, 200);
      assert.match(res.body, /viewer@acme\.test/);
      assert.doesNotMatch(res.body, /manager@acme\.test/);
      const future = await get(`${AUDIT}?from=2999-01-01T00:00`, cookies.admin);
      assert.match(future.body, /No events/);
      assert.equal((await get(`${AUDIT}?from=yesterday`, cookies.admin)).statusCode, 400);
      assert.equal((await get(`${AUDIT}?action=%3Cscript%3E`, cookies.admin)).statusCode, 400);
      assert.equal((await get(`${AUDIT}?format=xlsx`, cookies.admin)).statusCode, 400);
    });

    test('the page pages newest first, 50 at a time', async () => {
      for (let n = 0; n < 55; n++) {
        await recordAuditEvent(t.context.db, { orgId: acmeId, actor: { type: 'system', id: null }, action: 'settings.changed', outcome: 'success', details: { n } });
      }
      const first = await get(`${AUDIT}?action=settings.changed`, cookies.admin);
      assert.equal((first.body.match(/<tr>/g) ?? []).length, 51, 'header row and 50 events');
      const older = /href="([^"]*before=\d+[^"]*)"/.exec(first.body)?.[1]?.replace(/&amp;/g, '&');
      assert.ok(older, 'a link to older events');
      const second = await get(older, cookies.admin);
      assert.equal((second.body.match(/<tr>/g) ?? []).length, 6);
      assert.match(second.body, /Newest events/);
    });

    test('CSV export parses back, is an attachment, neutralizes formulas and is itself audited', async () => {
      await recordAuditEvent(t.context.db, {
        orgId: acmeId,
        actor: { type: 'user', id: 'u1', label: '=HYPERLINK("http://evil.test","x")' },
        action: 'member.invited',
        target: { type: 'user', id: 'u2', label: '@SUM(1+1)' },
        reason: '+1, "quoted"\nsecond line',
        outcome: 'success',
      });
      const before = (await events(acmeId, 'audit.exported')).length;
      const res = await get(`${AUDIT}?format=csv`, cookies.admin);
      assert.equal(res.statusCode, 200);
      assert.match(res.headers['content-type'] as string, /^text\/csv/);
      assert.match(res.headers['content-disposition'] as string, /^attachment; filename="audit-acme-\d{4}-\d{2}-\d{2}\.csv"$/);
      const [header, ...rows] = parseCsv(res.body);
      assert.deepEqual(header!.slice(0, 3), ['org_id', 'seq', 'occurred_at']);
      const all = await events(acmeId);
      assert.equal(rows.length, all.length - 1, 'every event but the export’s own record');
      const col = (name: string) => header!.indexOf(name);
      const invited = rows.find((r) => r[col('action')] === 'member.invited')!;
      assert.equal(invited[col('actor_label')], `'=HYPERLINK("http://evil.test","x")`);
      assert.equal(invited[col('target_label')], "'@SUM(1+1)");
      assert.equal(invited[col('reason')], `'+1, "quoted"\\nsecond line`);
      for (const row of rows) assert.equal(row.length, header!.length);
      const exported = await events(acmeId, 'audit.exported');
      assert.equal(exported.length, before + 1);
      assert.equal(exported.at(-1)!.actorLabel, 'admin@acme.test');
      assert.equal(exported.at(-1)!.details!.format, 'csv');
      assert.equal(exported.at(-1)!.requestId, res.headers['x-request-id']);
    });

    test('JSON Lines export parses back and lets anyone recompute every hash offline', async () => {
      const res = await get(`${AUDIT}?format=jsonl&action=auth.`, cookies.owner);
      assert.equal(res.statusCode, 200);
      assert.match(res.headers['content-disposition'] as string, /^attachment; filename="audit-acme-.*\.jsonl"$/);
      const lines = res.body.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, any>);
      assert.ok(lines.length >= 5);
      for (const l of lines) {
        assert.match(l.action, /^auth\./);
        const recomputed = eventHash({
          orgId: l.org_id, seq: l.seq, occurredAt: l.occurred_at, actorType: l.actor_type, actorId: l.actor_id,
          actorLabel: l.actor_label, action: l.action, targetType: l.target_type, targetId: l.target_id,
          targetLabel: l.target_label, reason: l.reason, outcome: l.outcome, requestId: l.request_id, ip: l.ip,
          details: l.details, prevHash: l.prev_hash,
        });
        assert.equal(recomputed, l.hash);
      }
      assert.equal((await events(acmeId, 'audit.exported')).at(-1)!.details!.format, 'jsonl');
    });

    test('each confidential or restricted read is one document.read event per request, even from a warm cache', async () => {
      const reads = async () => events(acmeId, 'document.read');
      const start = (await reads()).length;
      const first = await get(CONFIDENTIAL, cookies.manager);
      const second = await get(CONFIDENTIAL, cookies.manager);
      assert.equal(first.statusCode, 200);
      assert.equal(second.statusCode, 200);
      let after = await reads();
      assert.equal(after.length, start + 2);
      const [a, b] = after.slice(-2);
      assert.equal(a!.requestId, first.headers['x-request-id']);
      assert.equal(b!.requestId, second.headers['x-request-id']);
      assert.equal(a!.actorType, 'user');
      assert.equal(a!.actorLabel, 'manager@acme.test');
      assert.equal(a!.targetType, 'document');
      assert.equal(a!.targetLabel, 'policies/incident-response.md');
      assert.match(a!.targetId!, /:policies\/incident-response\.md$/);
      assert.deepEqual(a!.details, { classification: 'confidential' });
      assert.equal(a!.ip, '127.0.0.1');
      assert.doesNotMatch(JSON.stringify(after), /Incident response runbook/, 'no titles in the audit log');

      assert.equal((await get(RESTRICTED, cookies.admin)).statusCode, 200);
      after = await reads();
      assert.equal(after.length, start + 3);
      assert.equal(after.at(-1)!.details!.classification, 'restricted');

      // Refused reads, internal and public reads leave no document.read event.
      assert.equal((await get(CONFIDENTIAL, cookies.member)).statusCode, 404);
      assert.equal((await get(INTERNAL, cookies.viewer)).statusCode, 200);
      assert.equal((await get(INTERNAL, cookies.manager)).statusCode, 200);
      assert.equal((await get(PUBLIC)).statusCode, 200);
      assert.equal((await reads()).length, start + 3);
    });

    test('sign-in success and failure are recorded per organization with no password anywhere', async () => {
      const failed = await t.app.inject({ method: 'GET', url: '/login' });
      const attempt = async (email: string, password: string) =>
        t.app.inject({
          method: 'POST',
          url: '/login',
          headers: { cookie: cookiesOf(failed), 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams({ email, password, _csrf: csrfFrom(failed.body), next: '/' }).toString(),
        });
      assert.equal((await attempt('member@acme.test', WRONG_PASSWORD)).statusCode, 401);
      const unknown = await attempt('nobody\n2026 auth.sign_in success@acme.test', WRONG_PASSWORD);
      assert.equal(unknown.statusCode, 401);

      const acmeFailure = (await events(acmeId, 'auth.sign_in_failed')).at(-1)!;
      assert.equal(acmeFailure.actorType, 'anonymous');
      assert.equal(acmeFailure.actorLabel, 'member@acme.test');
      assert.equal(acmeFailure.outcome, 'failure');
      assert.equal(acmeFailure.targetType, 'user');
      const systemFailure = (await events(null, 'auth.sign_in_failed')).at(-1)!;
      assert.equal(systemFailure.actorLabel, 'nobody\\n2026 auth.sign_in success@acme.test', 'newline stored escaped');
      assert.equal(systemFailure.requestId, unknown.headers['x-request-id']);

      const signIns = await events(acmeId, 'auth.sign_in');
      assert.ok(signIns.some((e) => e.actorLabel === 'viewer@acme.test' && e.outcome === 'success'));
      assert.ok((await events(globexId, 'auth.sign_in')).some((e) => e.actorLabel === 'member@globex.test'));
      assert.ok(!(await events(globexId)).some((e) => e.actorLabel?.endsWith('@acme.test')), 'no cross-organization events');

      const everything = JSON.stringify(await asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('audit_events').selectAll().execute()));
      assert.ok(!everything.includes(PASSWORD), 'the right password is nowhere');
      assert.ok(!everything.includes(WRONG_PASSWORD), 'the wrong password is nowhere');
      assert.ok(!everything.includes(cookies.viewer!.split('=')[1]!), 'no session id');
    });

    test('sign-out is recorded', async () => {
      const cookie = await t.login('viewer@acme.test');
      const form = await get('/logout', cookie);
      const res = await t.app.inject({
        method: 'POST',
        url: '/logout',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ _csrf: csrfFrom(form.body) }).toString(),
      });
      assert.equal(res.statusCode, 303);
      const signOut = (await events(acmeId, 'auth.sign_out')).at(-1)!;
      assert.equal(signOut.actorLabel, 'viewer@acme.test');
      assert.equal(signOut.requestId, res.headers['x-request-id']);
    });

    test('every chain written through the app verifies', async () => {
      const result = await verifyAuditChain(t.context.db, 'all');
      assert.equal(result.ok, true, JSON.stringify(result.firstBroken));
      assert.ok(result.checked > 60, `checked ${result.checked}`);
    });
  });
}
