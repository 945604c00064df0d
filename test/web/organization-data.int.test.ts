/**
 * "Export and deletion" (`/{org}/-/data`, issue #17): owners only; the export archive is complete and checkable;
 * deletion needs re-authentication and the slug typed exactly; while scheduled, the organization is closed on
 * every route (pages, public pages, git, API) except its owners' page, where they can cancel.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { recordAuditEvent } from '../../src/audit/audit-log.ts';
import { ChainWalker, CHAIN_ORIGIN } from '../../src/audit/chain-check.ts';
import { createToken } from '../../src/auth/tokens.ts';
import { withOrg } from '../../src/db/connection.ts';
import { sha256 } from '../../src/evidence/manifest.ts';
import { readTar } from '../../src/evidence/tar.ts';
import { startOrganizationExport } from '../../src/organizations/export.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { createTestApp, csrfFrom, PASSWORD, type TestApp } from '../helpers/test-app.ts';

const form = 'application/x-www-form-urlencoded';
const DATA = '/acme/-/data';

for (const target of databaseTargets()) {
  describe(`organization export and deletion pages (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let acmeId: string;
    const cookies: Record<string, string> = {};

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      acmeId = (await t.context.db.selectFrom('organizations').select('id').where('slug', '=', 'acme').executeTakeFirstOrThrow()).id;
      for (const role of ['owner', 'admin', 'manager', 'member', 'viewer']) cookies[role] = await t.login(`${role}@acme.test`);
      cookies.globex = await t.login('member@globex.test');
    });
    after(async () => {
      await t.close();
      await dispose();
    });

    const get = (url: string, cookie?: string) => t.app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} });
    const post = async (url: string, cookie: string, fields: Record<string, string> = {}) => {
      const csrf = csrfFrom((await get('/', cookie)).body);
      return t.app.inject({ method: 'POST', url, headers: { cookie, 'content-type': form }, payload: new URLSearchParams({ ...fields, _csrf: csrf }).toString() });
    };
    const withoutIds = (body: string) => body.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, 'ID');
    const events = (action: string) =>
      withOrg(t.context.db, acmeId, (trx) => trx.selectFrom('audit_events').select(['action', 'actor_label']).where('org_id', '=', acmeId).where('action', '=', action).execute());
    const scheduledAt = async () => (await t.context.db.selectFrom('organizations').select('deletion_purge_after').where('id', '=', acmeId).executeTakeFirstOrThrow()).deletion_purge_after;

    test('only owners see the page; admins and everyone else get the 404 of a missing page', async () => {
      const page = await get(DATA, cookies.owner);
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /action="\/acme\/-\/data\/export"/);
      assert.match(page.body, /name="confirm_slug"/);
      for (const who of ['admin', 'manager', 'member', 'viewer', 'globex']) {
        const res = await get(DATA, cookies[who]);
        const missing = await get('/acme/-/no-such-page', cookies[who]);
        assert.equal(res.statusCode, 404, who);
        assert.equal(withoutIds(res.body), withoutIds(missing.body), who);
      }
      assert.equal((await get(DATA)).statusCode, 303, 'anonymous: sent to sign in');
    });

    test('an admin, a member of another organization or a forged form cannot export; nothing is recorded', async () => {
      for (const who of ['admin', 'globex']) assert.equal((await post(`${DATA}/export`, cookies[who]!)).statusCode, 404, who);
      const forged = await t.app.inject({ method: 'POST', url: `${DATA}/export`, headers: { cookie: cookies.owner!, 'content-type': form }, payload: '_csrf=forged' });
      assert.equal(forged.statusCode, 403);
      assert.equal((await events('organization.exported')).length, 0);
    });

    test('the export holds the repositories, members, acknowledgments and the audit log with its chain, each file in the manifest', async () => {
      const res = await post(`${DATA}/export`, cookies.owner!);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], 'application/gzip');
      assert.match(String(res.headers['content-disposition']), /^attachment; filename="docucommit-acme-export-\d{4}-\d{2}-\d{2}\.tar\.gz"$/);
      const files = new Map<string, Buffer>();
      await readTar(Readable.from([gunzipSync(res.rawPayload)]), (name, data) => void files.set(name, data));
      for (const name of ['README.md', 'organization.json', 'projects.jsonl', 'projects.csv', 'members.jsonl', 'members.csv', 'acknowledgments.jsonl', 'acknowledgments.csv', 'audit/events.jsonl', 'audit/chain.json', 'repositories/handbook.bundle', 'manifest.json']) {
        assert.ok(files.has(name), name);
      }
      // no other organization's repository, member or event
      assert.ok(![...files.keys()].some((name) => name.includes('wiki')));
      assert.doesNotMatch(files.get('members.jsonl')!.toString(), /globex/);
      const members = files.get('members.jsonl')!.toString().trim().split('\n').map((line) => JSON.parse(line) as { email: string; role: string });
      assert.deepEqual(members.map((m) => m.email).sort(), ['admin@acme.test', 'manager@acme.test', 'member@acme.test', 'owner@acme.test', 'viewer@acme.test']);
      // every file but the manifest is listed with its SHA-256
      const manifest = JSON.parse(files.get('manifest.json')!.toString()) as { files: { path: string; sha256: string; bytes: number }[] };
      assert.deepEqual(manifest.files.map((f) => f.path).sort(), [...files.keys()].filter((n) => n !== 'manifest.json').sort());
      for (const entry of manifest.files) {
        assert.equal(entry.sha256, sha256(files.get(entry.path)!), entry.path);
        assert.equal(entry.bytes, files.get(entry.path)!.length, entry.path);
      }
      // the audit chain recomputes from the exported lines alone, up to the export's own record
      const lines = files.get('audit/events.jsonl')!.toString().trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      const walker = new ChainWalker(CHAIN_ORIGIN);
      for (const e of lines) {
        const problem = walker.next({
          orgId: e.org_id as string, seq: e.seq as string, occurredAt: e.occurred_at as string, actorType: e.actor_type as 'user', actorId: e.actor_id as string | null,
          actorLabel: e.actor_label as string | null, action: e.action as string, targetType: e.target_type as string | null, targetId: e.target_id as string | null,
          targetLabel: e.target_label as string | null, reason: e.reason as string | null, outcome: e.outcome as 'success', requestId: e.request_id as string | null,
          ip: e.ip as string | null, details: e.details as Record<string, string> | null, prevHash: e.prev_hash as string, hash: e.hash as string,
        });
        assert.equal(problem, null, `event ${String(e.seq)}`);
      }
      assert.equal(lines.at(-1)!.action, 'organization.exported');
      const chain = JSON.parse(files.get('audit/chain.json')!.toString()) as { head: { seq: string; hash: string }; intact_when_exported: boolean };
      assert.equal(chain.intact_when_exported, true);
      assert.equal(chain.head.hash, lines.at(-1)!.hash);
      // the bundle is a real git bundle of the project's branches
      const dir = mkdtempSync(join(tmpdir(), 'docucommit-bundle-'));
      try {
        writeFileSync(join(dir, 'handbook.bundle'), files.get('repositories/handbook.bundle')!);
        const heads = execFileSync('git', ['bundle', 'list-heads', join(dir, 'handbook.bundle')], { encoding: 'utf8' });
        assert.match(heads, /refs\/heads\/main/);
        execFileSync('git', ['clone', '--quiet', join(dir, 'handbook.bundle'), join(dir, 'clone')]);
        execFileSync('git', ['-C', join(dir, 'clone'), 'cat-file', '-e', 'HEAD:index.md']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      assert.deepEqual(await events('organization.exported'), [{ action: 'organization.exported', actor_label: 'owner@acme.test' }]);
    });

    test('the archive’s audit log ends with its own record, whatever is appended while the archive is written', async () => {
      const org = { id: acmeId, slug: 'acme', name: 'Acme' };
      const started = await startOrganizationExport({ db: t.context.db, repositories: t.context.repositories }, { org, reader: 'operator' });
      // another event lands in the chain after the export was recorded and before its archive is read
      await recordAuditEvent(t.context.db, {
        orgId: acmeId,
        actor: { type: 'system', id: null, label: 'test' },
        action: 'access.denied',
        target: { type: 'organization', id: acmeId },
        outcome: 'denied',
      });
      const chunks: Buffer[] = [];
      const out = new Writable({ write: (chunk: Buffer, _encoding, done) => void (chunks.push(chunk), done()) });
      const summary = await started.write(out);
      const files = new Map<string, Buffer>();
      await readTar(Readable.from([Buffer.concat(chunks)]), (name, data) => void files.set(name, data));
      const lines = files.get('audit/events.jsonl')!.toString().trim().split('\n').map((line) => JSON.parse(line) as { action: string; seq: string });
      assert.equal(lines.at(-1)!.action, 'organization.exported');
      assert.equal(summary.auditEvents, lines.length);
      const newest = await withOrg(t.context.db, acmeId, (trx) =>
        trx.selectFrom('audit_events').select(['action', 'seq']).where('org_id', '=', acmeId).orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow(),
      );
      assert.equal(newest.action, 'access.denied', 'the later event is in the chain, only not in this archive');
      assert.equal(BigInt(newest.seq), BigInt(lines.at(-1)!.seq) + 1n);
    });

    test('deleting refuses an admin, a stale re-authentication and a wrong slug; changes nothing', async () => {
      assert.equal((await post(`${DATA}/delete`, cookies.admin!, { confirm_slug: 'acme' })).statusCode, 404);
      assert.equal((await post(`${DATA}/delete`, cookies.globex!, { confirm_slug: 'acme' })).statusCode, 404);
      for (const wrong of ['ACME', 'globex', '', 'acme-x']) {
        const res = await post(`${DATA}/delete`, cookies.owner!, { confirm_slug: wrong });
        assert.equal(res.statusCode, 400, wrong);
        assert.match(res.body, /type the organization/i);
      }
      const ownerId = (await t.context.db.selectFrom('users').select('id').where('email', '=', 'owner@acme.test').executeTakeFirstOrThrow()).id;
      await t.context.db.updateTable('sessions').set({ reauthenticated_at: new Date(Date.now() - 60 * 60_000) }).where('user_id', '=', ownerId).execute();
      t.context.sessions.dropAll();
      const stale = await post(`${DATA}/delete`, cookies.owner!, { confirm_slug: 'acme' });
      assert.equal(stale.statusCode, 303);
      assert.equal(stale.headers.location, `/-/reauth?next=${encodeURIComponent(DATA)}`);
      assert.equal(await scheduledAt(), null);
      assert.equal((await events('organization.deletion_scheduled')).length, 0);
      // confirming the password again allows it
      const reauth = await post('/-/reauth', cookies.owner!, { password: PASSWORD, next: DATA });
      assert.equal(reauth.statusCode, 303);
    });

    test('while scheduled the organization is closed on every route but its owners’ page; an owner cancels', async () => {
      const token = (await createToken(t.context.db, { userId: (await t.context.db.selectFrom('users').select('id').where('email', '=', 'admin@acme.test').executeTakeFirstOrThrow()).id, name: 'ci', scopes: ['read'] })).token;
      const before = {
        member: (await get('/acme/handbook/', cookies.member)).statusCode,
        publicPage: (await get('/acme/handbook/security')).statusCode,
        api: (await t.app.inject({ method: 'GET', url: '/api/v1/projects/acme/handbook/documents', headers: { authorization: `Bearer ${token}` } })).statusCode,
      };
      assert.deepEqual(before, { member: 200, publicPage: 200, api: 200 });

      const scheduled = await post(`${DATA}/delete`, cookies.owner!, { confirm_slug: 'acme' });
      assert.equal(scheduled.statusCode, 303);
      assert.equal(scheduled.headers.location, `${DATA}?done=scheduled`);
      assert.ok(await scheduledAt());
      assert.equal((await events('organization.deletion_scheduled')).length, 1);

      // every page answers exactly as the same page of an organization that does not exist
      const same = async (url: string, cookie?: string) => {
        const res = await get(url, cookie);
        const never = await get(url.replace(/^\/acme\//, '/no-such-org/'), cookie);
        assert.equal(res.statusCode, never.statusCode, `${url} ${cookie ? 'signed in' : 'anonymous'}`);
        assert.equal(withoutIds(res.body).replaceAll('/acme/', '/X/'), withoutIds(never.body).replaceAll('/no-such-org/', '/X/'), url);
        return res.statusCode;
      };
      for (const who of ['admin', 'manager', 'member', 'viewer', 'globex']) {
        for (const url of ['/acme/handbook/', '/acme/handbook/security', '/acme/-/settings', '/acme/-/members', DATA]) {
          assert.notEqual(await same(url, cookies[who]), 200, `${who} ${url}`);
        }
        assert.doesNotMatch((await get('/', cookies[who])).body, /Acme Handbook/, who);
      }
      // anonymous: the public page is gone too
      assert.notEqual(await same('/acme/handbook/security'), 200);
      // git and the API (an admin's token)
      const git = await get('/acme/handbook.git/info/refs?service=git-upload-pack');
      const gitMissing = await get('/no-such-org/handbook.git/info/refs?service=git-upload-pack');
      assert.equal(git.statusCode, gitMissing.statusCode);
      const api = await t.app.inject({ method: 'GET', url: '/api/v1/projects/acme/handbook/documents', headers: { authorization: `Bearer ${token}` } });
      const apiMissing = await t.app.inject({ method: 'GET', url: '/api/v1/projects/no-such-org/handbook/documents', headers: { authorization: `Bearer ${token}` } });
      assert.equal(api.statusCode, 404);
      assert.equal(api.statusCode, apiMissing.statusCode);
      // the owner is sent to the page that says so, and can still export and cancel there
      const ownerPage = await get('/acme/handbook/', cookies.owner);
      assert.equal(ownerPage.statusCode, 303);
      assert.equal(ownerPage.headers.location, DATA);
      const page = await get(DATA, cookies.owner);
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /Scheduled for deletion/);
      assert.match(page.body, /action="\/acme\/-\/data\/cancel-deletion"/);
      assert.doesNotMatch(page.body, /name="confirm_slug"/);
      // an admin cannot cancel
      assert.equal((await post(`${DATA}/cancel-deletion`, cookies.admin!)).statusCode, 404);
      assert.ok(await scheduledAt());

      const cancelled = await post(`${DATA}/cancel-deletion`, cookies.owner!);
      assert.equal(cancelled.statusCode, 303);
      assert.equal(await scheduledAt(), null);
      assert.equal((await get('/acme/handbook/', cookies.member)).statusCode, 200);
      assert.equal((await get('/acme/handbook/security')).statusCode, 200);
      assert.deepEqual((await events('organization.deletion_cancelled')).map((e) => e.actor_label), ['owner@acme.test']);
    });
  });
}
