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
