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

test('the canonical serialization is pinned: a known event has the hash every exported log was verified with', () => {
  // Computed by the serialization as first written (one JSON array literal); a change here breaks every stored chain.
  const event = {
    orgId: '33333333-3333-4333-8333-333333333333',
    seq: '42',
    occurredAt: '2026-12-06T09:00:00.000Z',
    actorType: 'user',
    actorId: 'u1',
    actorLabel: 'a@b.test',
    action: 'document.read',
    targetType: 'document',
    targetId: 'p:x.md',
    targetLabel: 'x.md',
    reason: null,
    outcome: 'success',
    requestId: 'r',
    ip: '127.0.0.1',
    details: { z: 1.5, classification: 'confidential', a: null },
    prevHash: 'ab'.repeat(32),
  };
  assert.equal(eventHash(event), '18fc81c32245c4e447e19fa6111a208f253799c36df13730f4b14385ce3ced56');
  const canonical = JSON.stringify(['docucommit-audit-v1', event.orgId, '42', event.occurredAt, 'user', 'u1', 'a@b.test', 'document.read', 'document', 'p:x.md', 'x.md', null, 'success', 'r', '127.0.0.1', [['a', null], ['classification', 'confidential'], ['z', 1.5]], event.prevHash]);
  assert.equal(createHash('sha256').update(canonical, 'utf8').digest('hex'), eventHash(event));
});
