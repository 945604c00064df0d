import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { insertGrant } from '../../src/access/grants.ts';
import { upsertAccount } from '../../src/auth/accounts.ts';
import { withOrg } from '../../src/db/connection.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { createTestApp, csrfFrom, PASSWORD, submitLogin, type TestApp } from '../helpers/test-app.ts';

const form = 'application/x-www-form-urlencoded';
const URL_ = '/acme/-/settings';
const MINUTE = 60_000;
const DEFAULTS = { require_mfa: 'none', session_idle_minutes: '', session_absolute_minutes: '', access_grant_max_minutes: '1440' };

for (const target of databaseTargets()) {
  describe(`organization settings page (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let acmeId: string;
    const cookies: Record<string, string> = {};

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      await upsertAccount(t.context.db, { email: 'admin@globex.test', orgSlug: 'globex', role: 'admin', password: PASSWORD });
      acmeId = (await t.context.db.selectFrom('organizations').select('id').where('slug', '=', 'acme').executeTakeFirstOrThrow()).id;
    });
    after(async () => {
      await t.close();
      await dispose();
    });
    beforeEach(async () => {
      // Every test starts from the defaults and fresh sign-ins (so re-authentication is recent).
      await t.context.db
        .updateTable('organizations')
        .set({ require_mfa: 'none', session_idle_minutes: null, session_absolute_minutes: null, access_grant_max_minutes: 1440 })
        .execute();
      for (const role of ['owner', 'admin', 'manager', 'member', 'viewer']) cookies[role] = await t.login(`${role}@acme.test`);
      cookies.globex = await t.login('member@globex.test');
      cookies.globexAdmin = await t.login('admin@globex.test');
    });

    const get = (url: string, cookie?: string) => t.app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} });
    const post = (url: string, cookie: string, fields: Record<string, string>) =>
      t.app.inject({ method: 'POST', url, headers: { cookie, 'content-type': form }, payload: new URLSearchParams(fields).toString() });
    /** POST the settings form with a valid CSRF token of this session (taken from the home page's sign-out form). */
    async function save(cookie: string, fields: Record<string, string>, url = URL_) {
      const csrf = csrfFrom((await get('/', cookie)).body);
      return post(url, cookie, { ...DEFAULTS, ...fields, _csrf: csrf });
    }
    const settings = () =>
      t.context.db
        .selectFrom('organizations')
        .select(['require_mfa', 'session_idle_minutes', 'session_absolute_minutes', 'access_grant_max_minutes'])
        .where('id', '=', acmeId)
        .executeTakeFirstOrThrow();
    const userId = async (email: string) => (await t.context.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id;
    const settingsEvents = () =>
      withOrg(t.context.db, acmeId, (trx) => trx.selectFrom('audit_events').selectAll().where('org_id', '=', acmeId).where('action', '=', 'settings.changed').orderBy('seq').execute());
    const detailsOf = (event: { details: unknown }) =>
      (typeof event.details === 'string' ? JSON.parse(event.details) : event.details) as Record<string, unknown>;

    test('admins and owners see the form; managers, members, viewers and other organizations get the 404 of a missing page', async () => {
      for (const role of ['owner', 'admin']) {
        const res = await get(URL_, cookies[role]);
        assert.equal(res.statusCode, 200, role);
        assert.equal(res.headers['cache-control'], 'no-store');
        assert.match(res.body, /name="require_mfa" value="admins"/);
        assert.match(res.body, /name="session_idle_minutes"/);
        assert.match(res.body, /name="access_grant_max_minutes"[^>]*value="1440"|value="1440"[^>]*name="access_grant_max_minutes"/);
        assert.match(res.body, /name="_csrf"/);
      }
      const withoutIds = (body: string) => body.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, 'ID');
      for (const who of ['manager', 'member', 'viewer', 'globex', 'globexAdmin']) {
        const res = await get(URL_, cookies[who]);
        const missing = await get('/acme/-/no-such-page', cookies[who]);
        assert.equal(res.statusCode, 404, who);
        assert.equal(withoutIds(res.body), withoutIds(missing.body), who);
        assert.doesNotMatch(res.body, /require_mfa/, who);
      }
      assert.equal((await get('/no-such-org/-/settings', cookies.admin)).statusCode, 404);
      const anonymous = await get(URL_);
      assert.equal(anonymous.statusCode, 303);
      assert.match(String(anonymous.headers.location), /^\/login\?next=/);
      // the organization's own admin page is reached from the account overview; a member sees no such link
      assert.match((await get('/-/account', cookies.admin)).body, /href="\/acme\/-\/settings"/);
      assert.doesNotMatch((await get('/-/account', cookies.member)).body, /-\/settings"/);
    });

    test('saving records old and new values in the audit log, and only changed settings', async () => {
      const res = await save(cookies.admin!, { require_mfa: 'admins', session_idle_minutes: '20', session_absolute_minutes: '', access_grant_max_minutes: '120' });
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers.location, `${URL_}?done=saved`);
      assert.deepEqual(await settings(), { require_mfa: 'admins', session_idle_minutes: 20, session_absolute_minutes: null, access_grant_max_minutes: 120 });
      const page = await get(String(res.headers.location), cookies.admin);
      assert.match(page.body, /Settings saved/);
      assert.match(page.body, /name="require_mfa" value="admins" checked|checked[^>]*value="admins"/);

      const events = await settingsEvents();
      const event = events.at(-1)!;
      assert.equal(event.org_id, acmeId);
      assert.equal(event.actor_label, 'admin@acme.test');
      assert.equal(event.outcome, 'success');
      assert.equal(event.target_type, 'organization');
      const details = detailsOf(event);
      assert.equal(details.require_mfa_from, 'none');
      assert.equal(details.require_mfa_to, 'admins');
      assert.equal(details.idle_minutes_from, null);
      assert.equal(details.idle_minutes_to, 20);
      assert.equal(details.grant_max_minutes_from, 1440);
      assert.equal(details.grant_max_minutes_to, 120);
      assert.equal('absolute_minutes_from' in details, false, 'unchanged settings are not listed');
      assert.doesNotMatch(JSON.stringify(event), /correct horse|_csrf|dc_session/);

      // the same values again: nothing changes, nothing is recorded
      const again = await save(cookies.owner!, { require_mfa: 'admins', session_idle_minutes: '20', access_grant_max_minutes: '120' });
      assert.equal(again.headers.location, `${URL_}?done=unchanged`);
      assert.equal((await settingsEvents()).length, events.length);
    });

    test('invalid values are refused with a message per field, the form keeps what was typed, and nothing is saved', async () => {
      const recorded = (await settingsEvents()).length;
      const cases: [Record<string, string>, RegExp][] = [
        [{ session_idle_minutes: '2' }, /Idle timeout must be a whole number of minutes from 5 to 240/],
        [{ session_idle_minutes: '1.5' }, /Idle timeout must be a whole number/],
        [{ session_absolute_minutes: 'abc' }, /Maximum session length must be a whole number of minutes from 15 to 1440/],
        [{ session_absolute_minutes: '1441' }, /Maximum session length must be/],
        [{ access_grant_max_minutes: '0' }, /Longest access grant must be a whole number of minutes from 1 to 1440/],
        [{ access_grant_max_minutes: '1441' }, /Longest access grant must be/],
        [{ access_grant_max_minutes: '' }, /Longest access grant is required/],
        [{ session_idle_minutes: '120', session_absolute_minutes: '60' }, /idle timeout cannot be longer than the maximum session length/],
        [{ require_mfa: 'sometimes' }, /Choose who must use two-step verification/],
        [{ ack_due_days: '0' }, /Days to acknowledge must be a whole number of days from 1 to 365/],
        [{ ack_due_days: '366' }, /Days to acknowledge must be/],
        [{ ack_due_days: '2.5' }, /Days to acknowledge must be/],
        [{ audit_retention_days: '89' }, /Days to keep audit events must be a whole number of days from 90 to 36500/],
        [{ audit_retention_days: '0' }, /Days to keep audit events must be/],
        [{ audit_retention_days: '36501' }, /Days to keep audit events must be/],
      ];
      for (const [fields, message] of cases) {
        const res = await save(cookies.owner!, fields);
        assert.equal(res.statusCode, 400, JSON.stringify(fields));
        assert.match(res.body, message, JSON.stringify(fields));
        assert.match(res.body, /aria-invalid="true"/);
        for (const [name, value] of Object.entries(fields)) {
          if (value && name !== 'require_mfa') assert.ok(res.body.includes(`value="${value}"`), `keeps ${value}`);
        }
      }
      const escaped = await save(cookies.owner!, { session_idle_minutes: '"><script>x</script>' });
      assert.equal(escaped.statusCode, 400);
      assert.doesNotMatch(escaped.body, /<script>x/);
      assert.deepEqual(await settings(), { require_mfa: 'none', session_idle_minutes: null, session_absolute_minutes: null, access_grant_max_minutes: 1440 });
      assert.equal((await settingsEvents()).length, recorded);
    });

    test('days to acknowledge: shown with the default, saved and audited, empty means the default again', async () => {
      const page = await get(URL_, cookies.admin!);
      assert.match(page.body, /name="ack_due_days"[^>]*value="14"/);
      const recorded = (await settingsEvents()).length;
      assert.equal((await save(cookies.admin!, { ...(await currentValues()), ack_due_days: '30' })).statusCode, 303);
      const row = await t.context.db.selectFrom('organizations').select('ack_due_days').where('id', '=', acmeId).executeTakeFirstOrThrow();
      assert.equal(row.ack_due_days, 30);
      const event = (await settingsEvents()).at(-1)!;
      assert.equal((await settingsEvents()).length, recorded + 1);
      assert.deepEqual([detailsOf(event).ack_due_days_from, detailsOf(event).ack_due_days_to, detailsOf(event).changed], [14, 30, 'ack_due_days']);
      assert.equal((await save(cookies.admin!, { ...(await currentValues()), ack_due_days: '' })).statusCode, 303);
      const back = await t.context.db.selectFrom('organizations').select('ack_due_days').where('id', '=', acmeId).executeTakeFirstOrThrow();
      assert.equal(back.ack_due_days, 14);
    });

    test('audit retention: 90 days by default, longer saved and audited, shorter refused', async () => {
      const page = await get(URL_, cookies.admin!);
      assert.match(page.body, /name="audit_retention_days"[^>]*value="90"/);
      const recorded = (await settingsEvents()).length;
      assert.equal((await save(cookies.admin!, { ...(await currentValues()), audit_retention_days: '400' })).statusCode, 303);
      const row = await t.context.db.selectFrom('organizations').select('audit_retention_days').where('id', '=', acmeId).executeTakeFirstOrThrow();
      assert.equal(row.audit_retention_days, 400);
      const event = (await settingsEvents()).at(-1)!;
      assert.equal((await settingsEvents()).length, recorded + 1);
      assert.deepEqual([detailsOf(event).audit_retention_days_from, detailsOf(event).audit_retention_days_to], [90, 400]);
      const shorter = await save(cookies.admin!, { ...(await currentValues()), audit_retention_days: '30' });
      assert.equal(shorter.statusCode, 400);
      const kept = await t.context.db.selectFrom('organizations').select('audit_retention_days').where('id', '=', acmeId).executeTakeFirstOrThrow();
      assert.equal(kept.audit_retention_days, 400, 'a refused value changes nothing');
      // a form without the field (an older page) never shortens it
      assert.equal((await save(cookies.admin!, { ...(await currentValues()), audit_retention_days: '' })).statusCode, 303);
      assert.equal((await t.context.db.selectFrom('organizations').select('audit_retention_days').where('id', '=', acmeId).executeTakeFirstOrThrow()).audit_retention_days, 400);
      assert.equal((await save(cookies.admin!, { ...(await currentValues()), audit_retention_days: '90' })).statusCode, 303);
    });

    /** The saved settings as form fields (so a test changes one setting only). */
    async function currentValues(): Promise<Record<string, string>> {
      const now = await settings();
      return {
        require_mfa: now.require_mfa,
        session_idle_minutes: now.session_idle_minutes === null ? '' : String(now.session_idle_minutes),
        session_absolute_minutes: now.session_absolute_minutes === null ? '' : String(now.session_absolute_minutes),
        access_grant_max_minutes: String(now.access_grant_max_minutes),
      };
    }

    test('attacks: no CSRF token, a manager, another organization’s admin, a stale re-authentication — all refused, nothing saved', async () => {
      const recorded = (await settingsEvents()).length;
      const noCsrf = await post(URL_, cookies.admin!, { ...DEFAULTS, require_mfa: 'everyone' });
      assert.equal(noCsrf.statusCode, 403);
      const wrongCsrf = await post(URL_, cookies.admin!, { ...DEFAULTS, require_mfa: 'everyone', _csrf: csrfFrom((await get('/', cookies.member)).body) });
      assert.equal(wrongCsrf.statusCode, 403, "another session's token");
      for (const who of ['manager', 'member', 'viewer', 'globex', 'globexAdmin']) {
        const res = await save(cookies[who]!, { require_mfa: 'none', access_grant_max_minutes: '1' });
        assert.equal(res.statusCode, 404, who);
      }
      // an admin who was demoted since signing in is decided on the role the database holds now
      const admin = await userId('admin@acme.test');
      const setRole = (role: 'member' | 'admin') =>
        withOrg(t.context.db, acmeId, (trx) => trx.updateTable('memberships').set({ role }).where('user_id', '=', admin).where('org_id', '=', acmeId).execute());
      await setRole('member');
      t.context.sessions.invalidateUser(admin);
      assert.equal((await save(cookies.admin!, { access_grant_max_minutes: '1' })).statusCode, 404, 'demoted admin');
      await setRole('admin');
      t.context.sessions.invalidateUser(admin);

      // re-authentication older than 10 minutes: sent to confirm the password, and nothing is saved
      const owner = await userId('owner@acme.test');
      const csrf = csrfFrom((await get('/', cookies.owner)).body);
      await t.context.db.updateTable('sessions').set({ reauthenticated_at: new Date(Date.now() - 60 * MINUTE) }).where('user_id', '=', owner).execute();
      t.context.sessions.invalidateUser(owner);
      assert.match((await get(URL_, cookies.owner)).body, /asked to confirm your password first/);
      const stale = await post(URL_, cookies.owner!, { ...DEFAULTS, require_mfa: 'everyone', _csrf: csrf });
      assert.equal(stale.statusCode, 303);
      assert.equal(stale.headers.location, `/-/reauth?next=${encodeURIComponent(URL_)}`);

      assert.deepEqual(await settings(), { require_mfa: 'none', session_idle_minutes: null, session_absolute_minutes: null, access_grant_max_minutes: 1440 });
      assert.equal((await settingsEvents()).length, recorded);

      // after confirming the password, the same form saves
      const reauth = await post('/-/reauth', cookies.owner!, { _csrf: csrf, password: PASSWORD, next: URL_ });
      assert.equal(reauth.statusCode, 303);
      assert.equal((await post(URL_, cookies.owner!, { ...DEFAULTS, require_mfa: 'everyone', _csrf: csrf })).statusCode, 303);
      assert.equal((await settings()).require_mfa, 'everyone');
    });

    test('requiring MFA sends affected people without it to enrollment at their next sign-in', async () => {
      assert.equal((await save(cookies.owner!, { require_mfa: 'admins' })).statusCode, 303);
      assert.match((await get(URL_, cookies.owner)).body, /you will have to set it\s+up at your next sign-in/, 'the owner is told');
      const signIn = (email: string) => submitLogin(t.app, email);
      assert.match(String((await signIn('admin@acme.test')).headers.location), /^\/login\/mfa\/enroll/);
      assert.equal((await signIn('member@acme.test')).headers.location, '/', 'members are not affected by "admins"');
      assert.equal((await signIn('admin@globex.test')).headers.location, '/', 'another organization is not affected');
      assert.equal((await save(cookies.owner!, { require_mfa: 'everyone' })).statusCode, 303);
      assert.match(String((await signIn('member@acme.test')).headers.location), /^\/login\/mfa\/enroll/);
      assert.equal((await signIn('member@globex.test')).headers.location, '/');
    });

    test('session limits apply to new sessions and shorten open ones of the organization’s members only', async () => {
      const viewer = await userId('viewer@acme.test');
      const outsider = await userId('member@globex.test');
      const before = await t.context.db.selectFrom('sessions').select(['expires_at']).where('user_id', '=', outsider).execute();
      assert.equal((await save(cookies.owner!, { session_idle_minutes: '10', session_absolute_minutes: '60' })).statusCode, 303);
      const open = await t.context.db.selectFrom('sessions').select(['created_at', 'expires_at', 'idle_seconds']).where('user_id', '=', viewer).where('pending', 'is', null).execute();
      assert.ok(open.length > 0);
      for (const s of open) {
        assert.equal(s.idle_seconds, 600);
        assert.ok(new Date(s.expires_at).getTime() <= new Date(s.created_at).getTime() + 60 * MINUTE);
      }
      const untouched = await t.context.db.selectFrom('sessions').select(['expires_at']).where('user_id', '=', outsider).execute();
      assert.deepEqual(untouched, before, 'other organizations’ members keep their sessions as they were');

      const fresh = await t.login('viewer@acme.test');
      assert.equal((await get('/-/account', fresh)).statusCode, 200);
      const newest = await t.context.db.selectFrom('sessions').select(['created_at', 'expires_at', 'idle_seconds']).where('user_id', '=', viewer).orderBy('created_at', 'desc').executeTakeFirstOrThrow();
      assert.equal(newest.idle_seconds, 600);
      assert.equal(new Date(newest.expires_at).getTime() - new Date(newest.created_at).getTime(), 60 * MINUTE);

      // clearing the fields brings back the role defaults for new sessions (open ones are never lengthened)
      assert.equal((await save(cookies.owner!, { session_idle_minutes: '', session_absolute_minutes: '' })).statusCode, 303);
      assert.deepEqual(await t.context.sessions.limitsFor(viewer), { idleMs: 4 * 60 * MINUTE, absoluteMs: 24 * 60 * MINUTE });
    });

    test('the longest access grant caps new grants and shortens live ones', async () => {
      const project = await withOrg(t.context.db, acmeId, (trx) => trx.selectFrom('projects').select('id').where('org_id', '=', acmeId).executeTakeFirstOrThrow());
      const member = await userId('member@acme.test');
      const now = Date.now();
      const grant = async (path: string, grantedAt: number) =>
        withOrg(t.context.db, acmeId, async (trx) => {
          const request = await trx
            .insertInto('access_requests')
            .values({
              org_id: acmeId,
              project_id: project.id,
              path,
              requester_id: member,
              reason: 'test',
              status: 'approved',
              created_at: new Date(grantedAt),
              expires_at: new Date(grantedAt + 24 * 60 * MINUTE),
            })
            .returning('id')
            .executeTakeFirstOrThrow();
          return insertGrant(trx, { orgId: acmeId, projectId: project.id, path, userId: member, requestId: request.id, classification: 'confidential' }, grantedAt);
        });
      const live = await grant('policies/one.md', now - 10 * MINUTE);
      assert.equal(live.getTime(), now - 10 * MINUTE + 24 * 60 * MINUTE, 'granted under the default of 24 hours');

      assert.equal((await save(cookies.admin!, { access_grant_max_minutes: '30' })).statusCode, 303);
      const shortened = await withOrg(t.context.db, acmeId, (trx) =>
        trx.selectFrom('access_grants').select('expires_at').where('org_id', '=', acmeId).where('path', '=', 'policies/one.md').executeTakeFirstOrThrow(),
      );
      assert.equal(new Date(shortened.expires_at).getTime(), now + 20 * MINUTE, 'ends 30 minutes after it was granted');
      const capped = await grant('policies/two.md', now);
      assert.equal(capped.getTime(), now + 30 * MINUTE);
    });

    test("images: only this server and data: by default; an admin's image hosts apply to that organization's pages only", async () => {
      const doc = '/acme/handbook/policies/data-handling';
      const imagesOf = (policy: unknown) => /img-src [^;]*/.exec(String(policy))?.[0];
      assert.equal(imagesOf((await get(doc, cookies.member)).headers['content-security-policy']), "img-src 'self' data:");
      try {
        const bad = await save(cookies.admin!, { image_hosts: 'https://evil.example/x.png' });
        assert.equal(bad.statusCode, 400);
        assert.match(bad.body, /is not a host name/);
        assert.equal((await save(cookies.admin!, { image_hosts: "cdn.example.com; script-src 'unsafe-inline'" })).statusCode, 400);

        const saved = await save(cookies.admin!, { image_hosts: 'Images.Example.com\ncdn.example.org' });
        assert.equal(saved.statusCode, 303);
        assert.match((await get(URL_, cookies.admin)).body, /images\.example\.com\ncdn\.example\.org<\/textarea>/);
        const event = (await settingsEvents()).at(-1)!;
        assert.equal(detailsOf(event).image_hosts_to, 'images.example.com cdn.example.org');
        assert.equal(
          imagesOf((await get(doc, cookies.member)).headers['content-security-policy']),
          "img-src 'self' data: https://images.example.com https://cdn.example.org",
        );
        assert.equal(imagesOf((await get('/globex/wiki/about', cookies.globex)).headers['content-security-policy']), "img-src 'self' data:", 'another organization');
        const outsider = await get(doc, cookies.globex);
        assert.equal(outsider.statusCode, 404);
        assert.equal(imagesOf(outsider.headers['content-security-policy']), "img-src 'self' data:", 'a refusal names no hosts');
      } finally {
        await save(cookies.admin!, { image_hosts: '' });
      }
    });
  });
}
