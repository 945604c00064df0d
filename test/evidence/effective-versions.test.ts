import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isIsoDay } from '../../src/evidence/effective-versions.ts';
import { compareUrl, documentUrl, pagesUrl, sectionUrl, tagUrl } from '../../src/web/urls.ts';

test('an as-of day is a real calendar day written YYYY-MM-DD', () => {
  for (const day of ['2026-01-31', '2024-02-29', '1999-12-31']) assert.equal(isIsoDay(day), true, day);
  for (const day of ['2026-02-29', '2026-02-30', '2026-13-01', '2026-1-1', '20260101', 'today', '2026-01-01T00:00:00Z', '../2026-01-01']) {
    assert.equal(isIsoDay(day), false, day);
  }
});

test('pages of a day live under /-/at/{day}/, and only reading pages do', () => {
  const today = { orgSlug: 'acme', slug: 'handbook' };
  const then = { ...today, at: '2026-03-15' };
  assert.equal(pagesUrl(today), '/acme/handbook/');
  assert.equal(pagesUrl(then), '/acme/handbook/-/at/2026-03-15/');
  assert.equal(documentUrl(then, 'policies/travel.md'), '/acme/handbook/-/at/2026-03-15/policies/travel');
  assert.equal(documentUrl(then, 'policies/index.md'), '/acme/handbook/-/at/2026-03-15/policies/');
  assert.equal(sectionUrl(then, ''), '/acme/handbook/-/at/2026-03-15/');
  assert.equal(tagUrl(then, 'hr'), '/acme/handbook/-/at/2026-03-15/-/tags/hr');
  assert.equal(documentUrl(today, 'policies/travel.md'), '/acme/handbook/policies/travel');
  // the redline is one view, not a day's page
  assert.equal(compareUrl(then, 'a'.repeat(40), 'b'.repeat(40), 'policies/a b.md'), `/acme/handbook/-/compare/${'a'.repeat(40)}..${'b'.repeat(40)}/policies/a%20b.md`);
});
