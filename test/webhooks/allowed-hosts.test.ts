import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig, parseAllowedHosts } from '../../src/config/config.ts';
import { InvalidInputError } from '../../src/errors.ts';
import { isAllowlisted } from '../../src/webhooks/http-delivery.ts';

test('WEBHOOK_ALLOWED_HOSTS: hosts and host:port, IPv6 in brackets, lower-cased; anything else refuses to start', () => {
  assert.deepEqual(parseAllowedHosts(' Hooks.Corp.Internal , 10.0.4.7:8443,[::1]:9000 '), ['hooks.corp.internal', '10.0.4.7:8443', '::1:9000']);
  assert.deepEqual(parseAllowedHosts(''), []);
  for (const bad of ['http://x', 'a b', 'x:99999999', 'x/y']) assert.throws(() => parseAllowedHosts(bad), InvalidInputError, bad);
  const dataDir = mkdtempSync(join(tmpdir(), 'dc-allowed-hosts-'));
  try {
    assert.deepEqual(loadConfig({ dataDir, env: { DOCUCOMMIT_SECRET: 'a'.repeat(64), WEBHOOK_ALLOWED_HOSTS: '127.0.0.1:4000' } }).webhookAllowedHosts, ['127.0.0.1:4000']);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('an allowlisted host matches by name or by name and port only', () => {
  const allowed = new Set(['hooks.internal', '127.0.0.1:4000']);
  assert.equal(isAllowlisted(allowed, 'hooks.internal', '443'), true);
  assert.equal(isAllowlisted(allowed, '127.0.0.1', '4000'), true);
  assert.equal(isAllowlisted(allowed, '127.0.0.1', '5432'), false, 'another port of an allowlisted address');
  assert.equal(isAllowlisted(new Set(), 'hooks.internal', '443'), false);
});
