/**
 * The webhook settings pages over HTTP: admins and owners list, create (the secret shown once, never again),
 * edit, redeliver and delete; everyone else, and every webhook of another organization, gets the one 404.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { upsertAccount } from '../../src/auth/accounts.ts';
import { withOrg } from '../../src/db/connection.ts';
import { findProject } from '../../src/projects/projects.ts';
import { enqueueWebhookEvent } from '../../src/webhooks/outbox.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { PASSWORD, createTestApp, csrfFrom, type TestApp } from '../helpers/test-app.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
/** The error page's own part (not the top bar of whoever asked, nor the request id). */
const errorPage = (html: string) => /<div class="error-page">[\s\S]*?<p class="error-request">/.exec(html)?.[0] ?? html;

for (const target of databaseTargets()) {
  describe(`webhook settings pages (${target.name})`, () => {
    let t: TestApp;
    let dispose: () => Promise<void>;
    const cookies: Record<string, string> = {};
    let acmeHook = '';
    let globexHook = '';

    const get = (who: string, url: string) => t.app.inject({ method: 'GET', url, headers: cookies[who] ? { cookie: cookies[who] } : {} });
    const post = async (who: string, url: string, form: Record<string, string | string[]>, csrfPage = '/acme/-/settings/webhooks') => {
      const page = await get(who, csrfPage);
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(form)) for (const value of [v].flat()) params.append(k, value);
      params.append('_csrf', page.statusCode === 200 ? csrfFrom(page.body) : 'none');
      return t.app.inject({ method: 'POST', url, headers: { ...FORM, cookie: cookies[who]! }, payload: params.toString() });
    };

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      t = await createTestApp(opened.db);
      await upsertAccount(t.context.db, { email: 'admin@globex.test', orgSlug: 'globex', role: 'admin', password: PASSWORD });
      for (const who of ['owner@acme.test', 'admin@acme.test', 'manager@acme.test', 'member@acme.test', 'admin@globex.test']) cookies[who] = await t.login(who);
    });
    after(async () => {
      await t.close();
      await dispose();
    });

    test('an admin adds a webhook: the secret is shown once (no-store) and never again', async () => {
      const created = await post('admin@acme.test', '/acme/-/settings/webhooks', { url: 'https://hooks.example.com/dc', events: ['document.published', 'change_request.merged'], active: 'on' });
      assert.equal(created.statusCode, 200);
      assert.equal(created.headers['cache-control'], 'no-store');
      const secret = /value="(whsec_[A-Za-z0-9_-]+)"/.exec(created.body)?.[1];
      assert.ok(secret, 'the secret is on the page');
      acmeHook = /\/acme\/-\/settings\/webhooks\/([0-9a-f-]{36})/.exec(created.body)![1]!;
      const list = await get('admin@acme.test', '/acme/-/settings/webhooks');
      assert.equal(list.statusCode, 200);
      assert.ok(list.body.includes('https://hooks.example.com/dc'));
      const detail = await get('owner@acme.test', `/acme/-/settings/webhooks/${acmeHook}`);
      assert.equal(detail.statusCode, 200);
      for (const body of [list.body, detail.body]) assert.ok(!body.includes(secret) && !body.includes(secret.slice(6)), 'never shown again');
      const audit = await withOrg(t.context.db, (await findProject(t.context.db, 'acme', 'handbook'))!.orgId, (trx) => trx.selectFrom('audit_events').selectAll().where('action', '=', 'webhook.created').execute());
      assert.equal(audit.length, 1);
      assert.ok(!JSON.stringify(audit).includes(secret.slice(6)));
    });

    test('the form refuses forbidden addresses, other schemes and no events, and shows the values again', async () => {
      for (const [url, expected] of [
        ['http://169.254.169.254/latest/meta-data', 'metadata'],
        ['http://127.0.0.1:8080/x', 'loopback'],
        ['http://[::ffff:10.0.0.1]/x', 'private'],
        ['ftp://example.com/x', 'https://'],
        ['https://user:pw@example.com/x', 'credentials'],
      ] as const) {
        const response = await post('admin@acme.test', '/acme/-/settings/webhooks', { url, events: 'document.published', active: 'on' });
        assert.equal(response.statusCode, 400, url);
        assert.ok(response.body.includes(expected), `${url}: ${expected}`);
      }
      const none = await post('admin@acme.test', '/acme/-/settings/webhooks', { url: 'https://ok.example.com/', active: 'on' });
      assert.equal(none.statusCode, 400);
      assert.ok(none.body.includes('Choose at least one event'));
      assert.ok(none.body.includes('https://ok.example.com/'), 'the value is shown again');
    });

    test('edit and redeliver: the owner changes events; a delivery is queued again', async () => {
      const saved = await post('owner@acme.test', `/acme/-/settings/webhooks/${acmeHook}`, { url: 'https://hooks.example.com/dc2', events: 'access_request.created' }, `/acme/-/settings/webhooks/${acmeHook}`);
      assert.equal(saved.statusCode, 303);
      const row = await withOrg(t.context.db, (await findProject(t.context.db, 'acme', 'handbook'))!.orgId, (trx) => trx.selectFrom('webhooks').selectAll().where('id', '=', acmeHook).executeTakeFirstOrThrow());
      assert.deepEqual([row.url, row.events, row.active], ['https://hooks.example.com/dc2', ['access_request.created'], false]);
      await withOrg(t.context.db, row.org_id, (trx) => trx.updateTable('webhooks').set({ active: true }).where('id', '=', acmeHook).execute());
      await enqueueWebhookEvent(t.context.db, { orgId: row.org_id, type: 'access_request.created', actor: null, data: {} });
      const delivery = await withOrg(t.context.db, row.org_id, (trx) => trx.selectFrom('webhook_deliveries').select('id').where('webhook_id', '=', acmeHook).executeTakeFirstOrThrow());
      await withOrg(t.context.db, row.org_id, (trx) => trx.updateTable('webhook_deliveries').set({ state: 'failed' }).where('id', '=', delivery.id).execute());
      const redelivered = await post('admin@acme.test', `/acme/-/settings/webhooks/${acmeHook}/deliveries/${delivery.id}/redeliver`, {}, `/acme/-/settings/webhooks/${acmeHook}`);
      assert.equal(redelivered.statusCode, 303);
      const state = await withOrg(t.context.db, row.org_id, (trx) => trx.selectFrom('webhook_deliveries').select('state').where('id', '=', delivery.id).executeTakeFirstOrThrow());
      assert.equal(state.state, 'pending');
      await t.context.webhooks.idle();
    });

    test('wrong role or wrong tenant: every page and action is the one 404; nothing changes', async () => {
      const created = await post('admin@globex.test', '/globex/-/settings/webhooks', { url: 'https://globex.example.com/hook', events: 'document.published', active: 'on' }, '/globex/-/settings/webhooks');
      assert.equal(created.statusCode, 200);
      globexHook = /\/globex\/-\/settings\/webhooks\/([0-9a-f-]{36})/.exec(created.body)![1]!;
      const missing = await get('admin@acme.test', '/acme/-/settings/webhooks/00000000-0000-4000-8000-000000000000');
      assert.equal(missing.statusCode, 404);
      for (const [who, url] of [
        ['manager@acme.test', '/acme/-/settings/webhooks'],
        ['member@acme.test', `/acme/-/settings/webhooks/${acmeHook}`],
        ['admin@globex.test', '/acme/-/settings/webhooks'],
        ['admin@globex.test', `/acme/-/settings/webhooks/${acmeHook}`],
        ['admin@acme.test', `/globex/-/settings/webhooks/${globexHook}`],
        ['admin@acme.test', `/acme/-/settings/webhooks/${globexHook}`],
        ['admin@globex.test', `/globex/-/settings/webhooks/${acmeHook}`],
      ]) {
        const response = await get(who!, url!);
        assert.equal(response.statusCode, 404, `${who} GET ${url}`);
        // the same page as a webhook that does not exist, at the same organization's address, for the same person
        const nothing = await get(who!, url!.replace(/webhooks(\/[0-9a-f-]{36})?$/, 'webhooks/00000000-0000-4000-8000-000000000000'));
        assert.equal(errorPage(response.body), errorPage(nothing.body), `${who} GET ${url}: the one 404`);
      }
      // actions, with a valid CSRF token of the actor's own pages
      for (const [who, url, csrfPage] of [
        ['admin@globex.test', `/globex/-/settings/webhooks/${acmeHook}`, '/globex/-/settings/webhooks'],
        ['admin@globex.test', `/globex/-/settings/webhooks/${acmeHook}/delete`, '/globex/-/settings/webhooks'],
        ['admin@acme.test', `/acme/-/settings/webhooks/${globexHook}`, '/acme/-/settings/webhooks'],
        ['admin@acme.test', `/acme/-/settings/webhooks/${globexHook}/delete`, '/acme/-/settings/webhooks'],
        ['admin@acme.test', `/acme/-/settings/webhooks/${globexHook}/deliveries/00000000-0000-4000-8000-000000000000/redeliver`, '/acme/-/settings/webhooks'],
        ['admin@acme.test', `/globex/-/settings/webhooks`, '/acme/-/settings/webhooks'],
      ]) {
        const response = await post(who!, url!, { url: 'https://evil.example/', events: 'document.published', active: 'on' }, csrfPage);
        assert.equal(response.statusCode, 404, `${who} POST ${url}`);
      }
      const manager = await post('manager@acme.test', '/acme/-/settings/webhooks', { url: 'https://evil.example/', events: 'document.published' }, '/acme/-/settings');
      assert.ok(manager.statusCode === 404 || manager.statusCode === 403, String(manager.statusCode));
      const globexOrg = (await findProject(t.context.db, 'globex', 'wiki'))!.orgId;
      const theirs = await withOrg(t.context.db, globexOrg, (trx) => trx.selectFrom('webhooks').select('url').execute());
      assert.deepEqual(theirs.map((r) => r.url), ['https://globex.example.com/hook']);
      const signedOut = await t.app.inject({ method: 'GET', url: '/acme/-/settings/webhooks' });
      assert.ok(signedOut.statusCode === 302 || signedOut.statusCode === 303, 'anonymous: to sign-in');
    });

    test('delete removes the webhook and its log', async () => {
      const response = await post('admin@acme.test', `/acme/-/settings/webhooks/${acmeHook}/delete`, {}, `/acme/-/settings/webhooks/${acmeHook}`);
      assert.equal(response.statusCode, 303);
      assert.equal((await get('admin@acme.test', `/acme/-/settings/webhooks/${acmeHook}`)).statusCode, 404);
    });
  });
}
