import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProcessMessage } from '../../src/cluster/process-bus.ts';

const ORG = '0b8f4c3e-7d2a-4e57-9a0c-3f1e2d4c5b6a';
const COMMIT = 'a'.repeat(40);

test('each kind of message parses to exactly its fields', () => {
  assert.deepEqual(parseProcessMessage(JSON.stringify({ t: 'published', o: ORG, p: ORG, c: COMMIT })), { t: 'published', o: ORG, p: ORG, c: COMMIT });
  assert.deepEqual(parseProcessMessage(JSON.stringify({ t: 'published', o: ORG, p: ORG, c: null })), { t: 'published', o: ORG, p: ORG, c: null });
  assert.deepEqual(parseProcessMessage(JSON.stringify({ t: 'user', u: ORG, extra: 'dropped' })), { t: 'user', u: ORG });
  assert.deepEqual(parseProcessMessage(JSON.stringify({ t: 'org', o: ORG })), { t: 'org', o: ORG });
  assert.deepEqual(parseProcessMessage('{"t":"projects"}'), { t: 'projects' });
  assert.deepEqual(parseProcessMessage('{"t":"all"}'), { t: 'all' });
  assert.deepEqual(parseProcessMessage(JSON.stringify({ t: 'user', u: ORG, n: 'nonce_1' })), { t: 'user', u: ORG, n: 'nonce_1' });
  assert.deepEqual(parseProcessMessage(JSON.stringify({ t: 'all', n: 'nonce_2' })), { t: 'all', n: 'nonce_2' });
});

test('anything else is dropped: not JSON, unknown kinds, wrong or hostile fields', () => {
  for (const payload of [
    '',
    'not json',
    'null',
    '[]',
    '"all"',
    '{"t":"drop-everything"}',
    '{"__proto__":{"t":"all"}}',
    JSON.stringify({ t: 'user' }),
    JSON.stringify({ t: 'user', u: 42 }),
    JSON.stringify({ t: 'user', u: '../../etc/passwd' }),
    JSON.stringify({ t: 'user', u: 'x'.repeat(65) }),
    JSON.stringify({ t: 'org', o: "'; drop table users; --" }),
    JSON.stringify({ t: 'published', o: ORG, p: ORG, c: 'HEAD' }),
    JSON.stringify({ t: 'published', o: ORG, p: ORG, c: `${COMMIT}\n` }),
    JSON.stringify({ t: 'published', o: ORG, c: COMMIT }),
    JSON.stringify({ t: 'all', n: 42 }),
    JSON.stringify({ t: 'user', u: ORG, n: 'no spaces or slashes/' }),
    // a confirmation is the listener's own business, never a message to apply
    JSON.stringify({ t: 'ack', n: 'nonce', f: 'listener' }),
  ]) {
    assert.equal(parseProcessMessage(payload), null, payload);
  }
});
