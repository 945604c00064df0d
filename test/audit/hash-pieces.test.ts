import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { normalizeEvent, type AuditEventInput } from '../../src/audit/audit-log.ts';
import { canonicalFromPieces, eventHash, eventHashPieces } from '../../src/audit/hash.ts';

const events: AuditEventInput[] = [
  { orgId: '33333333-3333-4333-8333-333333333333', actor: { type: 'user', id: 'u1', label: 'a@b.test' }, action: 'document.read', target: { type: 'document', id: 'p:x.md', label: 'x.md' }, outcome: 'success', requestId: 'r', ip: '127.0.0.1', details: { classification: 'confidential' } },
  { orgId: null, actor: { type: 'system', id: null }, action: 'auth.sign_in', outcome: 'failure' },
  { orgId: null, actor: { type: 'anonymous', id: null, label: `"quotes" \\ back'slash ünïcødé 🔒 \u2028` }, action: 'access.denied', reason: 'a,b],[c', outcome: 'denied', details: { z: 1.5, a: null, m: true, s: '[",]' } },
];

test('the pieces and a chain position make exactly the text eventHash hashes', () => {
  for (const input of events) {
    const event = normalizeEvent(input);
    const pieces = eventHashPieces(event);
    for (const [seq, occurredAt, prevHash] of [
      ['1', '2026-12-06T09:00:00.000Z', '0'.repeat(64)],
      ['12345678901234', '1999-01-31T23:59:59.999Z', 'ab'.repeat(32)],
    ] as const) {
      const fromPieces = createHash('sha256').update(canonicalFromPieces(pieces, seq, occurredAt, prevHash), 'utf8').digest('hex');
      assert.equal(fromPieces, eventHash({ ...event, seq, occurredAt, prevHash }));
    }
  }
});
