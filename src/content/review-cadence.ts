import type { ReviewInterval } from './types.ts';

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * The date (`YYYY-MM-DD`, UTC) a document is next due for review: `review_by` when the front matter fixes one,
 * else the last review plus `review_every` (months and years keep the day of the month, clamped to the month's
 * last day: Jan 31 + 1 month is Feb 28 or 29). Null when neither says anything, or without a last review.
 */
export function nextReviewDate(input: { reviewBy?: string | null; reviewEvery?: ReviewInterval | null; lastReviewed?: string | null }): string | null {
  if (input.reviewBy) return input.reviewBy;
  if (!input.reviewEvery || !input.lastReviewed) return null;
  const match = ISO_DATE.exec(input.lastReviewed.slice(0, 10));
  if (!match) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]) - 1, Number(match[3])];
  const { count, unit } = input.reviewEvery;
  if (unit === 'day' || unit === 'week') {
    const days = unit === 'day' ? count : count * 7;
    return new Date(Date.UTC(year, month, day + days)).toISOString().slice(0, 10);
  }
  const months = unit === 'month' ? count : count * 12;
  const targetMonth = month + months;
  const lastDay = new Date(Date.UTC(year, targetMonth + 1, 0)).getUTCDate();
  return new Date(Date.UTC(year, targetMonth, Math.min(day, lastDay))).toISOString().slice(0, 10);
}

/** Is a review due on `today` (`YYYY-MM-DD`)? Due on the date itself, overdue after it. */
export function reviewState(next: string | null, today: string): 'none' | 'upcoming' | 'due' | 'overdue' {
  if (next === null) return 'none';
  if (today < next) return 'upcoming';
  return today === next ? 'due' : 'overdue';
}
