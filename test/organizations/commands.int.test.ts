import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { upsertAccount } from '../../src/auth/accounts.ts';
import { withOrg } from '../../src/db/connection.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../../src/errors.ts';
import { acceptInvitation } from '../../src/organizations/commands/accept-invitation.ts';
import { changeRole } from '../../src/organizations/commands/change-role.ts';
import { changeSettings } from '../../src/organizations/commands/change-settings.ts';
import { createInvitation } from '../../src/organizations/commands/create-invitation.ts';
import type { OrganizationCommandDeps } from '../../src/organizations/commands/deps.ts';
import { issuePasswordReset } from '../../src/organizations/commands/issue-password-reset.ts';
import { removeMember } from '../../src/organizations/commands/remove-member.ts';
import { withdrawInvitation } from '../../src/organizations/commands/withdraw-invitation.ts';
import { readSettings, type OrgSettings } from '../../src/organizations/settings.ts';
import { ANONYMOUS } from '../../src/access/actor.ts';
import { actorOf } from '../helpers/actors.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { withAuditRefused } from '../helpers/refused-audit.ts';
import { createTestApp, PASSWORD, type TestApp } from '../helpers/test-app.ts';

/** Organization commands: wrong role, wrong tenant, and the audit event in the transaction of the change. */
for (const target of databaseTargets()) {
  describe(`organization commands (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let deps: OrganizationCommandDeps;
    let acme: string;
    let globex: string;
    const idOf = async (email: string) => (await t.context.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id;
    const roleOf = async (orgId: string, email: string) => {
      const userId = await idOf(email);
      return (await withOrg(t.context.db, orgId, (trx) => trx.selectFrom('memberships').select('role').where('org_id', '=', orgId).where('user_id', '=', userId).executeTakeFirst()))?.role ?? null;
    };
    const events = (orgId: string, action: string) =>
      withOrg(t.context.db, orgId, (trx) => trx.selectFrom('audit_events').selectAll().where('action', '=', action).orderBy('seq').execute());

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      await upsertAccount(t.context.db, { email: 'admin@globex.test', orgSlug: 'globex', role: 'admin', password: PASSWORD });
      await upsertAccount(t.context.db, { email: 'spare@acme.test', orgSlug: 'acme', role: 'member', password: PASSWORD });
      deps = { db: t.context.db, sessions: t.context.sessions };
      acme = (await t.context.db.selectFrom('organizations').select('id').where('slug', '=', 'acme').executeTakeFirstOrThrow()).id;
      globex = (await t.context.db.selectFrom('organizations').select('id').where('slug', '=', 'globex').executeTakeFirstOrThrow()).id;
    });
    after(async () => {
      await t.close();
      await dispose();
    });

    test('change role: a manager may not (403); an admin of another organization gets 404; nothing changes', async () => {
      const userId = await idOf('viewer@acme.test');
      await assert.rejects(changeRole(deps, await actorOf(t.context.db, 'manager@acme.test'), { orgId: acme, userId, role: 'member' }), ForbiddenError);
      await assert.rejects(changeRole(deps, await actorOf(t.context.db, 'admin@globex.test'), { orgId: acme, userId, role: 'member' }), NotFoundError);
      // an acme admin naming a globex member through acme: no such member here
      const globexMember = await idOf('member@globex.test');
      await assert.rejects(changeRole(deps, await actorOf(t.context.db, 'admin@acme.test'), { orgId: acme, userId: globexMember, role: 'viewer' }), NotFoundError);
      // and through globex's id, where the acme admin is nobody
      await assert.rejects(changeRole(deps, await actorOf(t.context.db, 'admin@acme.test'), { orgId: globex, userId: globexMember, role: 'viewer' }), NotFoundError);
      assert.equal(await roleOf(acme, 'viewer@acme.test'), 'viewer');
      assert.equal(await roleOf(globex, 'member@globex.test'), 'member');
      // an admin may not make someone an owner
      await assert.rejects(changeRole(deps, await actorOf(t.context.db, 'admin@acme.test'), { orgId: acme, userId, role: 'owner' }), ForbiddenError);
    });

    test('change role: the new role and member.role_changed commit together', async () => {
      const admin = await actorOf(t.context.db, 'admin@acme.test');
      const userId = await idOf('viewer@acme.test');
      await withAuditRefused(t.context.db, 'member.role_changed', () =>
        assert.rejects(changeRole(deps, admin, { orgId: acme, userId, role: 'member' })),
      );
      assert.equal(await roleOf(acme, 'viewer@acme.test'), 'viewer');
      const before_ = (await events(acme, 'member.role_changed')).length;
      await changeRole(deps, admin, { orgId: acme, userId, role: 'member' });
      assert.equal(await roleOf(acme, 'viewer@acme.test'), 'member');
      assert.equal((await events(acme, 'member.role_changed')).length, before_ + 1);
      await changeRole(deps, admin, { orgId: acme, userId, role: 'viewer' });
    });

    test('remove member: wrong role 403, wrong tenant 404, and the removal needs its audit event', async () => {
      const userId = await idOf('spare@acme.test');
      await assert.rejects(removeMember(deps, await actorOf(t.context.db, 'manager@acme.test'), { orgId: acme, userId }), ForbiddenError);
      await assert.rejects(removeMember(deps, await actorOf(t.context.db, 'admin@globex.test'), { orgId: acme, userId }), NotFoundError);
      const admin = await actorOf(t.context.db, 'admin@acme.test');
      await withAuditRefused(t.context.db, 'member.removed', () => assert.rejects(removeMember(deps, admin, { orgId: acme, userId })));
      assert.equal(await roleOf(acme, 'spare@acme.test'), 'member');
      await removeMember(deps, admin, { orgId: acme, userId });
      assert.equal(await roleOf(acme, 'spare@acme.test'), null);
      assert.equal((await events(acme, 'member.removed')).at(-1)?.target_id, userId);
    });

    test('password reset: wrong role 403, wrong tenant 404, nobody ranked above; the link needs its audit event', async () => {
      const member = await idOf('member@acme.test');
      const links = async () =>
        withOrg(t.context.db, acme, (trx) => trx.selectFrom('password_resets').select('id').where('user_id', '=', member).where('used_at', 'is', null).execute());
      await assert.rejects(issuePasswordReset(deps, await actorOf(t.context.db, 'manager@acme.test'), { orgId: acme, userId: member }), ForbiddenError);
      await assert.rejects(issuePasswordReset(deps, await actorOf(t.context.db, 'admin@globex.test'), { orgId: acme, userId: member }), NotFoundError);
      await assert.rejects(issuePasswordReset(deps, ANONYMOUS, { orgId: acme, userId: member }), NotFoundError);
      // a member of globex named through acme: no such member here
      await assert.rejects(issuePasswordReset(deps, await actorOf(t.context.db, 'admin@acme.test'), { orgId: acme, userId: await idOf('member@globex.test') }), NotFoundError);
      // never someone ranked above, never oneself
      await assert.rejects(issuePasswordReset(deps, await actorOf(t.context.db, 'admin@acme.test'), { orgId: acme, userId: await idOf('owner@acme.test') }), ForbiddenError);
      await assert.rejects(issuePasswordReset(deps, await actorOf(t.context.db, 'admin@acme.test'), { orgId: acme, userId: await idOf('admin@acme.test') }), ForbiddenError);
      assert.equal((await links()).length, 0);
      const admin = await actorOf(t.context.db, 'admin@acme.test');
      await withAuditRefused(t.context.db, 'member.password_reset_issued', () => assert.rejects(issuePasswordReset(deps, admin, { orgId: acme, userId: member })));
      assert.equal((await links()).length, 0, 'no link without its audit event');
      const before_ = (await events(acme, 'member.password_reset_issued')).length;
      const issued = await issuePasswordReset(deps, admin, { orgId: acme, userId: member, requestId: 'r-1', ip: '127.0.0.1' });
      assert.match(issued.token, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(issued.email, 'member@acme.test');
      const recorded = await events(acme, 'member.password_reset_issued');
      assert.equal(recorded.length, before_ + 1);
      assert.equal(recorded.at(-1)!.target_id, member);
      assert.ok(!JSON.stringify(recorded.at(-1)).includes(issued.token), 'the token is never in the audit log');
      // a second link replaces the first
      await issuePasswordReset(deps, admin, { orgId: acme, userId: member });
      assert.equal((await links()).length, 1);
    });

    test('the last owner stays an owner (409)', async () => {
      const owner = await actorOf(t.context.db, 'owner@acme.test');
      await assert.rejects(removeMember(deps, await actorOf(t.context.db, 'admin@acme.test'), { orgId: acme, userId: owner.userId }), ForbiddenError);
      await assert.rejects(changeRole(deps, owner, { orgId: acme, userId: owner.userId, role: 'admin' }), ConflictError);
    });

    test('invitations: wrong role and wrong tenant refused; create, withdraw and accept each need their audit event', async () => {
      const pending = (orgId: string, email: string) =>
        withOrg(t.context.db, orgId, (trx) => trx.selectFrom('invitations').selectAll().where('email', '=', email).where('accepted_at', 'is', null).where('revoked_at', 'is', null).execute());
      await assert.rejects(createInvitation(deps, await actorOf(t.context.db, 'manager@acme.test'), { orgId: acme, email: 'new@acme.test', role: 'viewer' }), ForbiddenError);
      await assert.rejects(createInvitation(deps, await actorOf(t.context.db, 'admin@globex.test'), { orgId: acme, email: 'new@acme.test', role: 'viewer' }), NotFoundError);
      await assert.rejects(createInvitation(deps, await actorOf(t.context.db, 'admin@acme.test'), { orgId: acme, email: 'new@acme.test', role: 'owner' }), ForbiddenError);
      const admin = await actorOf(t.context.db, 'admin@acme.test');
      await withAuditRefused(t.context.db, 'member.invited', () =>
        assert.rejects(createInvitation(deps, admin, { orgId: acme, email: 'new@acme.test', role: 'viewer' })),
      );
      assert.equal((await pending(acme, 'new@acme.test')).length, 0);

      const first = await createInvitation(deps, admin, { orgId: acme, email: 'New@Acme.test', role: 'viewer' });
      assert.equal(first.email, 'new@acme.test');
      const [invitation] = await pending(acme, 'new@acme.test');
      assert.ok(invitation);
      await assert.rejects(withdrawInvitation(deps, await actorOf(t.context.db, 'member@acme.test'), { orgId: acme, invitationId: invitation.id }), ForbiddenError);
      await assert.rejects(withdrawInvitation(deps, await actorOf(t.context.db, 'admin@globex.test'), { orgId: acme, invitationId: invitation.id }), NotFoundError);
      // withdrawn through another organization's id: nothing of acme changes
      await withdrawInvitation(deps, await actorOf(t.context.db, 'admin@globex.test'), { orgId: globex, invitationId: invitation.id });
      assert.equal((await pending(acme, 'new@acme.test')).length, 1);
      await withAuditRefused(t.context.db, 'member.invitation_withdrawn', () =>
        assert.rejects(withdrawInvitation(deps, admin, { orgId: acme, invitationId: invitation.id })),
      );
      assert.equal((await pending(acme, 'new@acme.test')).length, 1);

      // accepting: the account, the membership and the used invitation stand or fall with member.added
      const input = { token: first.token, name: 'New Person', password: 'a long and unusual passphrase 42', requestId: 'r', ip: '127.0.0.1' };
      await withAuditRefused(t.context.db, 'member.added', () => assert.rejects(acceptInvitation(deps, ANONYMOUS, input)));
      assert.equal(await t.context.db.selectFrom('users').select('id').where('email', '=', 'new@acme.test').executeTakeFirst(), undefined);
      assert.equal((await pending(acme, 'new@acme.test')).length, 1);
      const accepted = await acceptInvitation(deps, ANONYMOUS, input);
      assert.equal(accepted.kind, 'signed-up');
      assert.equal(await roleOf(acme, 'new@acme.test'), 'viewer');
      assert.equal((await pending(acme, 'new@acme.test')).length, 0);
    });

    test('settings: hidden (404) from a manager and from another organization; the change needs settings.changed', async () => {
      const current = await readSettings(t.context.db, acme);
      const next: OrgSettings = { ...current, accessGrantMaxMinutes: 60 };
      const audit = { requestId: 'r', ip: '127.0.0.1' };
      await assert.rejects(changeSettings(deps, await actorOf(t.context.db, 'manager@acme.test'), { orgId: acme, settings: next, audit }), NotFoundError);
      await assert.rejects(changeSettings(deps, await actorOf(t.context.db, 'admin@globex.test'), { orgId: acme, settings: next, audit }), NotFoundError);
      const admin = await actorOf(t.context.db, 'admin@acme.test');
      await withAuditRefused(t.context.db, 'settings.changed', () => assert.rejects(changeSettings(deps, admin, { orgId: acme, settings: next, audit })));
      assert.equal((await readSettings(t.context.db, acme)).accessGrantMaxMinutes, current.accessGrantMaxMinutes);
      assert.deepEqual(await changeSettings(deps, admin, { orgId: acme, settings: next, audit }), ['accessGrantMaxMinutes']);
      assert.equal((await readSettings(t.context.db, acme)).accessGrantMaxMinutes, 60);
      assert.equal((await readSettings(t.context.db, globex)).accessGrantMaxMinutes, current.accessGrantMaxMinutes);
    });
  });
}
