import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createAppContext, type AppContext } from '../../src/app-context.ts';
import { loadConfig } from '../../src/config/config.ts';
import { openDatabase } from '../../src/db/connection.ts';
import { InvalidInputError } from '../../src/errors.ts';
import { buildApp, type BuiltApp } from '../../src/web/app.ts';
import { testConfig } from '../helpers/test-app.ts';

const DAY = 24 * 60 * 60 * 1000;

/** The fields of a security.txt body, each name with its values. */
function fields(body: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of body.trimEnd().split('\n')) {
    const match = /^([A-Za-z-]+): (\S+)$/.exec(line);
    assert.ok(match, `not a field line: ${JSON.stringify(line)}`);
    map.set(match[1]!, [...(map.get(match[1]!) ?? []), match[2]!]);
  }
  return map;
}

describe('/.well-known/security.txt', () => {
  const dirs: string[] = [];
  const contexts: AppContext[] = [];
  const apps: BuiltApp[] = [];
  async function appWith(overrides: { securityContact: string | null; publicUrl: string | null }): Promise<BuiltApp> {
    const dir = mkdtempSync(join(tmpdir(), 'dc-securitytxt-'));
    dirs.push(dir);
    const context = await createAppContext({ ...testConfig(dir), ...overrides }, await openDatabase({ kind: 'pglite', dataDir: null }));
    contexts.push(context);
    const built = await buildApp(context);
    apps.push(built);
    return built;
  }
  let configured: BuiltApp;
  let unset: BuiltApp;
  before(async () => {
    configured = await appWith({ securityContact: 'mailto:security@acme.test, https://acme.test/report', publicUrl: 'https://docs.acme.test' });
    unset = await appWith({ securityContact: null, publicUrl: 'https://docs.acme.test' });
  });
  after(async () => {
    for (const built of apps) await built.app.close();
    for (const context of contexts) await context.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('is plain text with the configured Contact lines and an Expires in the future, under a year ahead (RFC 9116)', async () => {
    const response = await configured.app.inject({ method: 'GET', url: '/.well-known/security.txt' });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain; charset=utf-8$/);
    const body = fields(response.body);
    assert.deepEqual(body.get('Contact'), ['mailto:security@acme.test', 'https://acme.test/report']);
    const [expires] = body.get('Expires') ?? [];
    assert.match(expires ?? '', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    const ahead = Date.parse(expires!) - Date.now();
    assert.ok(ahead > 30 * DAY && ahead < 365 * DAY, expires);
    assert.deepEqual(body.get('Canonical'), ['https://docs.acme.test/.well-known/security.txt']);
  });

  test('without configuration, names security@ the public host', async () => {
    const response = await unset.app.inject({ method: 'GET', url: '/.well-known/security.txt' });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(fields(response.body).get('Contact'), ['mailto:security@docs.acme.test']);
  });

  test('is declared public in the route inventory', () => {
    const route = configured.routes.find((r) => r.url === '/.well-known/security.txt' && r.method === 'GET');
    assert.equal(route?.access, 'public');
  });

  test('a contact that is not a mailto:, https: or tel: URI, or would add lines to the file, is refused at start', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dc-securitytxt-'));
    dirs.push(dir);
    for (const bad of ['security@acme.test', 'http://acme.test/report', 'mailto:a@acme.test\nContact: https://evil.test', 'https://acme.test/a b']) {
      assert.throws(() => loadConfig({ dataDir: dir, env: { DOCUCOMMIT_SECURITY_CONTACT: bad } }), InvalidInputError, JSON.stringify(bad));
    }
    assert.equal(loadConfig({ dataDir: dir, env: { DOCUCOMMIT_SECURITY_CONTACT: 'tel:+1-201-555-0123' } }).securityContact, 'tel:+1-201-555-0123');
  });
});
