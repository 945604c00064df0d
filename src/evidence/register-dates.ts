/**
 * The policy register's dates, in one place so they can be reconciled with the review-cadence work (issue #14):
 * effective date, last review and next review of a document version, read from its front matter (`effective:`,
 * `review_by:`, `review_every:`) and from the published branch's history, where a review is a published change
 * of the document or a commit with a `Reviewed-by:` trailer ("Mark reviewed — no changes", an empty commit whose
 * subject reads `Review <path>: no changes`).
 */
import type { ReviewInterval } from '../content/types.ts';

/** One review of a document, from the published branch's history. */
export interface ReviewEvent {
  path: string;
  commit: string;
  at: Date;
  /** Who: the Reviewed-by trailer's person, else the commit's author ("Name <email>"). */
  by: string;
  kind: 'change' | 'marked';
}

const REVIEWED_BY = /^Reviewed-by:\s*(.+)$/gim;
const MARKED_SUBJECT = /^Review (.+): no changes$/;

/** The reviews one commit of the published branch records: each document it changed, or the one it marks reviewed. */
export function reviewsOfCommit(commit: { oid: string; at: Date; message: string; author: string }, changedDocuments: readonly string[]): ReviewEvent[] {
  const reviewers = [...commit.message.matchAll(REVIEWED_BY)].map((m) => m[1]!.trim());
  const by = reviewers[0] ?? commit.author;
  if (changedDocuments.length > 0) return changedDocuments.map((path) => ({ path, commit: commit.oid, at: commit.at, by, kind: 'change' as const }));
  if (reviewers.length === 0) return [];
  const marked = MARKED_SUBJECT.exec(commit.message.split('\n', 1)[0]!.trim());
  return marked ? [{ path: marked[1]!, commit: commit.oid, at: commit.at, by, kind: 'marked' }] : [];
}

/** `YYYY-MM-DD` of a time (UTC). */
export function isoDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** The effective date of a version: its `effective:` date, else the day it was published. */
export function effectiveDate(frontMatter: { effective?: string | null }, publishedAt: Date): string {
  return frontMatter.effective ?? isoDay(publishedAt);
}

/**
 * When the next review is due: the earlier of `review_by` and the last review (or, without one, the version's
 * publication) plus `review_every`; null when the document sets neither.
 */
export function nextReviewDate(frontMatter: { review_by?: string | null; review_every?: ReviewInterval | null }, lastReview: Date | null): string | null {
  const candidates: string[] = [];
  if (frontMatter.review_by) candidates.push(frontMatter.review_by);
  if (frontMatter.review_every && lastReview) candidates.push(isoDay(addInterval(lastReview, frontMatter.review_every)));
  return candidates.length === 0 ? null : candidates.sort()[0]!;
}

function addInterval(at: Date, interval: ReviewInterval): Date {
  const date = new Date(at.getTime());
  if (interval.unit === 'day') date.setUTCDate(date.getUTCDate() + interval.count);
  else if (interval.unit === 'week') date.setUTCDate(date.getUTCDate() + 7 * interval.count);
  else if (interval.unit === 'month') date.setUTCMonth(date.getUTCMonth() + interval.count);
  else date.setUTCFullYear(date.getUTCFullYear() + interval.count);
  return date;
}
