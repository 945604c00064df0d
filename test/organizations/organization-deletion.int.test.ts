/**
 * Organization deletion (issue #17): after the grace period the purge leaves nothing of the organization — no row
 * of any table that names it, its projects or the accounts that belonged to it only; no file of its projects under
 * the data directory; no search rows — while another organization, and the audit chains, are untouched.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { UserActor } from '../../src/access/actor.ts';
import { upsertAccount } from '../../src/auth/accounts.ts';
import type { Session } from '../../src/auth/sessions.ts';
import { createToken } from '../../src/auth/tokens.ts';
import { mfaSecretBox } from '../../src/auth/mfa.ts';
import { saveConnection } from '../../src/auth/sso/connection-settings.ts';
import { SsoSignIn } from '../../src/auth/sso/sign-in.ts';
import { verifyAuditChain } from '../../src/audit/verify.ts';
import { signingKeyOf } from '../../src/evidence/signing-key.ts';
import { withOrg, type Db } from '../../src/db/connection.ts';
import { organizationCommands } from '../../src/organizations/commands/index.ts';
import { DELETION_GRACE_MS, projectFilesLeft, purgeDueOrganizations } from '../../src/organizations/deletion.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { createTestApp, PASSWORD, testConfig, type TestApp } from '../helpers/test-app.ts';

const DAY = 24 * 60 * 60 * 1000;

for (const target of databaseTargets()) {
  describe(`organization deletion and purge (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let db: Db;
    let acme: { id: string };
    let globex: { id: string };

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      db = t.context.db;
      acme = await db.selectFrom('organizations').select('id').where('slug', '=', 'acme').executeTakeFirstOrThrow();
      globex = await db.selectFrom('organizations').select('id').where('slug', '=', 'globex').executeTakeFirstOrThrow();
      // the manager of acme is also a viewer at globex: a person with another organization keeps their account
      await upsertAccount(db, { email: 'manager@acme.test', orgSlug: 'globex', role: 'viewer', password: PASSWORD });
      await t.context.branchMoves.deliverDue().catch(() => undefined);
    });
    after(async () => {
      await t.close();
      await dispose();
    });

    const userIdOf = async (email: string) => (await db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id;
    async function actorOf(email: string): Promise<UserActor> {
      const id = await userIdOf(email);
      const rows = await asDatabaseOwner(db, (trx) => trx.selectFrom('memberships').select(['org_id', 'role']).where('user_id', '=', id).execute());
      return { kind: 'user', userId: id, email, name: email, memberships: new Map(rows.map((r) => [r.org_id, r.role])) };
    }
    const sessionOf = (actor: UserActor, reauthenticatedAt: number | null = Date.now()): Session => ({
      idHash: 'test',
      actor,
      createdAt: Date.now(),
      lastSeenAt: Date.now(),
      expiresAt: Date.now() + DAY,
      idleMs: DAY,
      pending: null,
      reauthenticatedAt,
    });
    const commandsAt = (now: number) => organizationCommands({ db, sessions: t.context.sessions, now: () => now });
    const audit = { requestId: 'test', ip: '127.0.0.1' };

    /** Every (table, column) of the public schema, from information_schema (so a table added later is covered too). */
    async function everyTable(): Promise<string[]> {
      const rows = await asDatabaseOwner(db, (trx) =>
        sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`.execute(trx),
      );
      return rows.rows.map((r) => r.table_name);
    }

    /** Rows of any table whose text contains one of `needles` (as the owner: row-level security hides nothing). */
    async function rowsNaming(needles: string[]): Promise<{ table: string; row: string }[]> {
      const found: { table: string; row: string }[] = [];
      for (const table of await everyTable()) {
        const rows = await asDatabaseOwner(db, (trx) =>
          sql<{ row: string }>`select t::text as row from ${sql.table(table)} t where t::text ilike any(${needles.map((n) => `%${n}%`)}::text[])`.execute(trx),
        );
        for (const r of rows.rows) found.push({ table, row: r.row });
      }
      return found;
    }

    test('scheduling needs the owner, a recent re-authentication and the slug typed exactly; nothing changes on a refusal', async () => {
      const owner = await actorOf('owner@acme.test');
      const admin = await actorOf('admin@acme.test');
      const outsider = await actorOf('member@globex.test');
      const commands = commandsAt(Date.now());
      const input = (actor: UserActor, confirmSlug = 'acme', reauth: number | null = Date.now()) => ({ orgId: acme.id, confirmSlug, session: sessionOf(actor, reauth), next: '/acme/-/data', audit });
      await assert.rejects(commands.scheduleDeletion(admin, input(admin)), { status: 404 });
      await assert.rejects(commands.scheduleDeletion(outsider, input(outsider)), { status: 404 });
      await assert.rejects(commands.scheduleDeletion(owner, input(owner, 'acme', null)), { status: 401 });
      await assert.rejects(commands.scheduleDeletion(owner, input(owner, 'acme', Date.now() - 11 * 60_000)), { status: 401 });
      for (const wrong of ['Acme', 'acme ', 'globex', '', 'acm']) {
        if (wrong.trim() === 'acme') continue;
        await assert.rejects(commands.scheduleDeletion(owner, input(owner, wrong)), { status: 400 }, JSON.stringify(wrong));
      }
      // the owner of globex cannot schedule acme's deletion either (not a member: 404)
      await upsertAccount(db, { email: 'owner@globex.test', orgSlug: 'globex', role: 'owner', password: PASSWORD });
      const globexOwner = await actorOf('owner@globex.test');
      await assert.rejects(commands.scheduleDeletion(globexOwner, input(globexOwner)), { status: 404 });
      const row = await db.selectFrom('organizations').select(['deletion_requested_at', 'deletion_purge_after']).where('id', '=', acme.id).executeTakeFirstOrThrow();
      assert.equal(row.deletion_requested_at, null);
      assert.equal(row.deletion_purge_after, null);
    });

    test('the application role cannot remove an audit chain of an organization that is not due', async () => {
      await assert.rejects(withOrg(db, globex.id, (trx) => sql`select * from audit_purge_organization(${globex.id}::uuid)`.execute(trx)), /not due/);
      await assert.rejects(withOrg(db, globex.id, (trx) => trx.deleteFrom('audit_events').where('org_id', '=', globex.id).execute()));
      assert.equal((await verifyAuditChain(db, globex.id)).ok, true);
    });

    test('a scheduled organization can be cancelled by an owner; within the grace period the purge leaves it alone', async () => {
      const owner = await actorOf('owner@acme.test');
      const now = Date.now();
      const scheduled = await commandsAt(now).scheduleDeletion(owner, { orgId: acme.id, confirmSlug: 'acme', session: sessionOf(owner), next: '/acme/-/data', audit });
      assert.equal(scheduled.purgeAfter.getTime() - scheduled.requestedAt.getTime(), DELETION_GRACE_MS);
      // 29 days later: not due
      assert.deepEqual(await purgeDueOrganizations({ db, dataDir: t.dataDir, now: () => now + 29 * DAY }), []);
      // a clock running ahead of the database's cannot purge early either
      assert.deepEqual(await purgeDueOrganizations({ db, dataDir: t.dataDir, now: () => now + 31 * DAY }), []);
      assert.ok(existsSync(join(t.dataDir, 'repos')));
      const admin = await actorOf('admin@acme.test');
      await assert.rejects(commandsAt(now).cancelDeletion(admin, { orgId: acme.id, audit }), { status: 404 });
      assert.equal(await commandsAt(now).cancelDeletion(owner, { orgId: acme.id, audit }), true);
      const events = await withOrg(db, acme.id, (trx) =>
        trx.selectFrom('audit_events').select(['action', 'actor_label']).where('org_id', '=', acme.id).where('action', 'like', 'organization.deletion_%').orderBy('seq').execute(),
      );
      assert.deepEqual(events.map((e) => e.action), ['organization.deletion_scheduled', 'organization.deletion_cancelled']);
      assert.ok(events.every((e) => e.actor_label === 'owner@acme.test'));
    });

    test('while scheduled, its evidence key and its single sign-on answer as for an organization that does not exist', async () => {
      const owner = await actorOf('owner@acme.test');
      const box = mfaSecretBox(testConfig('/nowhere').mfaKeys);
      // a connection to a provider nobody runs: a sign-in of an open organization gets as far as asking it
      await saveConnection(db, box, owner, acme.id, {
        enabled: true, issuer: 'http://127.0.0.1:9/issuer', clientId: 'c', clientSecret: 's', allowedDomains: ['acme.test'],
        roleClaim: null, roleMapping: {}, defaultRole: 'viewer', requireSso: false, breakGlassUserId: null,
      }, audit);
      const sso = new SsoSignIn(db, box, t.context.sessions);
      const begin = (orgSlug: string) => sso.begin({ orgSlug, next: '/', browserKey: 'k'.repeat(43), redirectUri: 'http://localhost/login/sso/callback' });
      await assert.rejects(begin('acme'), { reason: 'provider-unavailable' });
      await signingKeyOf(db, box, acme.id, { type: 'system', id: null, label: 'test' });
      const keyBefore = await t.app.inject({ method: 'GET', url: '/acme/-/evidence-key' });
      assert.equal(keyBefore.statusCode, 200);

      const now = Date.now();
      await commandsAt(now).scheduleDeletion(owner, { orgId: acme.id, confirmSlug: 'acme', session: sessionOf(owner), next: '/acme/-/data', audit });
      try {
        const missing = await t.app.inject({ method: 'GET', url: '/no-such-org/-/evidence-key' });
        const key = await t.app.inject({ method: 'GET', url: '/acme/-/evidence-key' });
        assert.equal(key.statusCode, missing.statusCode);
        const withoutRequestId = (html: string) => html.replace(/Request ID: <code>[^<]*<\/code>/, '');
        assert.equal(withoutRequestId(key.body), withoutRequestId(missing.body));
        await assert.rejects(begin('acme'), { reason: 'not-configured' });
        await assert.rejects(begin('no-such-org'), { reason: 'not-configured' });
      } finally {
        assert.equal(await commandsAt(now).cancelDeletion(owner, { orgId: acme.id, audit }), true);
      }
    });

    test('after the grace period the purge removes every row, file and search entry of the organization, and nothing else', async () => {
      const projects = await withOrg(db, acme.id, (trx) => trx.selectFrom('projects').select(['id', 'repo_dir as repoDir']).where('org_id', '=', acme.id).execute());
      assert.ok(projects.length > 0);
      const project = projects[0]!;
      const onlyAcme = ['owner@acme.test', 'admin@acme.test', 'member@acme.test', 'viewer@acme.test'];
      const onlyAcmeIds = await Promise.all(onlyAcme.map(userIdOf));
      const managerId = await userIdOf('manager@acme.test');
      const memberId = await userIdOf('member@acme.test');

      // more of the organization: sessions, an access token, an invitation, an access request with its grant, an acknowledgment
      await t.login('member@acme.test');
      await t.login('manager@acme.test');
      await createToken(db, { userId: memberId, name: 'laptop', scopes: ['read'] });
      await asDatabaseOwner(db, async (trx) => {
        await sql`insert into invitations (org_id, email, role, token_hash, created_at, expires_at) values (${acme.id}, 'new@acme.test', 'member', 'x', now(), now() + interval '1 day')`.execute(trx);
        const request = await sql<{ id: string }>`insert into access_requests (org_id, project_id, path, requester_id, reason, created_at, expires_at, status)
          values (${acme.id}, ${project.id}, 'secret.md', ${memberId}, 'audit', now(), now() + interval '1 day', 'approved') returning id`.execute(trx);
        await sql`insert into access_grants (org_id, project_id, path, user_id, request_id, classification, granted_at, expires_at)
          values (${acme.id}, ${project.id}, 'secret.md', ${memberId}, ${request.rows[0]!.id}, 'confidential', now(), now() + interval '1 hour')`.execute(trx);
        const version = await sql<{ id: string }>`insert into ack_versions (org_id, project_id, path, commit_id, blob_id, requires_ack, published_at)
          values (${acme.id}, ${project.id}, 'index.md', ${'a'.repeat(40)}, ${'b'.repeat(40)}, true, now()) returning id`.execute(trx);
        await sql`insert into acknowledgments (org_id, user_id, project_id, path, version_id, blob_id, commit_id, acknowledged_at)
          values (${acme.id}, ${memberId}, ${project.id}, 'index.md', ${version.rows[0]!.id}, ${'b'.repeat(40)}, ${'a'.repeat(40)}, now())`.execute(trx);
      });
      const acmeSearchRows = await withOrg(db, acme.id, (trx) => trx.selectFrom('search_documents').select('path').where('org_id', '=', acme.id).execute());
      const globexSearchBefore = await withOrg(db, globex.id, (trx) => trx.selectFrom('search_documents').select('path').where('org_id', '=', globex.id).execute());
      assert.ok(acmeSearchRows.length > 0, 'the search index held the organization before');
      assert.ok(existsSync(join(t.dataDir, 'repos', project.repoDir)));
      const needles = [acme.id, ...projects.map((p) => p.id), ...onlyAcmeIds, ...onlyAcme];
      assert.ok((await rowsNaming(needles)).length > 20, 'the check finds the organization before the purge');
      const globexPageBefore = await t.app.inject({ method: 'GET', url: '/globex/wiki/', headers: { cookie: await t.login('member@globex.test') } });
      assert.equal(globexPageBefore.statusCode, 200);

      // scheduled 31 days ago (the injected clock), then purged now
      const owner = await actorOf('owner@acme.test');
      await commandsAt(Date.now() - 31 * DAY).scheduleDeletion(owner, { orgId: acme.id, confirmSlug: 'acme', session: sessionOf(owner), next: '/acme/-/data', audit });
      // a crash after part of the files went: the next run finishes the job
      const { rmSync } = await import('node:fs');
      rmSync(join(t.dataDir, 'repos', project.repoDir), { recursive: true, force: true });
      // two purge jobs at once (two processes): the organization is purged exactly once
      const [first, second] = await Promise.all([
        purgeDueOrganizations({ db, dataDir: t.dataDir }),
        purgeDueOrganizations({ db, dataDir: t.dataDir }),
      ]);
      const purged = [...first, ...second];
      assert.equal(purged.length, 1);
      assert.equal(purged[0]!.orgId, acme.id);
      assert.equal(purged[0]!.accountsDeleted, onlyAcme.length);
      // idempotent: nothing more to do
      assert.deepEqual(await purgeDueOrganizations({ db, dataDir: t.dataDir }), []);

      // no row anywhere names the organization, its projects, or the accounts that belonged to it only...
      const left = await rowsNaming(needles);
      // ...except the system chain's record of the purge, which names the organization by id only
      const unexpected = left.filter((r) => !(r.table === 'audit_events' && r.row.includes('organization.purged')));
      assert.deepEqual(unexpected, []);
      const record = left.filter((r) => r.table === 'audit_events');
      assert.equal(record.length, 1);
      for (const person of onlyAcme) assert.ok(!record[0]!.row.includes(person));
      assert.ok(!record[0]!.row.includes('acme.test'));
      // no file of its projects under the data directory
      assert.deepEqual(projectFilesLeft(t.dataDir, projects), []);
      const walk = (dir: string): string[] =>
        existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? [join(dir, e.name), ...walk(join(dir, e.name))] : [join(dir, e.name)])) : [];
      const files = walk(t.dataDir).filter((path) => projects.some((p) => path.includes(p.id) || path.includes(p.repoDir)));
      assert.deepEqual(files, []);
      // no search rows (checked above through every table too)
      const search = await asDatabaseOwner(db, (trx) => trx.selectFrom('search_documents').select('org_id').where('org_id', '=', acme.id).execute());
      assert.deepEqual(search, []);

      // a person with another organization keeps the account and that membership
      const manager = await db.selectFrom('users').select(['id', 'email']).where('id', '=', managerId).executeTakeFirst();
      assert.equal(manager?.email, 'manager@acme.test');
      const managerMemberships = await asDatabaseOwner(db, (trx) => trx.selectFrom('memberships').select(['org_id', 'role']).where('user_id', '=', managerId).execute());
      assert.deepEqual(managerMemberships, [{ org_id: globex.id, role: 'viewer' }]);

      // the other organization is untouched: its pages, its search rows, and every audit chain verifies
      const globexPage = await t.app.inject({ method: 'GET', url: '/globex/wiki/', headers: { cookie: await t.login('member@globex.test') } });
      assert.equal(globexPage.statusCode, 200);
      const title = (html: string) => /<title>([^<]*)<\/title>/.exec(html)?.[1];
      assert.equal(title(globexPage.body), title(globexPageBefore.body));
      const globexSearchAfter = await withOrg(db, globex.id, (trx) => trx.selectFrom('search_documents').select('path').where('org_id', '=', globex.id).execute());
      assert.deepEqual(globexSearchAfter, globexSearchBefore);
      const verified = await verifyAuditChain(db, 'all');
      assert.equal(verified.ok, true, JSON.stringify(verified.firstBroken));
      assert.ok(verified.heads.some((h) => h.orgId === globex.id));
      assert.ok(!verified.heads.some((h) => h.orgId === acme.id));
      // the organization's pages answer as an organization that never existed does (once this process forgot it)
      await t.built.catalog.forgetAll();
      for (const cookie of [undefined, await t.login('member@globex.test')]) {
        const gone = await t.app.inject({ method: 'GET', url: '/acme/handbook/', headers: cookie ? { cookie } : {} });
        const never = await t.app.inject({ method: 'GET', url: '/no-such-org/handbook/', headers: cookie ? { cookie } : {} });
        assert.equal(gone.statusCode, never.statusCode);
      }
      assert.deepEqual(projectFilesLeft(t.dataDir, projects), []);
    });
  });
}
