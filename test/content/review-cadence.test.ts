import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatContentError } from '../../src/content/errors.ts';
import { parseFrontMatter } from '../../src/content/front-matter.ts';
import { nextReviewDate, reviewState } from '../../src/content/review-cadence.ts';

const FILE = 'policies/x.md';
const everyOf = (value: string) => parseFrontMatter(FILE, `---\ntitle: X\nreview_every: ${value}\n---\n`).data?.review_every;
const errorsOf = (source: string) => parseFrontMatter(FILE, source).errors.map(formatContentError);

describe('front matter review_every', () => {
  it('reads a number and a unit, singular or plural, any case', () => {
    assert.deepEqual(everyOf('12 months'), { count: 12, unit: 'month' });
    assert.deepEqual(everyOf('1 year'), { count: 1, unit: 'year' });
    assert.deepEqual(everyOf('6 Weeks'), { count: 6, unit: 'week' });
    assert.deepEqual(everyOf('90 days'), { count: 90, unit: 'day' });
    assert.equal(parseFrontMatter(FILE, '---\ntitle: X\n---\n').data?.review_every, undefined);
  });

  it('rejects anything else, naming file and line', () => {
    const message = 'review_every must be a number and a unit, like 12 months, 1 year, 6 weeks or 90 days';
    for (const value of ['yearly', '12', '0 months', 'twelve months', '11 years', '-1 month', '12 fortnights']) {
      assert.deepEqual(errorsOf(`---\ntitle: X\nreview_every: ${value}\n---\n`), [`policies/x.md:3: ${message}`], value);
    }
    assert.deepEqual(errorsOf('---\nreview_every: [12, months]\n---\n'), [`policies/x.md:2: ${message}`]);
  });
});

describe('nextReviewDate and reviewState', () => {
  it('a fixed review_by wins over a cadence', () => {
    assert.equal(nextReviewDate({ reviewBy: '2026-08-01', reviewEvery: { count: 1, unit: 'month' }, lastReviewed: '2026-01-01' }), '2026-08-01');
  });

  it('adds the cadence to the last review, clamping months to their last day', () => {
    assert.equal(nextReviewDate({ reviewEvery: { count: 12, unit: 'month' }, lastReviewed: '2026-03-15' }), '2027-03-15');
    assert.equal(nextReviewDate({ reviewEvery: { count: 1, unit: 'month' }, lastReviewed: '2026-01-31' }), '2026-02-28');
    assert.equal(nextReviewDate({ reviewEvery: { count: 1, unit: 'month' }, lastReviewed: '2028-01-31' }), '2028-02-29');
    assert.equal(nextReviewDate({ reviewEvery: { count: 1, unit: 'year' }, lastReviewed: '2028-02-29' }), '2029-02-28');
    assert.equal(nextReviewDate({ reviewEvery: { count: 2, unit: 'week' }, lastReviewed: '2026-12-25' }), '2027-01-08');
    assert.equal(nextReviewDate({ reviewEvery: { count: 90, unit: 'day' }, lastReviewed: '2026-12-06T10:00:00Z' }), '2027-03-06');
  });

  it('nothing to say without a cadence or a last review', () => {
    assert.equal(nextReviewDate({}), null);
    assert.equal(nextReviewDate({ reviewEvery: { count: 1, unit: 'year' } }), null);
    assert.equal(nextReviewDate({ reviewEvery: { count: 1, unit: 'year' }, lastReviewed: 'yesterday' }), null);
  });

  it('is upcoming before the date, due on it, overdue after it', () => {
    assert.equal(reviewState(null, '2026-12-06'), 'none');
    assert.equal(reviewState('2026-12-07', '2026-12-06'), 'upcoming');
    assert.equal(reviewState('2026-12-06', '2026-12-06'), 'due');
    assert.equal(reviewState('2026-12-05', '2026-12-06'), 'overdue');
  });
});
