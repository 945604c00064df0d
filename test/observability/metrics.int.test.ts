import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createAppContext, type AppContext } from '../../src/app-context.ts';
import { upsertAccount } from '../../src/auth/accounts.ts';
import { loadConfig } from '../../src/config/config.ts';
import { listenForMetrics } from '../../src/observability/metrics-server.ts';
import { importFolder } from '../../src/projects/import-folder.ts';
import { buildApp, type BuiltApp } from '../../src/web/app.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { parsePrometheusText, type PromFamily } from '../helpers/prometheus-text.ts';
import { fixtureProject, login, PASSWORD, testConfig } from '../helpers/test-app.ts';

type Family = PromFamily;
const parse = parsePrometheusText;

const TOKEN = 'metrics-token-0123456789abcdef-0123456789';
const author = { name: 'Fixture Bot', email: 'bot@acme.test' };

for (const target of databaseTargets()) {
  describe(`/metrics (${target.name})`, () => {
    let dispose: () => Promise<void>;
    let context: AppContext;
    let built: BuiltApp;
    let dataDir: string;

    before(async () => {
      const opened = await target.open();
      dispose = opened.dispose;
      dataDir = mkdtempSync(join(tmpdir(), 'docucommit-metrics-'));
      context = await createAppContext({ ...testConfig(dataDir), metrics: { token: TOKEN, listen: null } }, opened.db);
      await upsertAccount(opened.db, { email: 'member@acme.test', orgSlug: 'acme', role: 'member', password: PASSWORD, name: 'Member' });
      built = await buildApp(context);
      // after the metrics subscribed: this import and its publish are timed
      await importFolder(context, { folder: fixtureProject('acme-handbook'), orgSlug: 'acme', projectSlug: 'handbook', projectName: 'Acme Handbook', author });
    });
    after(async () => {
      await built.app.close();
      await context.repositories.closeAll();
      await dispose();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const scrape = async () => {
      const response = await built.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(response.statusCode, 200);
      assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      return { text: response.body, families: parse(response.body) };
    };
    const family = (families: Family[], name: string) => {
      const found = families.find((f) => f.name === name);
      assert.ok(found, `${name} is exposed`);
      return found;
    };

    it('refuses a scrape without the token, with a wrong one, or with the token sent another way', async () => {
      for (const headers of [
        {},
        { authorization: `Bearer ${TOKEN.slice(0, -1)}x` },
        { authorization: `Bearer ${TOKEN}x` },
        { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` },
        { authorization: TOKEN },
      ]) {
        const response = await built.app.inject({ url: '/metrics', headers });
        assert.equal(response.statusCode, 401, JSON.stringify(headers));
        assert.equal(response.headers['www-authenticate'], 'Bearer realm="metrics"');
        assert.doesNotMatch(response.body, /docucommit_/);
      }
      const query = await built.app.inject({ url: `/metrics?token=${TOKEN}` });
      assert.equal(query.statusCode, 401);
    });

    it('counts requests by route pattern and status, and names no organization, project, user or document', async () => {
      const cookie = await login(built.app, 'member@acme.test', PASSWORD);
      const page = await built.app.inject({ url: '/acme/handbook/news/launch', headers: { cookie } });
      assert.equal(page.statusCode, 200);
      const missing = await built.app.inject({ url: '/acme/handbook/no-such-page-for-metrics', headers: { cookie } });
      assert.equal(missing.statusCode, 404);
      // no route answers OPTIONS (a GET of one segment is an organization's trust center)
      assert.equal((await built.app.inject({ method: 'OPTIONS', url: '/secret-probe-path-xyz' })).statusCode, 404);
      const { text, families } = await scrape();
      const requests = family(families, 'docucommit_http_requests_total');
      assert.equal(requests.type, 'counter');
      const pageRoutes = new Set(built.routes.filter((r) => r.method === 'GET' && r.url.startsWith('/:')).map((r) => r.url));
      assert.ok(
        requests.samples.some((m) => m.labels.method === 'GET' && m.labels.status === '200' && pageRoutes.has(m.labels.route!) && m.value >= 1),
        'the page is counted under its route pattern',
      );
      assert.ok(requests.samples.some((m) => m.labels.status === '404' && m.labels.route === 'unmatched'), 'a request no route matched is "unmatched"');
      const latency = family(families, 'docucommit_http_request_duration_seconds');
      assert.equal(latency.type, 'histogram');
      assert.ok(latency.samples.some((m) => m.name.endsWith('_count') && m.labels.method === 'GET' && m.value >= 1));
      const labelValues = families.flatMap((f) => f.samples.flatMap((m) => Object.values(m.labels)));
      for (const secret of ['acme', 'handbook', 'launch', 'member@', 'no-such-page', 'secret-probe', TOKEN, cookie.split('=')[1]!.slice(0, 16)]) {
        assert.ok(!labelValues.some((value) => value.includes(secret)), `no label holds ${secret}`);
      }
      assert.ok(!text.includes(TOKEN));
    });

    it('times imports and publishes, counts git processes, and shows the listener backlog and the database', async () => {
      const { families } = await scrape();
      const operations = family(families, 'docucommit_operation_duration_seconds');
      const counted = (operation: string) =>
        operations.samples.filter((m) => m.name.endsWith('_count') && m.labels.operation === operation && m.labels.outcome === 'ok').reduce((n, m) => n + m.value, 0);
      assert.equal(counted('import'), 1, 'the import is timed');
      assert.ok(counted('publish') >= 1, 'its publish is timed');
      const git = family(families, 'docucommit_git_processes_total');
      assert.ok(git.samples.reduce((n, m) => n + m.value, 0) > 0, 'git processes were started');
      // the import's move was delivered to every listener, or is about to be: the gauge exists per listener
      await context.branchMoves.idle();
      const after = (await scrape()).families;
      const pending = family(after, 'docucommit_listener_deliveries_pending');
      assert.equal(pending.type, 'gauge');
      assert.ok(pending.samples.every((m) => m.value === 0), 'nothing waits once the listeners are idle');
      if (target.name === 'postgres') {
        const connections = family(after, 'docucommit_database_connections');
        assert.ok(connections.samples.some((m) => m.labels.state === 'idle'));
      } else {
        family(after, 'docucommit_database_embedded_in_flight');
      }
      family(after, 'process_cpu_seconds_total');
      family(after, 'nodejs_eventloop_lag_seconds');
    });
  });
}

describe('metrics configuration', () => {
  it('is off by default: /metrics does not exist', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'docucommit-metrics-off-'));
    const [target] = databaseTargets();
    const opened = await target!.open();
    const context = await createAppContext(testConfig(dataDir), opened.db);
    const built = await buildApp(context);
    try {
      assert.equal(built.metrics, null);
      const response = await built.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(response.statusCode, 404);
    } finally {
      await built.app.close();
      await opened.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses a short token and a malformed listen address', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'docucommit-metrics-config-'));
    try {
      assert.throws(() => loadConfig({ dataDir, env: { METRICS_TOKEN: 'short' } }), /METRICS_TOKEN must be at least 32/);
      assert.throws(() => loadConfig({ dataDir, env: { METRICS_TOKEN: `${'x'.repeat(32)} y` } }), /METRICS_TOKEN/);
      assert.throws(() => loadConfig({ dataDir, env: { METRICS_LISTEN: '9464' } }), /METRICS_LISTEN must be host:port/);
      assert.throws(() => loadConfig({ dataDir, env: { METRICS_LISTEN: '127.0.0.1:99999' } }), /METRICS_LISTEN/);
      assert.deepEqual(loadConfig({ dataDir, env: { METRICS_LISTEN: '[::1]:9464' } }).metrics, { token: null, listen: { host: '::1', port: 9464 } });
      assert.deepEqual(loadConfig({ dataDir, env: {} }).metrics, { token: null, listen: null });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('serves /metrics alone, without a token, on a listener of its own', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'docucommit-metrics-listen-'));
    const [target] = databaseTargets();
    const opened = await target!.open();
    const context = await createAppContext({ ...testConfig(dataDir), metrics: { token: null, listen: { host: '127.0.0.1', port: 0 } } }, opened.db);
    const built = await buildApp(context);
    assert.ok(built.metrics);
    const listener = await listenForMetrics(built.metrics, { host: '127.0.0.1', port: 0 });
    try {
      const onServer = await built.app.inject({ url: '/metrics' });
      assert.equal(onServer.statusCode, 404, 'not on the public server when only a listener is configured');
      const scraped = await fetch(listener.url);
      assert.equal(scraped.status, 200);
      assert.ok(parse(await scraped.text()).some((f) => f.name === 'docucommit_http_requests_total'));
      for (const path of ['/', '/acme/handbook', '/metrics/../login']) {
        const other = await fetch(listener.url.replace('/metrics', path));
        assert.equal(other.status, 404, path);
      }
      const post = await fetch(listener.url, { method: 'POST' });
      assert.equal(post.status, 404);
    } finally {
      await listener.close();
      await built.app.close();
      await opened.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
