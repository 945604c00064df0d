import assert from 'node:assert/strict';
import { test } from 'node:test';
import { utcDay } from '../../src/evidence/utc-day.ts';

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);

test('utcDay is the ISO date of the time, across midnights, back and forth, and before 1970', () => {
  const midnight = Date.parse('2026-12-06T00:00:00Z');
  const times = [
    midnight,
    midnight - 1,
    midnight + 1,
    midnight + 86_399_999,
    midnight + 86_400_000,
    midnight - 86_400_000,
    midnight + 12 * 3_600_000,
    midnight - 1,
    Date.parse('2024-02-29T23:59:59.999Z'),
    Date.parse('2024-03-01T00:00:00Z'),
    Date.parse('1969-12-31T23:59:59.999Z'),
    Date.parse('1969-12-31T00:00:00Z'),
    Date.parse('1970-01-01T00:00:00Z'),
    -1,
    0,
  ];
  for (const ms of times) {
    assert.equal(utcDay(ms), iso(ms), `at ${ms}`);
    assert.equal(utcDay(ms), iso(ms), `again at ${ms}`);
  }
});

test('utcDay refuses what toISOString refuses', () => {
  assert.throws(() => utcDay(Number.NaN), RangeError);
  assert.equal(utcDay(Date.parse('2026-01-01T05:00:00Z')), '2026-01-01');
});
