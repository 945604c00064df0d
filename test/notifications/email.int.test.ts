import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { DocumentLookup } from '../../src/access/access-requests.ts';
import { approveAccessRequest } from '../../src/access/commands/approve-access-request.ts';
import { createAccessRequest } from '../../src/access/commands/create-access-request.ts';
import type { AccessRequestCommandDeps } from '../../src/access/commands/deps.ts';
import { recordAccountEvent } from '../../src/audit/account-events.ts';
import type { EmailConfig } from '../../src/config/config.ts';
import { EmailDispatcher, smtpTransport } from '../../src/notifications/email-dispatcher.ts';
import { claimBatch } from '../../src/notifications/email-outbox.ts';
import type { ProjectRecord } from '../../src/projects/projects.ts';
import { askingDocument, commitThroughProtocol } from '../evidence/helpers.ts';
import { actorOf } from '../helpers/actors.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { SmtpReceiver, type ReceivedMail } from '../helpers/smtp-receiver.ts';
import { cookiesOf, createTestApp, csrfFrom, PASSWORD, submitLogin, type TestApp } from '../helpers/test-app.ts';

const WINDOW = 10 * 60_000;
const NEW_PASSWORD = 'a fresh passphrase nobody knows';
const ACME = ['owner', 'admin', 'manager', 'member', 'viewer'].map((role) => `${role}@acme.test`);

for (const target of databaseTargets()) {
  describe(`email notifications (${target.name})`, () => {
    const smtp = new SmtpReceiver();
    let t: TestApp;
    let dispose: () => Promise<void>;
    let handbook: ProjectRecord;
    let requests: AccessRequestCommandDeps;
    /** The clock of self-service reset requests (the app's authNow). */
    let authClock: number | null = null;

    before(async () => {
      await smtp.start();
      const opened = await target.open();
      dispose = opened.dispose;
      const email: EmailConfig = { smtpUrl: smtp.url, from: 'DocuCommit <docs@acme.test>', digestWindowMs: WINDOW };
      t = await createTestApp(opened.db, {
        config: { email },
        app: {
          authNow: () => authClock ?? Date.now(),
          passwordResetLimits: { perClient: { limit: 20, windowMs: 3600_000 }, perAddress: { limit: 3, windowMs: 3600_000 } },
        },
      });
      handbook = (await t.built.catalog.find('acme', 'handbook'))!;
      const lookup: DocumentLookup = (projectId, path) => {
        const doc = t.context.publisher.snapshotOf(projectId)?.documents.get(path);
        return doc ? { title: doc.meta.title, classification: doc.meta.classification } : null;
      };
      requests = { db: t.context.db, lookup, now: Date.now };
      // email is "turned on" now: the feed never mails what happened before
      await t.context.email!.runFeeds();
    });
    after(async () => {
      await t.close();
      await dispose();
      await smtp.close();
    });

    /** One pass of a sending process whose clock reads `at` (default: now, after the feeds ran): what a timer tick does. */
    async function send(at?: number): Promise<void> {
      const dispatcher = new EmailDispatcher({
        db: t.context.db,
        transport: smtpTransport(smtp.url),
        box: t.context.email!.box,
        from: 'DocuCommit <docs@acme.test>',
        baseUrl: t.context.email!.baseUrl,
        now: () => at ?? Date.now(),
        digestWindowMs: WINDOW,
        beforePass: () => t.context.email!.runFeeds().then(() => undefined),
      });
      await dispatcher.runOnce();
      await dispatcher.stop();
    }
    const later = () => Date.now() + WINDOW + 60_000;
    /** Send whatever earlier tests left due, and forget it. */
    async function drain(): Promise<void> {
      await send(later());
      smtp.clear();
    }
    const recipients = (mails: ReceivedMail[]) => [...new Set(mails.flatMap((m) => m.to))].sort();
    const file = async (email: string, path: string) => createAccessRequest(requests, await actorOf(t.context.db, email), { project: handbook, path, reason: 'Preparing the audit.' });
    async function loginFrom(email: string, ip: string, password = PASSWORD): Promise<string> {
      const form = await t.app.inject({ method: 'GET', url: '/login', remoteAddress: ip });
      const response = await t.app.inject({
        method: 'POST',
        url: '/login',
        remoteAddress: ip,
        headers: { cookie: cookiesOf(form), 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ email, password, _csrf: csrfFrom(form.body), next: '/' }).toString(),
      });
      assert.equal(response.statusCode, 303, `sign-in of ${email}`);
      return cookiesOf(response)
        .split('; ')
        .find((c) => c.startsWith('dc_session='))!;
    }
    async function forgot(email: string, ip = '198.51.100.1') {
      const form = await t.app.inject({ method: 'GET', url: '/login/forgot', remoteAddress: ip });
      assert.equal(form.statusCode, 200);
      return t.app.inject({
        method: 'POST',
        url: '/login/forgot',
        remoteAddress: ip,
        headers: { cookie: cookiesOf(form), 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ email, _csrf: csrfFrom(form.body) }).toString(),
      });
    }
    const lastReset = (address: string) => smtp.to(address).filter((m) => /Reset your DocuCommit password/.test(m.subject)).at(-1)!;
    const resetLink = (mail: ReceivedMail) => {
      const match = /\/password-reset\/([A-Za-z0-9_-]{43})/.exec(mail.text);
      assert.ok(match, 'the email carries a reset link');
      return `/password-reset/${match[1]}`;
    };
    async function setPassword(link: string, password: string) {
      const page = await t.app.inject({ method: 'GET', url: link });
      if (page.statusCode !== 200) return page;
      return t.app.inject({
        method: 'POST',
        url: link,
        headers: { cookie: cookiesOf(page), 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ password, _csrf: csrfFrom(page.body) }).toString(),
      });
    }
    const outbox = () => t.context.db.selectFrom('email_outbox').selectAll().execute();

    test('a sign-in from a new device tells only its owner, at once; the same device again tells nobody', async () => {
      smtp.clear();
      await loginFrom('member@acme.test', '203.0.113.10');
      await send();
      assert.deepEqual(recipients(smtp.messages), ['member@acme.test']);
      assert.equal(smtp.messages.length, 1, 'one email, though the event is in every chain of the member');
      assert.match(smtp.messages[0]!.subject, /New sign-in/);
      assert.match(smtp.messages[0]!.text, /203\.0\.113\.10/);
      smtp.clear();
      await loginFrom('member@acme.test', '203.0.113.10');
      await send();
      assert.equal(smtp.messages.length, 0);
    });

    test('MFA changes are security notices: sent at once, to the account holder only', async () => {
      smtp.clear();
      const user = await t.context.db.selectFrom('users').select('id').where('email', '=', 'viewer@acme.test').executeTakeFirstOrThrow();
      await recordAccountEvent(t.context.db, user.id, {
        actor: { type: 'user', id: user.id, label: 'viewer@acme.test' },
        action: 'auth.mfa_disabled',
        target: { type: 'user', id: user.id, label: 'viewer@acme.test' },
        outcome: 'success',
        requestId: 'mfa-test-1',
        ip: '192.0.2.5',
      });
      await send();
      assert.deepEqual(recipients(smtp.messages), ['viewer@acme.test']);
      assert.match(smtp.messages[0]!.subject, /Two-step verification was turned off/);
    });

    test('an access request reaches its approvers only (not the requester, a lower role, another organization) and names no document', async () => {
      smtp.clear();
      const id = await file('member@acme.test', 'policies/salary-bands');
      await send();
      assert.equal(smtp.messages.length, 0, 'not urgent: waits for the digest window');
      await send(later());
      // restricted: admins and owners decide; the manager may not even read it
      assert.deepEqual(recipients(smtp.messages), ['admin@acme.test', 'owner@acme.test']);
      for (const mail of smtp.messages) {
        assert.doesNotMatch(mail.text + mail.subject, /RESTRICTED-TITLE-MARKER|salary|Salary|policies\//);
        assert.match(mail.text, /\/acme\/-\/access-requests/);
      }
      smtp.clear();
      const orgId = handbook.orgId;
      await approveAccessRequest(requests, await actorOf(t.context.db, 'admin@acme.test'), { orgId, requestId: id });
      await send(later());
      assert.equal(smtp.messages.length, 0, 'one approval of two: nothing decided yet');
      await approveAccessRequest(requests, await actorOf(t.context.db, 'owner@acme.test'), { orgId, requestId: id });
      await send(later());
      assert.deepEqual(recipients(smtp.messages), ['member@acme.test']);
      assert.match(smtp.messages[0]!.subject, /was approved/);
      assert.doesNotMatch(smtp.messages[0]!.text, /RESTRICTED-TITLE-MARKER|salary/i);
    });

    test('non-urgent notifications of one person within the window go out as one digest', async () => {
      smtp.clear();
      await file('member@acme.test', 'policies/incident-response');
      await file('viewer@acme.test', 'policies/incident-response');
      await send();
      assert.equal(smtp.to('manager@acme.test').length, 0, 'the window has not passed');
      await send(later());
      const mails = smtp.to('manager@acme.test');
      assert.equal(mails.length, 1, 'one digest, not two emails');
      assert.match(mails[0]!.subject, /2 things wait for you/);
      assert.equal(mails[0]!.text.match(/An access request waits for your decision/g)?.length, 2);
      assert.equal(smtp.to('member@acme.test').length, 0, 'the requester of one is an approver of neither');
      assert.deepEqual(recipients(smtp.messages), ['admin@acme.test', 'manager@acme.test', 'owner@acme.test']);
    });

    test('opting out on the account page stops everything but security notices', async () => {
      const cookie = await loginFrom('manager@acme.test', '127.0.0.1');
      const page = await t.app.inject({ method: 'GET', url: '/-/account', headers: { cookie } });
      assert.match(page.body, /name="notify" value="on" checked/);
      const saved = await t.app.inject({
        method: 'POST',
        url: '/-/account/email-notifications',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ _csrf: csrfFrom(page.body) }).toString(),
      });
      assert.equal(saved.statusCode, 303);
      assert.doesNotMatch((await t.app.inject({ method: 'GET', url: '/-/account', headers: { cookie } })).body, /value="on" checked/);
      smtp.clear();
      await file('viewer@acme.test', 'policies/incident-response');
      await loginFrom('manager@acme.test', '203.0.113.99');
      await send(later());
      const managerMails = smtp.to('manager@acme.test');
      assert.ok(managerMails.some((m) => /203\.0\.113\.99/.test(m.text)), 'the security notice still goes');
      assert.ok(managerMails.every((m) => /New sign-in/.test(m.subject) && !/access request/i.test(m.text)), 'the access request does not');
      assert.equal(smtp.to('admin@acme.test').length, 1, 'others still get theirs');
      // another member's form cannot be forged: the CSRF token is the session's
      const other = await loginFrom('admin@acme.test', '127.0.0.1');
      const forged = await t.app.inject({
        method: 'POST',
        url: '/-/account/email-notifications',
        headers: { cookie: other, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ _csrf: csrfFrom(page.body) }).toString(),
      });
      assert.equal(forged.statusCode, 403);
      const admin = await t.context.db.selectFrom('users').select('email_opt_out').where('email', '=', 'admin@acme.test').executeTakeFirstOrThrow();
      assert.equal(admin.email_opt_out, false);
    });

    test('a temporary refusal (4xx) is retried after a backoff and delivered once; a permanent one (5xx) is given up', async () => {
      await drain();
      smtp.refusals.push(451);
      await loginFrom('owner@acme.test', '203.0.113.20');
      await t.context.email!.runFeeds();
      const now = Date.now();
      await send(now);
      assert.equal(smtp.messages.length, 0);
      const [row] = (await outbox()).filter((r) => r.status === 'pending' && r.kind === 'security');
      assert.ok(row, 'still pending');
      assert.equal(row.attempts, 1);
      assert.equal(row.last_error, 'smtp 451');
      await send(now + 1000);
      assert.equal(smtp.messages.length, 0, 'not before its backoff');
      await send(now + 5 * 60_000);
      assert.deepEqual(recipients(smtp.messages), ['owner@acme.test']);
      await send(now + 60 * 60_000);
      assert.equal(smtp.messages.length, 1, 'delivered once');
      await drain();
      smtp.refusals.push(550);
      await loginFrom('owner@acme.test', '203.0.113.21');
      await send();
      await send(Date.now() + 24 * 3600_000);
      assert.equal(smtp.messages.length, 0);
      assert.ok((await outbox()).some((r) => r.status === 'failed' && r.last_error === 'smtp 550'));
    });

    test('a restart loses nothing: a batch claimed by a process that died goes out when its lease ends; two processes never send one row twice', async () => {
      await drain();
      await loginFrom('viewer@acme.test', '203.0.113.30');
      await t.context.email!.runFeeds();
      const now = Date.now();
      const claimed = await claimBatch(t.context.db, { now, leaseMs: 120_000, digestWindowMs: WINDOW });
      assert.equal(claimed?.to, 'viewer@acme.test', 'a process claimed it, then died before sending');
      await send(now + 1000);
      assert.equal(smtp.messages.length, 0, 'leased to the dead process');
      await send(now + 121_000);
      assert.deepEqual(recipients(smtp.messages), ['viewer@acme.test']);
      smtp.clear();
      for (const ip of ['203.0.113.31', '203.0.113.32', '203.0.113.33']) await loginFrom('owner@acme.test', ip);
      await t.context.email!.runFeeds();
      await Promise.all([send(), send(), send()]);
      assert.equal(smtp.to('owner@acme.test').length, 3);
      assert.equal(new Set(smtp.messages.map((m) => m.text)).size, 3);
    });

    test('password reset end to end: email, link, new password, old sessions ended, link single-use', async () => {
      smtp.clear();
      const oldSession = await loginFrom('viewer@acme.test', '127.0.0.1');
      const asked = await forgot('viewer@acme.test');
      assert.equal(asked.statusCode, 200);
      assert.match(asked.body, /Check your email/);
      await send();
      const mails = smtp.to('viewer@acme.test').filter((m) => /Reset your DocuCommit password/.test(m.subject));
      assert.equal(mails.length, 1, 'sent at once, no digest wait');
      const link = resetLink(mails[0]!);
      // hashed at rest: neither the resets table nor the outbox holds the token once sent
      const token = link.split('/').pop()!;
      const rows = await outbox();
      assert.ok(rows.filter((r) => r.kind === 'password_reset').every((r) => r.sealed === null && !r.body.includes(token)));
      const done = await setPassword(link, NEW_PASSWORD);
      assert.equal(done.statusCode, 200);
      assert.match(done.body, /Your password is set/);
      const old = await t.app.inject({ method: 'GET', url: '/-/account', headers: { cookie: oldSession } });
      assert.notEqual(old.statusCode, 200, 'the session from before the reset is over');
      assert.equal((await setPassword(link, 'yet another passphrase here')).statusCode, 410, 'a used link is refused');
      assert.equal((await submitLogin(t.app, 'viewer@acme.test', NEW_PASSWORD)).statusCode, 303);
      assert.equal((await submitLogin(t.app, 'viewer@acme.test', PASSWORD)).statusCode, 401);
      // the password reset itself is a security notice
      smtp.clear();
      await send();
      assert.ok(smtp.to('viewer@acme.test').some((m) => /password was reset/.test(m.subject)));
    });

    test('an expired link and a link outlived by a password change are refused', async () => {
      smtp.clear();
      authClock = Date.now() - 31 * 60_000;
      await forgot('viewer@acme.test', '198.51.100.2');
      authClock = null;
      await send();
      const expired = resetLink(lastReset('viewer@acme.test'));
      assert.equal((await t.app.inject({ method: 'GET', url: expired })).statusCode, 410);
      assert.equal((await setPassword(expired, 'an expired passphrase try')).statusCode, 410);
      smtp.clear();
      await forgot('viewer@acme.test', '198.51.100.3');
      await send();
      const outlived = resetLink(lastReset('viewer@acme.test'));
      const cookie = await loginFrom('viewer@acme.test', '127.0.0.1', NEW_PASSWORD);
      const form = await t.app.inject({ method: 'GET', url: '/-/account/security/password', headers: { cookie } });
      const changed = await t.app.inject({
        method: 'POST',
        url: '/-/account/security/password',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ current: NEW_PASSWORD, password: PASSWORD, _csrf: csrfFrom(form.body) }).toString(),
      });
      assert.equal(changed.statusCode, 303);
      assert.equal((await t.app.inject({ method: 'GET', url: outlived })).statusCode, 410, 'the password change ended the link');
    });

    test('an unknown address gets the very same answer, and no email goes anywhere', async () => {
      await drain();
      const strip = (html: string) => html.replace(/name="_csrf" value="[^"]+"/g, '');
      const known = await forgot('member@globex.test', '198.51.100.4');
      const unknown = await forgot('nobody@globex.test', '198.51.100.4');
      assert.equal(unknown.statusCode, known.statusCode);
      assert.equal(strip(unknown.body), strip(known.body));
      await send();
      assert.deepEqual(recipients(smtp.messages), ['member@globex.test']);
    });

    test('a parallel burst of reset requests for one address queues at most the limit; one client is limited too', async () => {
      const before = (await outbox()).filter((r) => r.kind === 'password_reset').length;
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => forgot('owner@acme.test', `198.51.100.${50 + i}`)));
      assert.ok(answers.every((a) => a.statusCode === 200));
      const queued = (await outbox()).filter((r) => r.kind === 'password_reset').length - before;
      assert.equal(queued, 3, 'three an hour per address');
      const burst = await Promise.all(Array.from({ length: 25 }, (_, i) => forgot(`someone${i}@example.test`, '198.51.100.200')));
      assert.equal(burst.filter((a) => a.statusCode === 429).length, 5, 'twenty an hour per client address');
      // the counters name neither the addresses nor the client: keyed hashes, not plain or plainly hashed values
      const keys = (await t.context.db.selectFrom('email_rate_limits').select('key').execute()).map((r) => r.key);
      assert.ok(keys.length >= 12);
      const plainHash = (value: string) => createHash('sha256').update(value).digest('base64url');
      for (const key of keys) {
        assert.match(key, /^(address|client):[A-Za-z0-9_-]{43}$/);
        assert.doesNotMatch(key, /198\.51\.100|@|example\.test|acme/);
        for (const value of ['198.51.100.200', '198.51.100.50', 'owner@acme.test']) assert.notEqual(key.split(':')[1], plainHash(value));
      }
    });

    test('acknowledgments due are mailed to their audience, naming only documents each may read', async () => {
      smtp.clear();
      await commitThroughProtocol(
        t,
        handbook,
        {
          'policies/conduct.md': askingDocument('Code of conduct', 'everyone'),
          'policies/board-plan.md': askingDocument('Board plan SECRET-ACK-MARKER', 'everyone', 'Restricted text.', 'restricted'),
        },
        'Ask everyone to acknowledge',
      );
      await t.context.email!.runFeeds({ due: true });
      await t.context.email!.runFeeds({ due: true });
      await send(later());
      const memberMail = smtp.to('member@acme.test').map((m) => m.subject + m.text).join('\n');
      assert.match(memberMail, /Code of conduct/);
      assert.doesNotMatch(memberMail, /SECRET-ACK-MARKER|board-plan|Restricted text/);
      const adminMail = smtp.to('admin@acme.test').map((m) => m.subject + m.text).join('\n');
      assert.match(adminMail, /Board plan SECRET-ACK-MARKER/, 'an admin may read it, and is asked');
      assert.doesNotMatch(adminMail, /Restricted text/, 'titles only, never document text');
      assert.equal(smtp.to('member@globex.test').length, 0, 'another organization hears nothing');
      smtp.clear();
      await t.context.email!.runFeeds({ due: true });
      await send(later());
      assert.equal(smtp.to('member@acme.test').length, 0, 'asked once per version and state, not on every pass');
    });

    test('the sign-in page offers "Forgot password?" when email is on', async () => {
      assert.match((await t.app.inject({ method: 'GET', url: '/login' })).body, /href="\/login\/forgot"/);
      for (const address of ACME) assert.ok(address.endsWith('@acme.test'));
    });
  });

  describe(`without SMTP_URL (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
    });
    after(async () => {
      await t.close();
      await dispose();
    });

    test('no "Forgot password?", no email form, nothing queued; the product shows everything as before', async () => {
      assert.equal(t.context.email, null);
      assert.doesNotMatch((await t.app.inject({ method: 'GET', url: '/login' })).body, /Forgot password/);
      const forgot = await t.app.inject({ method: 'GET', url: '/login/forgot' });
      assert.notEqual(forgot.statusCode, 200, 'no such page');
      assert.doesNotMatch(forgot.body, /Forgot your password/);
      const cookie = await t.login('member@acme.test');
      const account = await t.app.inject({ method: 'GET', url: '/-/account', headers: { cookie } });
      assert.equal(account.statusCode, 200);
      assert.doesNotMatch(account.body, /Email notifications/);
      assert.match(account.body, /Signed in/, 'the security notice still shows in the product');
      assert.equal((await t.context.db.selectFrom('email_outbox').select('id').execute()).length, 0);
    });
  });
}
