/**
 * The emails of what waits by date (docs/email.md): reviews due and overdue, acknowledgments overdue — each
 * against the real SMTP receiver: the right people get it, one digest per person, opt-out respected, no document
 * text, and a document nobody may read is never named to them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createToken } from '../../src/auth/tokens.ts';
import type { EmailConfig } from '../../src/config/config.ts';
import { Acknowledgments } from '../../src/evidence/acknowledgments.ts';
import { Reviews } from '../../src/evidence/reviews.ts';
import { runDueFeed } from '../../src/notifications/due-feed.ts';
import { EmailDispatcher, smtpTransport } from '../../src/notifications/email-dispatcher.ts';
import type { ProjectRecord } from '../../src/projects/projects.ts';
import { askingDocument, commitThroughProtocol } from '../evidence/helpers.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { SmtpReceiver, type ReceivedMail } from '../helpers/smtp-receiver.ts';
import { createTestApp, csrfFrom, type TestApp } from '../helpers/test-app.ts';

const WINDOW = 10 * 60_000;
const DAY = 24 * 60 * 60 * 1000;
const today = () => new Date().toISOString().slice(0, 10);
const reviewed = (title: string, classification: string, reviewBy: string, body: string) =>
  `---\ntitle: ${title}\nclassification: ${classification}\nreview_by: ${reviewBy}\n---\n\n${body}\n`;

for (const target of databaseTargets()) {
  describe(`emails of reviews due and acknowledgments overdue (${target.name})`, () => {
    const smtp = new SmtpReceiver();
    let t: TestApp;
    let dispose: () => Promise<void>;
    let handbook: ProjectRecord;

    before(async () => {
      await smtp.start();
      const opened = await target.open();
      dispose = opened.dispose;
      const email: EmailConfig = { smtpUrl: smtp.url, from: 'DocuCommit <docs@acme.test>', digestWindowMs: WINDOW };
      t = await createTestApp(opened.db, { config: { email } });
      handbook = (await t.built.catalog.find('acme', 'handbook'))!;
      // what the fixtures already ask for goes out first, and is forgotten
      await t.context.email!.runFeeds({ due: true });
      await send(Date.now() + WINDOW + 60_000);
      smtp.clear();
      await commitThroughProtocol(
        t,
        handbook,
        {
          'policies/late-ack.md': askingDocument('Late acknowledgment policy', 'everyone', 'ACK-BODY-TEXT of an internal policy.'),
          'policies/hidden-ack.md': askingDocument('Hidden ack HIDDEN-ACK-MARKER', 'everyone', 'HIDDEN-ACK-TEXT.', 'restricted'),
          'policies/review-late.md': reviewed('Review late policy', 'internal', '2020-01-01', 'REVIEW-BODY-TEXT.'),
          'policies/review-today.md': reviewed('Review today policy', 'internal', today(), 'REVIEW-TODAY-TEXT.'),
          'policies/review-hidden.md': reviewed('Hidden review HIDDEN-REVIEW-MARKER', 'restricted', '2020-01-01', 'HIDDEN-REVIEW-TEXT.'),
          'policies/cr-secret.md': '---\ntitle: CR-SECRET-TITLE\nclassification: confidential\n---\n\nCR-SECRET-TEXT.\n',
        },
        'Policies with due dates',
      );
    });
    after(async () => {
      await t.close();
      await dispose();
      await smtp.close();
    });

    /** One pass of a sending process whose clock reads `at`. */
    async function send(at: number): Promise<void> {
      const dispatcher = new EmailDispatcher({
        db: t.context.db,
        transport: smtpTransport(smtp.url),
        box: t.context.email!.box,
        from: 'DocuCommit <docs@acme.test>',
        baseUrl: t.context.email!.baseUrl,
        now: () => at,
        digestWindowMs: WINDOW,
      });
      await dispatcher.runOnce();
      await dispatcher.stop();
    }
    /** The due feed as a server runs it, on a clock that reads `at` (acknowledgments fall due as time passes). */
    async function dueFeedAt(at: number): Promise<number> {
      const published = (projectId: string, path: string) => {
        const doc = t.context.publisher.snapshotOf(projectId)?.documents.get(path);
        return doc ? { title: doc.meta.title, classification: doc.meta.classification, blobId: doc.blobId } : null;
      };
      return runDueFeed({
        db: t.context.db,
        box: t.context.email!.box,
        baseUrl: t.context.email!.baseUrl,
        now: () => at,
        sources: {
          acknowledgments: new Acknowledgments(t.context.db, published, () => at),
          reviews: new Reviews(t.context.db, t.context.repositories, t.context.branchMoves, (projectId) => t.context.publisher.snapshotOf(projectId), () => at),
        },
      });
    }
    const textOf = (mails: ReceivedMail[]) => mails.map((m) => `${m.subject}\n${m.text}`).join('\n');
    const SECRETS = /ACK-BODY-TEXT|REVIEW-BODY-TEXT|REVIEW-TODAY-TEXT|HIDDEN-ACK-TEXT|HIDDEN-REVIEW-TEXT/;

    test('reviews due and overdue reach those who may review them, in one digest with the rest, naming only what each may read', async () => {
      smtp.clear();
      await dueFeedAt(Date.now());
      await send(Date.now());
      assert.equal(smtp.to('member@acme.test').length, 0, 'nothing before the digest window has passed');
      await send(Date.now() + WINDOW + 60_000);

      const member = smtp.to('member@acme.test');
      assert.equal(member.length, 1, 'one digest, not one email per thing');
      assert.match(member[0]!.subject, /\d+ things wait for you/);
      assert.match(member[0]!.text, /Review overdue: “Review late policy”|review of “Review late policy” in Acme Handbook is overdue/);
      assert.match(member[0]!.text, /review of “Review today policy” in Acme Handbook is due/);
      assert.match(member[0]!.text, /Please acknowledge “Late acknowledgment policy”|asks for your acknowledgment: “Late acknowledgment policy”/);
      const memberText = textOf(member);
      assert.doesNotMatch(memberText, /HIDDEN-REVIEW-MARKER|review-hidden|HIDDEN-ACK-MARKER|hidden-ack/, 'restricted documents are never named to a member');
      assert.doesNotMatch(memberText, SECRETS, 'titles only, never document text');

      const admin = textOf(smtp.to('admin@acme.test'));
      assert.match(admin, /Hidden review HIDDEN-REVIEW-MARKER/, 'an admin may read and review it: they are told');
      assert.match(admin, /Hidden ack HIDDEN-ACK-MARKER/);
      assert.doesNotMatch(admin, SECRETS);

      const viewer = textOf(smtp.to('viewer@acme.test'));
      assert.match(viewer, /Late acknowledgment policy/, 'a viewer is asked to acknowledge');
      assert.doesNotMatch(viewer, /Review late policy|Review today policy/, 'but may not review: no review email');
      assert.equal(smtp.to('member@globex.test').length, 0, 'another organization hears nothing');

      // told once per document and state, not on every pass
      smtp.clear();
      await dueFeedAt(Date.now());
      await send(Date.now() + 2 * WINDOW);
      assert.doesNotMatch(textOf(smtp.to('member@acme.test')), /Review late policy|Review today policy/);
    });

    test('an acknowledgment past its due date is mailed again as overdue, to those who have not acknowledged it', async () => {
      smtp.clear();
      // the viewer acknowledges; the member does not
      const viewer = await t.login('viewer@acme.test');
      const page = await t.app.inject({ method: 'GET', url: '/acme/handbook/policies/late-ack', headers: { cookie: viewer } });
      assert.equal(page.statusCode, 200);
      const blob = /name="blob" value="([0-9a-f]{40})"/.exec(page.body)?.[1];
      assert.ok(blob, 'the acknowledgment banner');
      const acknowledged = await t.app.inject({
        method: 'POST',
        url: '/acme/handbook/-/acknowledge',
        headers: { cookie: viewer, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ _csrf: csrfFrom(page.body), path: 'policies/late-ack.md', blob }).toString(),
      });
      assert.ok([200, 303].includes(acknowledged.statusCode), `acknowledged: ${acknowledged.statusCode}`);

      const later = Date.now() + 30 * DAY; // past the organization's 14 days
      assert.ok((await dueFeedAt(later)) > 0);
      await send(later + WINDOW + 60_000);
      const member = textOf(smtp.to('member@acme.test'));
      assert.match(member, /Overdue: acknowledge “Late acknowledgment policy”|acknowledgment is overdue: “Late acknowledgment policy”/);
      assert.doesNotMatch(member, /HIDDEN-ACK-MARKER|hidden-ack/);
      assert.doesNotMatch(member, SECRETS);
      assert.match(textOf(smtp.to('admin@acme.test')), /acknowledgment is overdue: “Hidden ack HIDDEN-ACK-MARKER”/);
      assert.doesNotMatch(textOf(smtp.to('viewer@acme.test')), /Late acknowledgment policy/, 'who acknowledged is not chased');
    });

    test('who opted out is told nothing of reviews or acknowledgments; the others still are', async () => {
      const cookie = await t.login('manager@acme.test');
      const account = await t.app.inject({ method: 'GET', url: '/-/account', headers: { cookie } });
      const saved = await t.app.inject({
        method: 'POST',
        url: '/-/account/email-notifications',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ _csrf: csrfFrom(account.body) }).toString(),
      });
      assert.equal(saved.statusCode, 303);
      await commitThroughProtocol(
        t,
        handbook,
        {
          'policies/review-late-2.md': reviewed('Second late review', 'internal', '2020-02-01', 'Text.'),
          'policies/ack-2.md': askingDocument('Second acknowledgment', 'everyone'),
        },
        'More due dates',
      );
      smtp.clear();
      await dueFeedAt(Date.now());
      await send(Date.now() + WINDOW + 60_000);
      assert.equal(smtp.to('manager@acme.test').length, 0, 'opted out: nothing');
      assert.match(textOf(smtp.to('member@acme.test')), /Second late review/);
      assert.match(textOf(smtp.to('member@acme.test')), /Second acknowledgment/);
    });

    test('a change request waiting for review reaches those whose approval counts and who may read it, by number only; not its author, nor who opted out', async () => {
      const admin = await t.context.db.selectFrom('users').select('id').where('email', '=', 'admin@acme.test').executeTakeFirstOrThrow();
      const token = (await createToken(t.context.db, { userId: admin.id, name: 'cr', scopes: ['write'] })).token;
      smtp.clear();
      // a confidential document: one approval of a manager or above (the default rules)
      const opened = await t.app.inject({
        method: 'POST',
        url: '/api/v1/projects/acme/handbook/change-requests',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ title: 'CR-TITLE-SECRET tighten the vault', edit: { path: 'policies/cr-secret.md', content: '---\ntitle: CR-SECRET-TITLE\nclassification: confidential\n---\n\nCR-SECRET-TEXT, changed.\n' } }),
      });
      assert.equal(opened.statusCode, 201, opened.body);
      const number = (opened.json() as { number: number }).number;
      await dueFeedAt(Date.now());
      await send(Date.now() + WINDOW + 60_000);

      const owner = smtp.to('owner@acme.test');
      assert.equal(owner.length, 1);
      assert.match(textOf(owner), new RegExp(`Change request #${number} waits for your review`));
      assert.match(textOf(owner), new RegExp(`/acme/handbook/-/changes/${number}`));
      assert.doesNotMatch(textOf(owner), /CR-TITLE-SECRET|CR-SECRET-TITLE|CR-SECRET-TEXT|cr-secret/, 'by number: no title, path or text');
      assert.equal(smtp.to('admin@acme.test').length, 0, 'its author is not asked');
      assert.equal(smtp.to('manager@acme.test').length, 0, 'the manager opted out (the previous test)');
      for (const address of ['member@acme.test', 'viewer@acme.test']) {
        assert.doesNotMatch(textOf(smtp.to(address)), /Change request/, `${address} may neither read nor approve it`);
      }
      // asked once per head, not on every pass
      smtp.clear();
      await dueFeedAt(Date.now());
      await send(Date.now() + 2 * WINDOW);
      assert.equal(smtp.to('owner@acme.test').length, 0);
    });
  });
}
