import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { upsertAccount } from '../../src/auth/accounts.ts';
import { recordAccountEvent } from '../../src/audit/account-events.ts';
import { unseenCount, type SecurityEvent } from '../../src/audit/security-notices.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { createTestApp, csrfFrom, PASSWORD, type TestApp } from '../helpers/test-app.ts';

const DOT = 'New security activity';

/** The "Security activity" section of the account page. */
function activitySection(html: string): string {
  const match = /<section[^>]*id="security-activity"[\s\S]*?<\/section>/.exec(html);
  if (!match) throw new Error('no security activity section');
  return match[0];
}

for (const target of databaseTargets()) {
  describe(`security notices (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    const ids: Record<string, string> = {};

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      // member@acme.test also belongs to globex: its account events are written once per organization
      await upsertAccount(opened.db, { email: 'member@acme.test', orgSlug: 'globex', role: 'viewer', password: PASSWORD });
      for (const row of await opened.db.selectFrom('users').select(['id', 'email']).execute()) ids[row.email] = row.id;
    });
    after(async () => {
      await t.close();
      await dispose();
    });

    const get = (url: string, cookie: string) => t.app.inject({ method: 'GET', url, headers: { cookie } });

    test('the own sign-in is listed but is no news; a new token lights the dot and the banner until the list is viewed', async () => {
      const cookie = await t.login('member@acme.test');
      assert.doesNotMatch((await get('/', cookie)).body, new RegExp(DOT));
      const account = await get('/-/account', cookie);
      assert.equal(account.statusCode, 200);
      assert.match(activitySection(account.body), /Signed in/);
      assert.doesNotMatch(account.body, /security-banner/);

      const form = await get('/-/account/tokens/new', cookie);
      assert.equal(form.statusCode, 200);
      const created = await t.app.inject({
        method: 'POST',
        url: '/-/account/tokens/new',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ _csrf: csrfFrom(form.body), name: 'laptop', access: 'read', expires: '30' }).toString(),
      });
      assert.equal(created.statusCode, 200);

      const home = await get('/', cookie);
      assert.match(home.body, /href="\/-\/account#security-activity"/);
      assert.match(home.body, new RegExp(DOT));

      const seen = await get('/-/account', cookie);
      assert.match(seen.body, /class="form-error security-banner"/);
      assert.match(seen.body, /1 new security event on your account/);
      const section = activitySection(seen.body);
      // recorded in acme's and globex's chains, listed once
      assert.equal(section.split('Personal access token “laptop” was created').length - 1, 1);
      assert.ok(section.indexOf('was created') < section.indexOf('Signed in'), 'newest first');
      assert.doesNotMatch(seen.body.replace(/<main[\s\S]*<\/main>/, ''), new RegExp(DOT), 'no dot on the page that shows the list');

      const row = await t.context.db.selectFrom('users').select('security_seen_at').where('email', '=', 'member@acme.test').executeTakeFirstOrThrow();
      assert.ok(row.security_seen_at instanceof Date);
      assert.doesNotMatch((await get('/', cookie)).body, new RegExp(DOT));
      const again = await get('/-/account', cookie);
      assert.doesNotMatch(again.body, /security-banner/);
      assert.match(activitySection(again.body), /laptop/);
    });

    test('a reused code from elsewhere is shown with its address; other users’ events never are', async () => {
      const manager = ids['manager@acme.test']!;
      await recordAccountEvent(t.context.db, manager, {
        actor: { type: 'user', id: manager, label: 'manager@acme.test' },
        action: 'auth.mfa_failed',
        target: { type: 'user', id: manager, label: 'manager@acme.test' },
        reason: 'code reused',
        outcome: 'denied',
        requestId: 'req-reused',
        ip: '198.51.100.7',
      });
      const viewer = ids['viewer@acme.test']!;
      await recordAccountEvent(t.context.db, viewer, {
        actor: { type: 'user', id: viewer, label: 'viewer@acme.test' },
        action: 'auth.password_changed',
        target: { type: 'user', id: viewer, label: 'viewer@acme.test' },
        outcome: 'success',
        requestId: 'req-viewer',
        ip: '192.0.2.55',
      });
      // a failed sign-in aimed at the manager's account by someone not signed in is theirs to see too
      await recordAccountEvent(t.context.db, manager, {
        actor: { type: 'anonymous', id: null, label: 'manager@acme.test' },
        action: 'auth.sign_in_throttled',
        target: { type: 'user', id: manager, label: 'manager@acme.test' },
        outcome: 'denied',
        requestId: 'req-throttled',
        ip: '203.0.113.99',
      });

      const cookie = await t.login('manager@acme.test');
      assert.match((await get('/', cookie)).body, new RegExp(DOT));
      const page = await get('/-/account', cookie);
      assert.match(page.body, /2 new security events/);
      const section = activitySection(page.body);
      assert.match(section, /A two-step verification code was used a second time and refused/);
      assert.match(section, /198\.51\.100\.7/);
      assert.match(section, /Sign-in attempts were blocked/);
      assert.match(section, /Refused/);
      assert.doesNotMatch(page.body, /192\.0\.2\.55|password was changed|laptop/);

      // and the member's list holds none of the manager's or viewer's events
      const member = await get('/-/account', await t.login('member@acme.test'));
      assert.doesNotMatch(activitySection(member.body), /198\.51\.100\.7|192\.0\.2\.55|203\.0\.113\.99|second time/);
    });
  });
}

describe('unseenCount', () => {
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 12, 0, s));
  const event = (action: SecurityEvent['action'], second: number, ip = '127.0.0.1'): SecurityEvent => ({
    key: `${action}|${second}`,
    action,
    occurredAt: at(second),
    outcome: 'success',
    ip,
    summary: action,
  });

  test('counts what came after the last look, leaving out the own sign-in and sign-ins from known addresses', () => {
    // newest first
    const events = [event('auth.sign_in', 50, '203.0.113.5'), event('auth.sign_in', 40), event('token.created', 30), event('auth.sign_in', 10)];
    assert.equal(unseenCount({ events, seenAt: null }, null), 3); // the new address, the token and the first sign-in
    assert.equal(unseenCount({ events, seenAt: null }, at(10).getTime()), 2);
    assert.equal(unseenCount({ events, seenAt: at(30) }, at(10).getTime()), 1);
    assert.equal(unseenCount({ events, seenAt: at(30) }, at(50).getTime()), 0);
    assert.equal(unseenCount({ events, seenAt: at(60) }, null), 0);
  });
});
