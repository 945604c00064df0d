/**
 * Reviews as the published branch's history records them, where a review is a published change of the document or
 * a commit with a `Reviewed-by:` trailer ("Mark reviewed — no changes", an empty commit whose subject reads
 * `Review <path>: no changes`). The evidence pack reads reviews from `document_reviews` (evidence/reviews.ts) and
 * falls back on these for documents whose reviews predate that record.
 */

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
