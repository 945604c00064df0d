/** The webhook outbox in /metrics: queue depth, retries and failures, labelled by state only (parsed as Prometheus text). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createAppContext, type AppContext } from '../../src/app-context.ts';
import { upsertAccount } from '../../src/auth/accounts.ts';
import { mfaSecretBox } from '../../src/auth/mfa.ts';
import { withOrg } from '../../src/db/connection.ts';
import { buildApp, type BuiltApp } from '../../src/web/app.ts';
import { createWebhook } from '../../src/webhooks/commands.ts';
import { enqueueWebhookEvent } from '../../src/webhooks/outbox.ts';
import { actorOf } from '../helpers/actors.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { parsePrometheusText } from '../helpers/prometheus-text.ts';
import { PASSWORD, testConfig } from '../helpers/test-app.ts';

const TOKEN = 'metrics-token-0123456789abcdef-0123456789';

for (const target of databaseTargets()) {
  describe(`webhook metrics (${target.name})`, () => {
    let dispose: () => Promise<void>;
    let context: AppContext;
    let built: BuiltApp;
    let dataDir: string;

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      dataDir = mkdtempSync(join(tmpdir(), 'docucommit-webhook-metrics-'));
      context = await createAppContext({ ...testConfig(dataDir), metrics: { token: TOKEN, listen: null } }, opened.db);
      built = await buildApp(context);
    });
    after(async () => {
      await built.app.close();
      await context.close();
      await dispose();
      rmSync(dataDir, { recursive: true, force: true });
    });

    test('pending, retrying and failed deliveries across organizations, with no organization in any label', async () => {
      const orgs: string[] = [];
      for (const slug of ['metrics-a', 'metrics-b']) {
        await upsertAccount(context.db, { email: `owner@${slug}.test`, orgSlug: slug, role: 'owner', password: PASSWORD });
        const owner = await actorOf(context.db, `owner@${slug}.test`);
        const orgId = owner.memberships.keys().next().value!;
        orgs.push(orgId);
        await createWebhook({ db: context.db, box: mfaSecretBox(testConfig('/unused').mfaKeys) }, owner, {
          orgId,
          webhook: { url: `https://${slug}.example.com/hook`, events: ['access_request.created'], active: true },
          audit: { requestId: 'r', ip: '127.0.0.1' },
        });
        await enqueueWebhookEvent(context.db, { orgId, type: 'access_request.created', actor: null, data: {} });
        await enqueueWebhookEvent(context.db, { orgId, type: 'access_request.created', actor: null, data: {} });
      }
      // in metrics-a: one failed (given up), one retrying after a failed attempt; metrics-b: two waiting
      await withOrg(context.db, orgs[0]!, async (trx) => {
        const rows = await trx.selectFrom('webhook_deliveries').select('id').execute();
        await trx.updateTable('webhook_deliveries').set({ state: 'failed' }).where('id', '=', rows[0]!.id).execute();
        await trx.updateTable('webhook_deliveries').set({ attempts: 1, next_attempt_at: new Date(Date.now() + 60_000) }).where('id', '=', rows[1]!.id).execute();
      });
      const response = await built.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(response.statusCode, 200);
      const family = parsePrometheusText(response.body).find((f) => f.name === 'docucommit_webhook_deliveries');
      assert.ok(family, 'docucommit_webhook_deliveries is exposed');
      assert.equal(family.type, 'gauge');
      const byState = Object.fromEntries(family.samples.map((s) => [s.labels.state, s.value]));
      assert.deepEqual(byState, { pending: 3, retrying: 1, failed: 1 });
      assert.ok(family.samples.every((s) => Object.keys(s.labels).join() === 'state'), 'labelled by state only');
      for (const secret of [...orgs, 'metrics-a', 'metrics-b', 'example.com']) assert.ok(!response.body.includes(secret), secret);
    });
  });
}
