import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { recordAuditEvent } from '../../src/audit/audit-log.ts';
import { upsertAccount } from '../../src/auth/accounts.ts';
import { openDatabase, withAuditChain, withOrg, withUser, type Db } from '../../src/db/connection.ts';
import { TENANT_TABLES } from '../../src/db/migrations/006-row-level-security.ts';
import { ensureOrganization } from '../../src/organizations/organizations.ts';
import { ensureProject } from '../../src/projects/projects.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';

for (const target of databaseTargets()) {
  describe(`row-level security (${target.name})`, () => {
    let db: Db;
    let dispose: () => Promise<void>;
    let ownerUrl: string | undefined;
    let acme: string;
    let globex: string;
    let aliceId: string;
    let bobId: string;

    before(async () => {
      ({ db, dispose, ownerUrl } = await target.open());
      acme = (await ensureOrganization(db, 'acme')).id;
      globex = (await ensureOrganization(db, 'globex')).id;
      await ensureProject(db, { orgId: acme, slug: 'handbook' });
      await ensureProject(db, { orgId: globex, slug: 'wiki' });
      aliceId = (await upsertAccount(db, { email: 'alice@acme.test', orgSlug: 'acme', role: 'owner', password: 'a long enough passphrase' })).user.id;
      bobId = (await upsertAccount(db, { email: 'bob@globex.test', orgSlug: 'globex', role: 'owner', password: 'a long enough passphrase' })).user.id;
      for (const orgId of [acme, globex, null]) {
        await recordAuditEvent(db, {
          orgId,
          actor: { type: 'system', id: null, label: 'test' },
          action: 'test.seeded',
          outcome: 'success',
        });
      }
    });
    after(() => dispose());

    test('the application runs as a role that is no superuser and cannot bypass row-level security', async () => {
      const { rows } = await sql<{ user: string; rolsuper: boolean; rolbypassrls: boolean }>`
        select current_user as user, rolsuper, rolbypassrls from pg_roles where rolname = current_user`.execute(db);
      assert.deepEqual(rows, [{ user: 'docucommit_app', rolsuper: false, rolbypassrls: false }]);
    });

    if (target.name === 'postgres') {
      test('the application logs in as its role, and no statement on its connection leaves that role', async () => {
        // The attack: statements injected into the application's session try to become the owner or a superuser.
        await db.connection().execute(async (session) => {
          await assert.rejects(sql`SET ROLE postgres`.execute(session), /permission denied/);
          await assert.rejects(sql`SET SESSION AUTHORIZATION postgres`.execute(session), /permission denied/);
          await sql`RESET ROLE`.execute(session);
          await sql`SET ROLE NONE`.execute(session);
          const { rows } = await sql<{ current: string; session: string; owner: boolean }>`
            select current_user as current, session_user as session,
              pg_has_role(current_user, (select relowner from pg_class where oid = 'projects'::regclass), 'MEMBER') as owner`.execute(session);
          assert.deepEqual(rows, [{ current: 'docucommit_app', session: 'docucommit_app', owner: false }]);
          // and on that same session, a query that forgets its org_id filter still sees one organization
          const projects = await withOrg(session, acme, (trx) => trx.selectFrom('projects').select(['org_id', 'slug']).execute());
          assert.deepEqual(projects, [{ org_id: acme, slug: 'handbook' }]);
          const unscoped = await sql<{ n: number }>`select count(*)::int as n from projects`.execute(session);
          assert.equal(unscoped.rows[0]!.n, 0);
        });
      });
    }

    if (target.name === 'postgres') {
      test('an application connection that could bypass row-level security is refused at start', async () => {
        // DATABASE_APP_URL naming the owner (here a superuser) by mistake
        await assert.rejects(
          openDatabase({ kind: 'postgres', url: ownerUrl!, appUrl: ownerUrl!, secret: Buffer.alloc(32, 7) }),
          /could bypass row-level security/,
        );
      });
    }

    test('every tenant table has row-level security enabled', async () => {
      const { rows } = await sql<{ relname: string; relrowsecurity: boolean }>`
        select relname, relrowsecurity from pg_class where relkind = 'r' and relnamespace = 'public'::regnamespace`.execute(db);
      const secured = new Set(rows.filter((r) => r.relrowsecurity).map((r) => r.relname));
      for (const table of [...TENANT_TABLES, 'memberships', 'audit_events']) assert.ok(secured.has(table), `${table} has RLS`);
    });

    test('without an organization set, tenant tables show no rows at all', async () => {
      // The owner sees that rows exist, so "no rows" below is the policy at work, not an empty table.
      const owned = await asDatabaseOwner(db, (trx) => trx.selectFrom('projects').select('id').execute());
      assert.equal(owned.length, 2);
      for (const table of [...TENANT_TABLES, 'memberships', 'audit_events']) {
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(db);
        assert.equal(rows[0]!.n, 0, `${table} shows nothing without an organization`);
      }
    });

    test('a query that forgets its org_id filter still sees only the current organization', async () => {
      // The bug: no .where('org_id', ...) at all.
      const projects = await withOrg(db, acme, (trx) => trx.selectFrom('projects').select(['org_id', 'slug']).execute());
      assert.deepEqual(projects, [{ org_id: acme, slug: 'handbook' }]);
      const members = await withOrg(db, globex, (trx) => trx.selectFrom('memberships').select('user_id').execute());
      assert.deepEqual(members.map((m) => m.user_id), [bobId]);
      const events = await withOrg(db, acme, (trx) => trx.selectFrom('audit_events').select('org_id').execute());
      assert.deepEqual(events.map((e) => e.org_id), [acme]);
    });

    test('an unfiltered update or delete cannot reach another organization', async () => {
      await withOrg(db, acme, (trx) => trx.updateTable('projects').set({ name: 'renamed by acme' }).execute());
      await withOrg(db, acme, (trx) => trx.deleteFrom('memberships').where('user_id', '=', bobId).execute());
      const globexProject = await withOrg(db, globex, (trx) => trx.selectFrom('projects').select('name').executeTakeFirstOrThrow());
      assert.equal(globexProject.name, 'wiki');
      const bobStill = await withOrg(db, globex, (trx) => trx.selectFrom('memberships').select('user_id').execute());
      assert.deepEqual(bobStill.map((m) => m.user_id), [bobId]);
    });

    test('rows cannot be written into another organization', async () => {
      await assert.rejects(
        withOrg(db, acme, (trx) =>
          trx.insertInto('projects').values({ org_id: globex, slug: 'planted', name: 'planted', repo_dir: 'planted.git' }).execute(),
        ),
        /row-level security/,
      );
      await assert.rejects(
        withOrg(db, acme, (trx) => trx.insertInto('memberships').values({ org_id: globex, user_id: aliceId, role: 'owner' }).execute()),
        /row-level security/,
      );
      await assert.rejects(
        withOrg(db, acme, (trx) => trx.updateTable('projects').set({ org_id: globex }).execute()),
        /row-level security/,
      );
    });

    test('a user scope shows that user’s memberships in every organization and nobody else’s', async () => {
      await upsertAccount(db, { email: 'alice@acme.test', orgSlug: 'globex', role: 'viewer' });
      const mine = await withUser(db, aliceId, (trx) => trx.selectFrom('memberships').select(['org_id', 'user_id']).execute());
      assert.deepEqual(new Set(mine.map((m) => m.org_id)), new Set([acme, globex]));
      assert.ok(mine.every((m) => m.user_id === aliceId));
      const projects = await withUser(db, aliceId, (trx) => trx.selectFrom('projects').select('id').execute());
      assert.equal(projects.length, 0, 'a user scope opens no tenant data');
    });

    test('the system audit chain is visible only when asked for by name', async () => {
      const unscoped = await withOrg(db, acme, (trx) => trx.selectFrom('audit_events').select('org_id').where('org_id', 'is', null).execute());
      assert.equal(unscoped.length, 0);
      const system = await withAuditChain(db, null, (trx) => trx.selectFrom('audit_events').select('org_id').execute());
      assert.deepEqual(system.map((e) => e.org_id), [null]);
    });

    test('a nested scope is restored when it ends', async () => {
      await withOrg(db, acme, async (trx) => {
        await withOrg(trx, globex, async (inner) => {
          assert.equal((await inner.selectFrom('projects').select('slug').executeTakeFirstOrThrow()).slug, 'wiki');
        });
        assert.equal((await trx.selectFrom('projects').select('slug').executeTakeFirstOrThrow()).slug, 'handbook');
      });
    });
  });
}
