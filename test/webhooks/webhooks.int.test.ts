/**
 * Webhooks end to end with a real HTTP listener started here: the outbox is filled by the events' own
 * transactions (publishes through the branch-move listener, change-request and access-request commands, the
 * overdue scan), sent signed by the dispatcher, retried with backoff on a held clock, redelivered, refused for
 * addresses a webhook must never reach, claimed once by two workers, and kept across a restart.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { UserActor } from '../../src/access/actor.ts';
import type { DocumentLookup } from '../../src/access/access-requests.ts';
import { approveAccessRequest } from '../../src/access/commands/approve-access-request.ts';
import { createAccessRequest } from '../../src/access/commands/create-access-request.ts';
import { denyAccessRequest } from '../../src/access/commands/deny-access-request.ts';
import { createAppContext } from '../../src/app-context.ts';
import { upsertAccount } from '../../src/auth/accounts.ts';
import { mfaSecretBox } from '../../src/auth/mfa.ts';
import { withOrg } from '../../src/db/connection.ts';
import { NotFoundError } from '../../src/errors.ts';
import { findProject, type ProjectRecord } from '../../src/projects/projects.ts';
import { createWebhook, deleteWebhook, redeliverWebhook, updateWebhook } from '../../src/webhooks/commands.ts';
import { retryDelayMs, WebhookDispatcher, type WebhookDispatcherDeps } from '../../src/webhooks/dispatcher.ts';
import { WEBHOOK_EVENTS, type WebhookEnvelope, type WebhookEventType } from '../../src/webhooks/events.ts';
import { sendWebhook } from '../../src/webhooks/http-delivery.ts';
import { claimWebhookDeliveries, enqueueWebhookEvent } from '../../src/webhooks/outbox.ts';
import { enqueueOverdueAcknowledgments } from '../../src/webhooks/overdue-acknowledgments.ts';
import { verifyWebhookSignature } from '../../src/webhooks/signature.ts';
import { actorOf } from '../helpers/actors.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { PASSWORD, createTestApp, testConfig, type TestApp } from '../helpers/test-app.ts';
import { startWebhookReceiver } from '../helpers/webhook-receiver.ts';
import { askingDocument, commitThroughProtocol } from '../evidence/helpers.ts';

const AUDIT = { requestId: 'test', ip: '127.0.0.1' };
const DAY = 24 * 60 * 60 * 1000;

for (const target of databaseTargets()) {
  describe(`webhooks (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    let ownerUrl: string | undefined;
    let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
    let project: ProjectRecord;
    let admin: UserActor;
    let skew = 0;
    const now = () => Date.now() + skew;
    const box = mfaSecretBox(testConfig('/unused').mfaKeys);
    const allowed = () => new Set([`127.0.0.1:${receiver.port}`]);
    const dispatcher = (extra: Partial<WebhookDispatcherDeps> = {}) =>
      new WebhookDispatcher({ db: t.context.db, box, allowedHosts: allowed(), now, random: () => 0.5, limits: { totalTimeoutMs: 1500, connectTimeoutMs: 1000 }, ...extra });
    const deps = () => ({ db: t.context.db, box, now });
    let hook: { id: string; secret: string };

    const deliveries = (webhookId: string) =>
      withOrg(t.context.db, project.orgId, (trx) => trx.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId).orderBy('created_at').execute());
    const attempts = (deliveryId: string) =>
      withOrg(t.context.db, project.orgId, (trx) => trx.selectFrom('webhook_attempts').selectAll().where('delivery_id', '=', deliveryId).orderBy('id').execute());
    /** Bodies received of one event type, parsed, each checked for a valid signature now. */
    const receivedOf = (type: WebhookEventType): WebhookEnvelope[] =>
      receiver.received
        .filter((r) => r.headers['docucommit-event'] === type)
        .map((r) => {
          assert.ok(verifyWebhookSignature({ secret: hook.secret, header: r.headers['docucommit-signature'] as string, body: r.body, nowSeconds: Math.floor(now() / 1000) }), 'signed with the secret');
          return JSON.parse(r.body) as WebhookEnvelope;
        });
    const noSecretsOrText = () => {
      for (const r of receiver.received) {
        assert.ok(!r.body.includes(hook.secret) && !JSON.stringify(r.headers).includes(hook.secret), 'the secret is never sent');
        assert.ok(!r.body.includes('RESTRICTED-TITLE-MARKER') && !r.body.includes('Bands are reviewed'), 'no title or text of a restricted document');
        assert.ok(!r.body.includes('CONFIDENTIAL-TEXT-MARKER'), 'no text of a confidential document');
      }
    };

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      ownerUrl = opened.ownerUrl;
      receiver = await startWebhookReceiver();
      // the app's own dispatcher (nudged after a publish) may reach the listener too
      t = await createTestApp(opened.db, { config: { webhookAllowedHosts: [`127.0.0.1:${receiver.port}`] } });
      await upsertAccount(t.context.db, { email: 'admin@globex.test', orgSlug: 'globex', role: 'admin', password: PASSWORD });
      await upsertAccount(t.context.db, { email: 'admin2@acme.test', orgSlug: 'acme', role: 'admin', password: PASSWORD });
      project = (await findProject(t.context.db, 'acme', 'handbook'))!;
      admin = await actorOf(t.context.db, 'admin@acme.test');
      hook = await createWebhook(deps(), admin, { orgId: project.orgId, webhook: { url: receiver.url(), events: [...WEBHOOK_EVENTS], active: true }, audit: AUDIT });
    });
    after(async () => {
      await t.context.branchMoves.stop();
      await receiver.close();
      await t.close();
      await dispose();
    });
    beforeEach(async () => {
      receiver.answer = () => ({ status: 200, body: 'ok' });
      skew = 0;
      // what earlier tests left waiting (retries of refused or failed attempts) is sent now, not counted later
      await t.context.webhooks.idle();
      skew = 2 * DAY;
      await dispatcher().deliverDue();
      skew = 0;
      receiver.received = [];
    });

    test('document.published: one signed event per publish with paths, blob ids and classifications; titles of public documents only; never text', async () => {
      const head = await commitThroughProtocol(
        t,
        project,
        {
          'policies/salary-bands.md': '---\ntitle: Salary bands RESTRICTED-TITLE-MARKER\nclassification: restricted\n---\n\nBands are reviewed monthly.\n',
          'policies/travel.md': '---\ntitle: Travel CONFIDENTIAL-TEXT-MARKER\nclassification: confidential\n---\n\nCONFIDENTIAL-TEXT-MARKER body.\n',
          'public-page.md': '---\ntitle: Our public page\nclassification: public\n---\n\nHello.\n',
          'assets/logo.txt': 'not a document',
        },
        'Update three documents',
      );
      // the publish listener nudged the app's dispatcher; anything left is sent here
      await t.context.webhooks.idle();
      await dispatcher().deliverDue();
      assert.equal(receiver.received.length, 1);
      const [event] = receivedOf('document.published');
      assert.ok(event);
      assert.equal(event.organization.slug, 'acme');
      assert.equal(event.data.after, head);
      assert.equal((event.data.project as { slug: string }).slug, 'handbook');
      const documents = event.data.documents as { path: string; change: string; blob: string; classification: string; title?: string }[];
      assert.deepEqual(documents.map((d) => [d.path, d.change, d.classification, d.title ?? null]).sort(), [
        ['policies/salary-bands.md', 'modified', 'restricted', null],
        ['policies/travel.md', 'added', 'confidential', null],
        ['public-page.md', 'added', 'public', 'Our public page'],
      ]);
      const repository = await t.context.repositories.get(project);
      assert.equal(documents.find((d) => d.path === 'policies/travel.md')!.blob, (await repository.entryAt(head, 'policies/travel.md'))!.oid);
      const request = receiver.received[0]!;
      assert.equal(request.headers['docucommit-event-id'], event.id);
      assert.equal(request.headers['content-type'], 'application/json');
      noSecretsOrText();
      // the listener's delivery retried (at least once) enqueues nothing twice
      const moveId = (await withOrg(t.context.db, project.orgId, (trx) => trx.selectFrom('branch_moves').select('id').orderBy('id', 'desc').executeTakeFirstOrThrow())).id;
      const { WebhookPublishListener } = await import('../../src/webhooks/publish-listener.ts');
      const { loadMove } = await import('../../src/changes/move-store.ts');
      await new WebhookPublishListener(t.context.db, t.context.repositories).handle((await loadMove(t.context.db, project.orgId, String(moveId)))!);
      assert.equal(await dispatcher().deliverDue(), 0, 'a replayed move enqueues nothing');
      assert.equal(receiver.received.length, 1);
    });

    test('change requests: opened, approved, merged and closed, each from its command, with ids, numbers and commits', async () => {
      const member = await actorOf(t.context.db, 'member@acme.test');
      const manager = await actorOf(t.context.db, 'manager@acme.test');
      const repository = await t.context.repositories.get(project);
      const draft = async (branch: string, text: string) => {
        const main = (await repository.headOf('main'))!;
        await t.context.branchMoves.commit(
          project,
          repository,
          { branch, expectedOld: null, startFrom: main, mode: 'patch', changes: [{ path: 'news/launch.md', content: `---\ntitle: Launch\n---\n\n${text}\n` }], author: { name: 'M', email: 'member@acme.test' }, message: 'Draft' },
          { kind: 'save', actor: { type: 'user', id: member.userId, label: member.email }, events: () => [] },
        );
        await t.context.branchMoves.idle();
      };
      const grants = new Set<string>();
      await draft('draft-one', 'First draft.');
      const one = await t.context.changeRequests.open(project, member, { branch: 'draft-one', title: 'Secret plans in the title' }, grants);
      await t.context.changeRequests.review(project, manager, one, { verdict: 'approve' }, grants);
      const merged = await t.context.changeRequests.merge(project, manager, one, grants);
      assert.equal(merged.merged, true);
      await t.context.branchMoves.idle();
      await draft('draft-two', 'Second draft.');
      const two = await t.context.changeRequests.open(project, member, { branch: 'draft-two', title: 'Closed one' }, grants);
      await t.context.changeRequests.setOpen(project, member, two, false, grants);
      await t.context.webhooks.idle();
      await dispatcher().deliverDue();

      const opened = receivedOf('change_request.opened');
      assert.deepEqual(opened.map((e) => (e.data.change_request as { number: number }).number), [one, two]);
      assert.equal(opened[0]!.actor?.id, member.userId);
      const approved = receivedOf('change_request.approved');
      assert.equal(approved.length, 1);
      assert.equal(approved[0]!.actor?.id, manager.userId);
      const mergedEvents = receivedOf('change_request.merged');
      assert.equal(mergedEvents.length, 1, 'merged once');
      assert.equal((mergedEvents[0]!.data.change_request as { merge_commit: string }).merge_commit, merged.merged ? merged.commit : '');
      const closed = receivedOf('change_request.closed');
      assert.equal(closed.length, 1);
      assert.equal((closed[0]!.data.change_request as { state: string }).state, 'closed');
      assert.ok(!receiver.received.some((r) => r.body.includes('Secret plans')), 'no titles (free text) in payloads');
      assert.equal(receivedOf('document.published').length, 1, 'the merge published main');
      noSecretsOrText();
    });

    test('access requests: created, and decided (approved, denied) from their commands; no reason text', async () => {
      const lookup: DocumentLookup = (projectId, path) => {
        const doc = t.context.publisher.snapshotOf(projectId)?.documents.get(path);
        return doc ? { title: doc.meta.title, classification: doc.meta.classification } : null;
      };
      const accessDeps = { db: t.context.db, lookup, now: Date.now };
      const member = await actorOf(t.context.db, 'member@acme.test');
      const viewer = await actorOf(t.context.db, 'viewer@acme.test');
      const first = await createAccessRequest(accessDeps, member, { project, path: 'policies/incident-response', reason: 'Preparing the SECRET-REASON audit.' });
      const second = await createAccessRequest(accessDeps, viewer, { project, path: 'policies/incident-response', reason: 'Another reason.' });
      await approveAccessRequest(accessDeps, await actorOf(t.context.db, 'manager@acme.test'), { orgId: project.orgId, requestId: first });
      await denyAccessRequest(accessDeps, admin, { orgId: project.orgId, requestId: second });
      await dispatcher().deliverDue();
      const created = receivedOf('access_request.created');
      assert.deepEqual(created.map((e) => (e.data.access_request as { id: string }).id).sort(), [first, second].sort());
      assert.equal((created[0]!.data.access_request as { path: string }).path, 'policies/incident-response.md');
      const decided = receivedOf('access_request.decided');
      assert.deepEqual(decided.map((e) => [(e.data.access_request as { id: string }).id, e.data.decision]).sort(), [[first, 'approved'], [second, 'denied']].sort());
      assert.ok(decided.find((e) => e.data.decision === 'approved')!.data.grant_expires_at);
      assert.ok(!receiver.received.some((r) => r.body.includes('SECRET-REASON')));
      noSecretsOrText();
    });

    test('acknowledgment.overdue: once per version after its due date, by any number of scans', async () => {
      await commitThroughProtocol(t, project, { 'policies/conduct.md': askingDocument('Conduct', 'everyone', 'CONFIDENTIAL-TEXT-MARKER', 'confidential') }, 'Ask for acknowledgment');
      await t.context.webhooks.idle();
      receiver.received = [];
      skew = 13 * DAY;
      assert.equal(await enqueueOverdueAcknowledgments(t.context.db, now()), 0, 'not yet due');
      skew = 15 * DAY;
      assert.equal(await enqueueOverdueAcknowledgments(t.context.db, now()), 1);
      assert.equal(await enqueueOverdueAcknowledgments(t.context.db, now()), 0, 'a second scan adds nothing');
      await dispatcher().deliverDue();
      const [event] = receivedOf('acknowledgment.overdue');
      assert.ok(event);
      const document = event.data.document as { path: string; classification: string; title?: string; blob: string };
      assert.equal(document.path, 'policies/conduct.md');
      assert.equal(document.classification, 'confidential');
      assert.equal(document.title, undefined, 'no title of a confidential document');
      assert.match(document.blob, /^[0-9a-f]{40,64}$/);
      noSecretsOrText();
    });

    test('a failing endpoint (500, then a timeout) is retried with backoff on the held clock, then delivered; the log keeps each attempt', async () => {
      let calls = 0;
      receiver.answer = () => (++calls === 1 ? { status: 500 } : calls === 2 ? 'hang' : { status: 204 });
      await enqueueWebhookEvent(t.context.db, { orgId: project.orgId, type: 'change_request.opened', actor: null, data: { probe: 'retry' } });
      const worker = dispatcher();
      assert.equal(await worker.deliverDue(), 1);
      const [row] = (await deliveries(hook.id)).filter((d) => d.body.includes('"probe":"retry"'));
      assert.equal(row!.state, 'pending');
      assert.equal(row!.last_status, 500);
      const firstDelay = new Date(row!.next_attempt_at).getTime() - now();
      assert.ok(firstDelay > retryDelayMs(1, () => 0.5) - 1000 && firstDelay <= retryDelayMs(1, () => 0.5), `first retry after ~7.5 s (${firstDelay})`);
      assert.equal(await worker.deliverDue(), 0, 'not due before its time');
      skew += retryDelayMs(1, () => 0.5) + 10;
      assert.equal(await worker.deliverDue(), 1, 'second attempt: the endpoint hangs');
      const afterTimeout = (await deliveries(hook.id)).find((d) => d.id === row!.id)!;
      assert.equal(afterTimeout.last_error, 'timeout');
      const secondDelay = new Date(afterTimeout.next_attempt_at).getTime() - now();
      assert.ok(secondDelay > retryDelayMs(1, () => 0.5), `the wait grows (${secondDelay})`);
      skew += retryDelayMs(2, () => 0.5) + 10;
      assert.equal(await worker.deliverDue(), 1);
      const done = (await deliveries(hook.id)).find((d) => d.id === row!.id)!;
      assert.equal(done.state, 'delivered');
      const log = await attempts(row!.id);
      assert.deepEqual(log.map((a) => [a.attempt, a.status_code, a.error_class, a.ok]), [[1, 500, 'http_status', false], [2, null, 'timeout', false], [3, 204, null, true]]);
      const ids = new Set(receiver.received.map((r) => r.headers['docucommit-event-id']));
      assert.equal(ids.size, 1, 'every attempt carries the same event id');
    });

    test('after 24 hours of failures a delivery is marked failed; redeliver sends it again with the same event id', async () => {
      receiver.answer = () => ({ status: 503 });
      await enqueueWebhookEvent(t.context.db, { orgId: project.orgId, type: 'change_request.opened', actor: null, data: { probe: 'give-up' } });
      const worker = dispatcher();
      for (let i = 0; i < 60; i++) {
        await worker.deliverDue();
        const row = (await deliveries(hook.id)).find((d) => d.body.includes('give-up'))!;
        if (row.state !== 'pending') break;
        skew = new Date(row.next_attempt_at).getTime() - Date.now() + 10;
      }
      const failed = (await deliveries(hook.id)).find((d) => d.body.includes('give-up'))!;
      assert.equal(failed.state, 'failed');
      assert.ok(now() - new Date(failed.created_at).getTime() <= DAY, 'given up within the 24 hours');
      assert.ok(now() + retryDelayMs(failed.attempts, () => 0.5) > new Date(failed.give_up_at).getTime(), 'when the next retry would fall after them');
      const tried = failed.attempts;
      assert.ok(tried >= 10, `backoff, not a flood (${tried} attempts)`);

      receiver.answer = () => ({ status: 200 });
      receiver.received = [];
      await redeliverWebhook(deps(), admin, { orgId: project.orgId, webhookId: hook.id, deliveryId: failed.id, audit: AUDIT });
      assert.equal(await worker.deliverDue(), 1);
      const again = (await deliveries(hook.id)).find((d) => d.id === failed.id)!;
      assert.equal(again.state, 'delivered');
      assert.equal(receiver.received.length, 1);
      assert.equal(receiver.received[0]!.headers['docucommit-event-id'], failed.event_id);
      assert.equal((await attempts(failed.id)).length, tried + 1);
      await redeliverWebhook(deps(), admin, { orgId: project.orgId, webhookId: hook.id, deliveryId: failed.id, audit: AUDIT });
      assert.equal(await worker.deliverDue(), 1, 'a delivered one can be redelivered too');
    });

    test('forgery: each refused address class, a name resolving to 127.0.0.1, mapped IPv6, metadata even when allowlisted; nothing reaches the listener', async () => {
      const port = receiver.port;
      const cases: [string, string, string | null][] = [
        [`http://127.0.0.1:${port}/x`, 'refused_loopback', null],
        [`http://localhost:${port}/x`, 'refused_loopback', null],
        [`http://[::ffff:127.0.0.1]:${port}/x`, 'refused_loopback', null],
        [`http://[::1]:${port}/x`, 'refused_loopback', null],
        [`http://0.0.0.0:${port}/x`, 'refused_unspecified', null],
        [`http://private.test:${port}/x`, 'refused_private', '10.1.2.3'],
        [`http://private6.test:${port}/x`, 'refused_private', 'fc00::5'],
        [`http://linklocal.test:${port}/x`, 'refused_link_local', '169.254.3.4'],
        [`http://linklocal6.test:${port}/x`, 'refused_link_local', 'fe80::9'],
        [`http://cgnat.test:${port}/x`, 'refused_cgnat', '100.64.3.3'],
        [`http://metadata.test/latest`, 'refused_metadata', '169.254.169.254'],
        [`http://metadata6.test/latest`, 'refused_metadata', 'fd00:ec2::254'],
        [`http://mixed.test:${port}/x`, 'refused_loopback', '8.8.8.8,127.0.0.1'],
        [`ftp://example.com/x`, 'invalid_url', null],
        [`http://user:pw@example.com/x`, 'invalid_url', null],
      ];
      for (const [url, expected, answer] of cases) {
        const resolver = async () => (answer ?? '').split(',').map((address) => ({ address, family: address.includes(':') ? (6 as const) : (4 as const) }));
        const outcome = await sendWebhook(url, {}, '{}', answer ? { resolver } : {});
        assert.equal(outcome.errorClass, expected, url);
        assert.equal(outcome.ok, false);
      }
      // metadata stays refused even for an allowlisted host
      const metadata = await sendWebhook('http://169.254.169.254/latest', {}, '{}', { allowedHosts: new Set(['169.254.169.254']) });
      assert.equal(metadata.errorClass, 'refused_metadata');
      assert.equal(receiver.received.length, 0, 'the listener on 127.0.0.1 received nothing');

      // the connection goes to the address that was checked: a name only our resolver knows reaches the listener
      const pinned = await sendWebhook(`http://hooks.invalid:${port}/pinned`, {}, '{}', {
        resolver: async () => [{ address: '127.0.0.1', family: 4 }],
        allowedHosts: new Set([`hooks.invalid:${port}`]),
      });
      assert.equal(pinned.ok, true, String(pinned.errorClass));
      assert.equal(receiver.received[0]?.path, '/pinned');
      assert.equal(receiver.received[0]?.headers.host, `hooks.invalid:${port}`, 'the Host header is the URL’s');

      // through the dispatcher: an endpoint on a refused address is a failed attempt with the class in the log
      const refusedHook = await createWebhook(deps(), admin, { orgId: project.orgId, webhook: { url: `http://localhost:${port}/never`, events: ['access_request.created'], active: true }, audit: AUDIT });
      await enqueueWebhookEvent(t.context.db, { orgId: project.orgId, type: 'access_request.created', actor: null, data: {} });
      await dispatcher({ allowedHosts: new Set() }).deliverDue();
      const [refused] = await deliveries(refusedHook.id);
      assert.equal(refused!.last_error, 'refused_loopback');
      assert.ok(!receiver.received.some((r) => r.path === '/never'));
      await deleteWebhook(deps(), admin, { orgId: project.orgId, webhookId: refusedHook.id, audit: AUDIT });
    });

    test('a redirect is not followed; a large answer is read only up to the limit', async () => {
      receiver.answer = (r) => (r.path === '/redirect' ? { status: 302, headers: { location: receiver.url('/target') } } : { status: 200, body: Buffer.alloc(2 * 1024 * 1024, 97) });
      const redirected = await sendWebhook(receiver.url('/redirect'), {}, '{}', { allowedHosts: allowed() });
      assert.equal(redirected.errorClass, 'redirect_not_followed');
      assert.equal(redirected.status, 302);
      assert.ok(!receiver.received.some((r) => r.path === '/target'));
      const large = await sendWebhook(receiver.url('/large'), {}, '{}', { allowedHosts: allowed(), limits: { maxResponseBytes: 64 * 1024 } });
      assert.equal(large.ok, true);
    });

    test('two workers claiming at once send each delivery exactly once', async () => {
      const second = await createWebhook(deps(), admin, { orgId: project.orgId, webhook: { url: receiver.url('/second'), events: ['access_request.created'], active: true }, audit: AUDIT });
      for (let i = 0; i < 25; i++) await enqueueWebhookEvent(t.context.db, { orgId: project.orgId, type: 'access_request.created', actor: null, data: { n: i } });
      const [a, b] = [dispatcher(), dispatcher()];
      const [x, y] = await Promise.all([a.deliverDue(), b.deliverDue()]);
      assert.equal(x + y, 50, `${x} + ${y}`);
      const perDelivery = new Map<string, number>();
      for (const r of receiver.received) perDelivery.set(r.headers['docucommit-delivery'] as string, (perDelivery.get(r.headers['docucommit-delivery'] as string) ?? 0) + 1);
      assert.equal(perDelivery.size, 50);
      assert.ok([...perDelivery.values()].every((n) => n === 1));
      await deleteWebhook(deps(), admin, { orgId: project.orgId, webhookId: second.id, audit: AUDIT });
    });

    test('a worker that dies holding a claim loses nothing: the lease runs out and another worker sends it', async () => {
      await enqueueWebhookEvent(t.context.db, { orgId: project.orgId, type: 'access_request.created', actor: null, data: { probe: 'lease' } });
      const claimed = await claimWebhookDeliveries(t.context.db, new Date(now()), 10, 60);
      assert.equal(claimed.length, 1, 'claimed by a worker that then dies');
      assert.equal(await dispatcher().deliverDue(), 0, 'held while the lease runs');
      skew += 61_000;
      assert.equal(await dispatcher().deliverDue(), 1);
      assert.equal(receiver.received.length, 1);
    });

    test('another organization’s admin, or a manager, can neither see nor change these webhooks (404)', async () => {
      const outsider = await actorOf(t.context.db, 'admin@globex.test');
      const manager = await actorOf(t.context.db, 'manager@acme.test');
      const [delivery] = await deliveries(hook.id);
      for (const actor of [outsider, manager]) {
        await assert.rejects(updateWebhook(deps(), actor, { orgId: project.orgId, webhookId: hook.id, webhook: { url: 'https://evil.example/', events: ['document.published'], active: true }, audit: AUDIT }), NotFoundError);
        await assert.rejects(deleteWebhook(deps(), actor, { orgId: project.orgId, webhookId: hook.id, audit: AUDIT }), NotFoundError);
        await assert.rejects(redeliverWebhook(deps(), actor, { orgId: project.orgId, webhookId: hook.id, deliveryId: delivery!.id, audit: AUDIT }), NotFoundError);
        await assert.rejects(createWebhook(deps(), actor, { orgId: project.orgId, webhook: { url: 'https://evil.example/', events: ['document.published'], active: true }, audit: AUDIT }), NotFoundError);
      }
      // an admin of globex naming acme's webhook in globex: not found there
      const globex = (await findProject(t.context.db, 'globex', 'wiki'))!;
      await assert.rejects(updateWebhook(deps(), outsider, { orgId: globex.orgId, webhookId: hook.id, webhook: { url: 'https://evil.example/', events: ['document.published'], active: true }, audit: AUDIT }), NotFoundError);
      await assert.rejects(redeliverWebhook(deps(), outsider, { orgId: globex.orgId, webhookId: hook.id, deliveryId: delivery!.id, audit: AUDIT }), NotFoundError);
      const still = await withOrg(t.context.db, project.orgId, (trx) => trx.selectFrom('webhooks').select('url').where('id', '=', hook.id).executeTakeFirstOrThrow());
      assert.equal(still.url, receiver.url());
      // and events of acme never go to globex's endpoints (and back)
      const globexAdmin = outsider;
      const theirs = await createWebhook(deps(), globexAdmin, { orgId: globex.orgId, webhook: { url: receiver.url('/globex'), events: [...WEBHOOK_EVENTS], active: true }, audit: AUDIT });
      await enqueueWebhookEvent(t.context.db, { orgId: project.orgId, type: 'access_request.created', actor: null, data: {} });
      await dispatcher().deliverDue();
      assert.ok(!receiver.received.some((r) => r.path === '/globex'));
      await deleteWebhook(deps(), globexAdmin, { orgId: globex.orgId, webhookId: theirs.id, audit: AUDIT });
    });

    test('the secret is stored sealed and the audit log never holds it', async () => {
      const row = await withOrg(t.context.db, project.orgId, (trx) => trx.selectFrom('webhooks').select('secret_sealed').where('id', '=', hook.id).executeTakeFirstOrThrow());
      assert.ok(!row.secret_sealed.includes(hook.secret.slice(6)));
      const events = await withOrg(t.context.db, project.orgId, (trx) => trx.selectFrom('audit_events').selectAll().where('action', 'like', 'webhook.%').execute());
      assert.ok(events.length >= 2);
      assert.ok(!JSON.stringify(events).includes(hook.secret.slice(6)));
    });

    test('a restart loses no delivery: enqueued, the app stopped, started again, and the delivery arrives', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'dc-webhook-restart-'));
      try {
        const config = { ...testConfig(dataDir), databaseUrl: ownerUrl ?? null, webhookAllowedHosts: [`127.0.0.1:${receiver.port}`] };
        const first = await createAppContext(config);
        const { ensureOrganization } = await import('../../src/organizations/organizations.ts');
        const org = await ensureOrganization(first.db, 'restart-org');
        await upsertAccount(first.db, { email: 'owner@restart.test', orgSlug: 'restart-org', role: 'owner', password: PASSWORD });
        const owner = await actorOf(first.db, 'owner@restart.test');
        await createWebhook({ db: first.db, box }, owner, { orgId: org.id, webhook: { url: receiver.url('/restart'), events: ['access_request.created'], active: true }, audit: AUDIT });
        await enqueueWebhookEvent(first.db, { orgId: org.id, type: 'access_request.created', actor: null, data: { probe: 'restart' } });
        await first.close();
        assert.equal(receiver.received.length, 0);

        const second = await createAppContext(config);
        try {
          assert.equal(await second.webhooks.deliverDue(), 1);
          assert.equal(receiver.received.length, 1);
          assert.equal(receiver.received[0]!.path, '/restart');
          assert.ok(receiver.received[0]!.body.includes('"probe":"restart"'));
        } finally {
          await second.close();
        }
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
}
