import assert from 'node:assert/strict';
import { test } from 'node:test';
import { publicationTimes, versionInEffect, versionsInEffectDuring, type DocumentTimeline, type PublishedVersion } from '../../src/evidence/published-history.ts';

const at = (iso: string) => new Date(iso);
const version = (commit: string, when: string): PublishedVersion => ({ path: 'p.md', blob: `blob-${commit}`, commit, at: at(when), message: '', author: 'A <a@x>' });

test('a commit is published by the first recorded move to it or to a later commit; one no move reached is not', () => {
  const times = publicationTimes(
    ['c1', 'c2', 'c3', 'c4', 'c5'],
    [
      { commit: 'c1', at: at('2026-01-01T10:00:00Z') },
      // a push of c2..c3 at once: c2 was never served on its own
      { commit: 'c3', at: at('2026-02-01T10:00:00Z') },
      { commit: 'elsewhere', at: at('2026-02-15T10:00:00Z') },
      { commit: 'c4', at: at('2026-03-01T10:00:00Z') },
    ],
  );
  assert.deepEqual(
    times.map((t) => t?.toISOString() ?? null),
    ['2026-01-01T10:00:00.000Z', '2026-02-01T10:00:00.000Z', '2026-02-01T10:00:00.000Z', '2026-03-01T10:00:00.000Z', null],
  );
});

test('in effect: the newest published version whose effective date has come; one replaced before its date never is', () => {
  const v1 = version('v1', '2026-01-10T09:00:00Z');
  const v2 = version('v2', '2026-02-01T09:00:00Z'); // effective 2026-03-01
  const v3 = version('v3', '2026-02-10T09:00:00Z'); // effective 2026-02-20: replaces v2 before v2 takes effect
  const v4 = version('v4', '2026-04-01T09:00:00Z'); // effective 2026-06-01: after the period
  const timeline: DocumentTimeline = [v1, v2, v3, v4];
  const effective = new Map<PublishedVersion, string | null>([
    [v1, null],
    [v2, '2026-03-01'],
    [v3, '2026-02-20'],
    [v4, '2026-06-01'],
  ]);
  const effectiveOf = (v: PublishedVersion) => effective.get(v) ?? null;
  assert.equal(versionInEffect(timeline, Date.parse('2026-01-09T00:00:00Z'), effectiveOf), null, 'before its first version');
  assert.equal(versionInEffect(timeline, Date.parse('2026-02-19T23:59:59Z'), effectiveOf), v1, 'v2 and v3 are upcoming');
  assert.equal(versionInEffect(timeline, Date.parse('2026-02-20T00:00:00Z'), effectiveOf), v3, 'on its date, at midnight UTC');
  assert.equal(versionInEffect(timeline, Date.parse('2026-05-01T00:00:00Z'), effectiveOf), v3, 'v4 published but not in effect');
  const during = versionsInEffectDuring(timeline, at('2026-01-15T00:00:00Z'), at('2026-05-01T00:00:00Z'), effectiveOf);
  assert.deepEqual(
    during.map((v) => v.commit),
    ['v1', 'v3'],
    'v2 never took effect (replaced first), v4 takes effect after the period',
  );
  assert.deepEqual(
    versionsInEffectDuring(timeline, at('2026-01-01T00:00:00Z'), at('2026-12-31T00:00:00Z'), effectiveOf).map((v) => v.commit),
    ['v1', 'v3', 'v4'],
  );
});

test('a removal ends the document; a version added back is in effect again', () => {
  const v1 = version('v1', '2026-01-10T09:00:00Z');
  const removal = { path: 'p.md', blob: null, commit: 'r', at: at('2026-02-01T00:00:00Z') };
  const v2 = version('v2', '2026-03-01T00:00:00Z');
  const timeline: DocumentTimeline = [v1, removal, v2];
  assert.equal(versionInEffect(timeline, Date.parse('2026-02-15T00:00:00Z'), () => null), null);
  assert.deepEqual(
    versionsInEffectDuring(timeline, at('2026-01-01T00:00:00Z'), at('2026-04-01T00:00:00Z'), () => null).map((v) => v.commit),
    ['v1', 'v2'],
  );
});
