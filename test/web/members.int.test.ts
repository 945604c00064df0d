import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { upsertAccount } from '../../src/auth/accounts.ts';
import { asDatabaseOwner, databaseTargets } from '../helpers/databases.ts';
import { cookiesOf, createTestApp, csrfFrom, PASSWORD, type TestApp } from '../helpers/test-app.ts';

for (const target of databaseTargets()) {
  describe(`members page (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    const cookies: Record<string, string> = {};
    const ids: Record<string, string> = {};

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      for (const who of ['extra1', 'extra2', 'extra3']) {
        await upsertAccount(t.context.db, { email: `${who}@acme.test`, orgSlug: 'acme', role: 'member', password: PASSWORD, name: `Acme ${who}` });
      }
      for (const role of ['owner', 'admin', 'manager', 'member', 'viewer', 'extra1']) cookies[role] = await t.login(`${role}@acme.test`);
      cookies.globex = await t.login('member@globex.test');
      for (const row of await t.context.db.selectFrom('users').select(['id', 'email']).execute()) {
        ids[row.email.replace('@acme.test', '').replace('@globex.test', '.globex')] = row.id;
      }
    });
    after(async () => {
      await t.close();
      await dispose();
    });

    const get = (url: string, cookie?: string) => t.app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} });
    async function post(url: string, cookie: string, fields: Record<string, string> = {}) {
      const csrf = csrfFrom((await get('/', cookie)).body);
      return t.app.inject({
        method: 'POST',
        url,
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ ...fields, _csrf: csrf }).toString(),
      });
    }
    const roleOf = async (userId: string, org = 'acme') =>
      (
        await asDatabaseOwner(t.context.db, (owner) => owner
          .selectFrom('memberships')
          .innerJoin('organizations', 'organizations.id', 'memberships.org_id')
          .select('role')
          .where('user_id', '=', userId)
          .where('organizations.slug', '=', org)
          .executeTakeFirst())
      )?.role ?? null;

    test('admins and owners see the member list; everyone else gets the same 404 as a missing page', async () => {
      for (const role of ['owner', 'admin']) {
        const res = await get('/acme/-/members', cookies[role]);
        assert.equal(res.statusCode, 200, role);
        assert.match(res.body, /viewer@acme\.test/);
        assert.match(res.body, /Acme manager/);
        assert.equal(res.headers['cache-control'], 'no-store');
      }
      const withoutIds = (body: string) => body.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, 'ID');
      for (const who of ['manager', 'member', 'viewer', 'globex']) {
        const res = await get('/acme/-/members', cookies[who]);
        const missing = await get('/acme/-/no-such-page', cookies[who]);
        assert.equal(res.statusCode, 404, who);
        assert.equal(withoutIds(res.body), withoutIds(missing.body), who);
      }
      assert.equal((await get('/acme/-/members')).statusCode, 303, 'anonymous: sign in');
    });

    test('a manager cannot grant admin (403), nor can anyone below admin change roles', async () => {
      const res = await post(`/acme/-/members/${ids.member}/role`, cookies.manager!, { role: 'admin' });
      assert.equal(res.statusCode, 403);
      assert.equal(await roleOf(ids.member!), 'member');
      assert.equal((await post(`/acme/-/members/${ids.viewer}/role`, cookies.member!, { role: 'member' })).statusCode, 403);
      assert.equal((await post(`/acme/-/members/${ids.viewer}/remove`, cookies.manager!)).statusCode, 403);
    });

    test('an admin grants up to admin but not owner, and cannot touch an owner', async () => {
      assert.equal((await post(`/acme/-/members/${ids.extra2}/role`, cookies.admin!, { role: 'owner' })).statusCode, 403);
      assert.equal((await post(`/acme/-/members/${ids.owner}/role`, cookies.admin!, { role: 'member' })).statusCode, 403);
      assert.equal((await post(`/acme/-/members/${ids.owner}/remove`, cookies.admin!)).statusCode, 403);
      const ok = await post(`/acme/-/members/${ids.extra2}/role`, cookies.admin!, { role: 'admin' });
      assert.equal(ok.statusCode, 303);
      assert.equal(await roleOf(ids.extra2!), 'admin');
      assert.equal((await post(`/acme/-/members/${ids.extra2}/role`, cookies.admin!, { role: 'member' })).statusCode, 303);
      assert.equal(await roleOf(ids.extra2!), 'member');
    });

    test('demoting or removing the last owner is 409 with a clear message', async () => {
      const demote = await post(`/acme/-/members/${ids.owner}/role`, cookies.owner!, { role: 'admin' });
      assert.equal(demote.statusCode, 409);
      assert.match(demote.body, /at least one owner/);
      const remove = await post(`/acme/-/members/${ids.owner}/remove`, cookies.owner!);
      assert.equal(remove.statusCode, 409);
      assert.equal(await roleOf(ids.owner!), 'owner');
    });

    test('nobody changes their own role, and organization ids in the form are ignored', async () => {
      const own = await post(`/acme/-/members/${ids.admin}/role`, cookies.admin!, { role: 'owner' });
      assert.equal(own.statusCode, 400);
      assert.equal(await roleOf(ids.admin!), 'admin');
      const globex = await t.context.db.selectFrom('organizations').select('id').where('slug', '=', 'globex').executeTakeFirstOrThrow();
      // A globex member addressed through acme's URL does not exist there; an org id in the body changes nothing.
      const cross = await post(`/acme/-/members/${ids['member.globex']}/role`, cookies.owner!, { role: 'admin', orgId: globex.id, org_id: globex.id });
      assert.equal(cross.statusCode, 404);
      assert.equal(await roleOf(ids['member.globex']!, 'globex'), 'member');
      const smuggled = await post(`/acme/-/members/${ids.extra3}/role`, cookies.owner!, { role: 'viewer', orgId: globex.id });
      assert.equal(smuggled.statusCode, 303);
      assert.equal(await roleOf(ids.extra3!), 'viewer');
      assert.equal(await roleOf(ids.extra3!, 'globex'), null);
      assert.equal((await post(`/acme/-/members/${ids.viewer}/role`, cookies.globex!, { role: 'admin' })).statusCode, 404, 'outsider');
      assert.equal((await post(`/acme/-/members/${ids.viewer}/role`, cookies.owner!, { role: 'superuser' })).statusCode, 400);
    });

    test('a role change applies on the next request, and a removed member loses access at once', async () => {
      const page = '/acme/handbook/policies/incident-response';
      assert.equal((await get(page, cookies.extra1)).statusCode, 404);
      assert.equal((await post(`/acme/-/members/${ids.extra1}/role`, cookies.owner!, { role: 'manager' })).statusCode, 303);
      assert.equal((await get(page, cookies.extra1)).statusCode, 200, 'promotion visible immediately');
      assert.equal((await post(`/acme/-/members/${ids.extra1}/role`, cookies.owner!, { role: 'member' })).statusCode, 303);
      assert.equal((await get(page, cookies.extra1)).statusCode, 404, 'demotion visible immediately');
      assert.equal((await post(`/acme/-/members/${ids.extra1}/remove`, cookies.owner!)).statusCode, 303);
      const after = await get('/acme/handbook/policies/data-handling', cookies.extra1);
      assert.equal(after.statusCode, 303, 'no other organization: every session ended');
    });

    test('two owners demoting each other at once leave exactly one owner', async () => {
      await upsertAccount(t.context.db, { email: 'owner2@acme.test', orgSlug: 'acme', role: 'owner', password: PASSWORD });
      const owner2 = await t.login('owner2@acme.test');
      const id2 = (await t.context.db.selectFrom('users').select('id').where('email', '=', 'owner2@acme.test').executeTakeFirstOrThrow()).id;
      const [a, b] = await Promise.all([
        post(`/acme/-/members/${id2}/role`, cookies.owner!, { role: 'admin' }),
        post(`/acme/-/members/${ids.owner}/role`, owner2, { role: 'admin' }),
      ]);
      const owners = await asDatabaseOwner(t.context.db, (owner) => owner
        .selectFrom('memberships')
        .innerJoin('organizations', 'organizations.id', 'memberships.org_id')
        .select('user_id')
        .where('organizations.slug', '=', 'acme')
        .where('role', '=', 'owner')
        .execute());
      assert.equal(owners.length, 1, `statuses ${a.statusCode} ${b.statusCode}`);
      assert.ok([a.statusCode, b.statusCode].some((s) => s === 409 || s === 403));
      // Restore the original owner for the other tests.
      await asDatabaseOwner(t.context.db, (owner) => owner.updateTable('memberships').set({ role: 'owner' }).where('user_id', '=', ids.owner!).execute());
      t.context.sessions.invalidateUser(ids.owner!);
    });

    test('an invitation link is shown once, works once, and creates an account', async () => {
      const created = await post('/acme/-/invitations', cookies.admin!, { email: 'New.Person@Example.test', role: 'manager' });
      assert.equal(created.statusCode, 200);
      const link = /value="(http:\/\/[^"]+\/invite\/([A-Za-z0-9_-]{43}))"/.exec(created.body);
      assert.ok(link, 'the link is on the page');
      const path = `/invite/${link[2]}`;
      assert.doesNotMatch((await get('/acme/-/members', cookies.admin)).body, new RegExp(link[2]!), 'shown only once');
      const stored = await asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('invitations').select('token_hash').executeTakeFirstOrThrow());
      assert.notEqual(stored.token_hash, link[2], 'only a hash is stored');

      const form = await get(path);
      assert.equal(form.statusCode, 200);
      assert.match(form.body, /Create your account for new\.person@example\.test/);
      const short = await t.app.inject({
        method: 'POST',
        url: path,
        headers: { cookie: cookiesOf(form), 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ name: 'New Person', password: 'short', _csrf: csrfFrom(form.body) }).toString(),
      });
      assert.equal(short.statusCode, 400);
      assert.match(short.body, /12 to 128/);
      const accept = await t.app.inject({
        method: 'POST',
        url: path,
        headers: { cookie: cookiesOf(form), 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ name: 'New Person', password: 'a long enough passphrase', _csrf: csrfFrom(form.body) }).toString(),
      });
      assert.equal(accept.statusCode, 303);
      const session = accept.cookies.find((c) => c.name === 'dc_session');
      assert.ok(session, 'signed in');
      assert.equal((await get('/acme/handbook/policies/incident-response', `dc_session=${session.value}`)).statusCode, 200, 'manager role');

      const again = await get(path);
      assert.equal(again.statusCode, 410);
      assert.match(again.body, /already been used/);
      const reuse = await t.app.inject({
        method: 'POST',
        url: path,
        headers: { cookie: cookiesOf(form), 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ name: 'Someone Else', password: 'another long passphrase', _csrf: csrfFrom(form.body) }).toString(),
      });
      assert.equal(reuse.statusCode, 410);
    });

    test('an expired invitation is refused; a signed-in invitee with the same email joins; inviting above one’s role is 403', async () => {
      const created = await post('/acme/-/invitations', cookies.owner!, { email: 'member@globex.test', role: 'viewer' });
      const token = /\/invite\/([A-Za-z0-9_-]{43})/.exec(created.body)![1]!;
      const wrong = await get(`/invite/${token}`, cookies.viewer);
      assert.match(wrong.body, /This invitation is for member@globex\.test/);
      const page = await get(`/invite/${token}`, cookies.globex);
      assert.match(page.body, /Accept invitation/);
      const accept = await t.app.inject({
        method: 'POST',
        url: `/invite/${token}`,
        headers: { cookie: `${cookies.globex}; ${cookiesOf(page)}`, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ _csrf: csrfFrom(page.body.replace(/[\s\S]*<main/, '')) }).toString(),
      });
      assert.equal(accept.statusCode, 303);
      assert.equal(await roleOf(ids['member.globex']!, 'acme'), 'viewer');
      assert.equal((await get('/acme/handbook/policies/data-handling', cookies.globex)).statusCode, 200, 'joined at once');

      const old = await post('/acme/-/invitations', cookies.owner!, { email: 'late@example.test', role: 'member' });
      const oldToken = /\/invite\/([A-Za-z0-9_-]{43})/.exec(old.body)![1]!;
      await asDatabaseOwner(t.context.db, (owner) => owner.updateTable('invitations').set({ expires_at: new Date(Date.now() - 1000) }).where('email', '=', 'late@example.test').execute());
      const expired = await get(`/invite/${oldToken}`);
      assert.equal(expired.statusCode, 410);
      assert.match(expired.body, /expired/);

      assert.equal((await post('/acme/-/invitations', cookies.admin!, { email: 'boss@example.test', role: 'owner' })).statusCode, 403);
      assert.equal((await post('/acme/-/invitations', cookies.manager!, { email: 'x@example.test', role: 'member' })).statusCode, 403);
      assert.equal((await get('/invite/not-a-token')).statusCode, 410);
    });

    test('invitation accept and withdraw, the new account, its membership and and first sign-in are audited', async () => {
      const eventsOf = (action: string) =>
        asDatabaseOwner(t.context.db, (owner) =>
          owner.selectFrom('audit_events').select(['action', 'actor_label', 'target_type', 'target_label', 'details', 'org_id']).where('action', '=', action).orderBy('seq').execute(),
        );
      const detailsOf = (event: { details: unknown }) => (typeof event.details === 'string' ? JSON.parse(event.details) : event.details) as Record<string, unknown>;

      const withdrawnLink = await post('/acme/-/invitations', cookies.admin!, { email: 'not-coming@example.test', role: 'member' });
      assert.equal(withdrawnLink.statusCode, 200);
      const invitation = await asDatabaseOwner(t.context.db, (owner) => owner.selectFrom('invitations').select('id').where('email', '=', 'not-coming@example.test').executeTakeFirstOrThrow());
      assert.equal((await post(`/acme/-/invitations/${invitation.id}/revoke`, cookies.admin!)).statusCode, 303);
      const [withdrawn] = await eventsOf('member.invitation_withdrawn');
      assert.equal(withdrawn?.actor_label, 'admin@acme.test');
      assert.equal(withdrawn?.target_label, 'not-coming@example.test');

      const created = await post('/acme/-/invitations', cookies.admin!, { email: 'audited@example.test', role: 'member' });
      const path = `/invite/${/\/invite\/([A-Za-z0-9_-]{43})/.exec(created.body)![1]!}`;
      const form = await get(path);
      const accept = await t.app.inject({
        method: 'POST',
        url: path,
        headers: { cookie: cookiesOf(form), 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ name: 'Audited Person', password: 'a long enough passphrase', _csrf: csrfFrom(form.body) }).toString(),
      });
      assert.equal(accept.statusCode, 303);
      const mine = (rows: Awaited<ReturnType<typeof eventsOf>>) => rows.filter((e) => e.actor_label === 'audited@example.test');
      assert.equal(mine(await eventsOf('auth.account_created')).length, 1);
      const [added] = mine(await eventsOf('member.added'));
      assert.equal(detailsOf(added!).role, 'member');
      const [accepted] = mine(await eventsOf('member.invitation_accepted'));
      assert.equal(accepted?.target_type, 'invitation');
      assert.equal(detailsOf(accepted).new_account, true);
      const [signIn] = mine(await eventsOf('auth.sign_in'));
      assert.equal(detailsOf(signIn!).first, true);
      for (const event of [added, accepted, signIn]) assert.doesNotMatch(JSON.stringify(event), /passphrase|dc_session|invite\//);
    });
  });
}
