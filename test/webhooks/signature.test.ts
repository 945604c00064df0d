import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newWebhookSecret, signatureHeader, verifyWebhookSignature } from '../../src/webhooks/signature.ts';

const body = '{"id":"e1","type":"document.published"}';
const secret = newWebhookSecret();
const t = 1_800_000_000;

test('a signature made for a body verifies with the same secret near its timestamp', () => {
  assert.match(secret, /^whsec_[A-Za-z0-9_-]{43}$/);
  const header = signatureHeader(secret, t, body);
  assert.match(header, /^t=1800000000,v1=[0-9a-f]{64}$/);
  assert.equal(verifyWebhookSignature({ secret, header, body, nowSeconds: t + 299 }), true);
});

test('a tampered body, another secret, an old or future timestamp, or a changed timestamp fail', () => {
  const header = signatureHeader(secret, t, body);
  assert.equal(verifyWebhookSignature({ secret, header, body: body.replace('e1', 'e2'), nowSeconds: t }), false);
  assert.equal(verifyWebhookSignature({ secret: newWebhookSecret(), header, body, nowSeconds: t }), false);
  assert.equal(verifyWebhookSignature({ secret, header, body, nowSeconds: t + 301 }), false, 'replayed after five minutes');
  assert.equal(verifyWebhookSignature({ secret, header, body, nowSeconds: t - 301 }), false);
  assert.equal(verifyWebhookSignature({ secret, header: header.replace(`t=${t}`, `t=${t + 1}`), body, nowSeconds: t }), false, 'the timestamp is signed');
});

test('malformed headers fail without throwing', () => {
  for (const header of [undefined, '', 't=abc,v1=00', `t=${t}`, `v1=${'0'.repeat(64)}`, `t=${t},v1=zz`, 'garbage', `t=${t},v1=${'0'.repeat(64)},x`]) {
    assert.equal(verifyWebhookSignature({ secret, header, body, nowSeconds: t }), false, String(header));
  }
});

test('any one of several v1 signatures may match (secret rotation)', () => {
  const header = `${signatureHeader(secret, t, body)},v1=${'a'.repeat(64)}`;
  assert.equal(verifyWebhookSignature({ secret, header, body, nowSeconds: t }), true);
});

test('the verifier documented in docs/webhooks.md accepts what the server signs and refuses a tampered body or an old timestamp', async () => {
  const { readFileSync, mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const doc = readFileSync(new URL('../../docs/webhooks.md', import.meta.url), 'utf8');
  const sample = /```js\n([\s\S]*?)\n\/\/ Express/.exec(doc)?.[1];
  assert.ok(sample, 'docs/webhooks.md has the verifier sample');
  const dir = mkdtempSync(join(tmpdir(), 'dc-verifier-'));
  try {
    const file = join(dir, 'verifier.mjs');
    writeFileSync(file, sample);
    const documented = (await import(file)) as { verifyWebhookSignature(secret: string, header: string, rawBody: Buffer, tolerance?: number): boolean };
    const raw = Buffer.from(body);
    const nowSeconds = Math.floor(Date.now() / 1000);
    assert.equal(documented.verifyWebhookSignature(secret, signatureHeader(secret, nowSeconds, raw), raw), true);
    assert.equal(documented.verifyWebhookSignature(secret, signatureHeader(secret, nowSeconds, raw), Buffer.from(body.replace('e1', 'e2'))), false, 'tampered body');
    assert.equal(documented.verifyWebhookSignature(secret, signatureHeader(secret, nowSeconds - 600, raw), raw), false, 'old timestamp');
    assert.equal(documented.verifyWebhookSignature(newWebhookSecret(), signatureHeader(secret, nowSeconds, raw), raw), false, 'another secret');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
