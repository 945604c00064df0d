import { isDocumentPath, isRegularFileMode } from '../content/document-path.ts';
import { PUBLISHED_BRANCH } from '../content/published-branch.ts';
import type { Repository } from '../git/repository.ts';
import { reviewsOfCommit, type ReviewEvent } from './register-dates.ts';

/** Commits walked back along the published branch at most (older history counts as unknown). */
export const MAX_HISTORY_COMMITS = 50_000;

/** One version of a document as it reached the published branch. */
export interface PublishedVersion {
  path: string;
  blob: string;
  /** The first-parent commit of the published branch that published it. */
  commit: string;
  /** When it was published (see publishedHistory). */
  at: Date;
  /** That commit's message (trailers: Change-Request, Approved-by) and author ("Name <email>"). */
  message: string;
  author: string;
}

/** A document's life on the published branch: its versions in order, with removals (blob null). */
export type DocumentTimeline = (PublishedVersion | { path: string; blob: null; commit: string; at: Date })[];

export interface PublishedHistory {
  /** Per document path, oldest first. */
  timelines: Map<string, DocumentTimeline>;
  reviews: ReviewEvent[];
  /** False when the walk stopped at MAX_HISTORY_COMMITS: versions older than that are not known. */
  complete: boolean;
}

/** One recorded move of the published branch (`branch_moves`): the commit readers were served from then on. */
export interface Publication {
  commit: string;
  at: Date;
}

/**
 * The history of the published branch as readers saw it: its first-parent commits (each is a state the branch
 * was in; a merged change request is its merge commit), each compared with its first parent.
 *
 * Each commit is timed by its publication: the first recorded move of the branch to it or to a later commit of
 * this history (a push of several commits publishes them all at once; readers were never served the ones between).
 * A commit no recorded move reached yet was not published and is left out. Without any record (`publications`
 * empty: history made outside DocuCommit), the committer's time stands in.
 */
export async function publishedHistory(repository: Repository, publications: readonly Publication[] = []): Promise<PublishedHistory> {
  const head = await repository.headOf(PUBLISHED_BRANCH);
  const commits: { oid: string; info: Awaited<ReturnType<Repository['readCommit']>> }[] = [];
  let complete = true;
  for (let oid: string | undefined = head ?? undefined; oid !== undefined; ) {
    if (commits.length >= MAX_HISTORY_COMMITS) {
      complete = false;
      break;
    }
    const info = await repository.readCommit(oid);
    commits.push({ oid, info });
    oid = info.parents[0];
  }
  commits.reverse();
  const publishedAt = publicationTimes(
    commits.map((c) => c.oid),
    publications,
  );
  const timelines = new Map<string, DocumentTimeline>();
  const reviews: ReviewEvent[] = [];
  let parent: string | null = null;
  for (const [index, { oid, info }] of commits.entries()) {
    const at = publications.length === 0 ? info.committer.time : publishedAt[index];
    if (at === null || at === undefined) break; // not published yet (nor anything after it)
    const author = `${info.author.name} <${info.author.email}>`;
    const changed: string[] = [];
    for (const change of await repository.diffTrees(parent, oid)) {
      if (!isDocumentPath(change.path)) continue;
      const present = change.status !== 'D' && isRegularFileMode(change.newMode);
      const timeline = timelines.get(change.path) ?? [];
      timelines.set(change.path, timeline);
      timeline.push(present ? { path: change.path, blob: change.newOid, commit: oid, at, message: info.message, author } : { path: change.path, blob: null, commit: oid, at });
      changed.push(change.path);
    }
    reviews.push(...reviewsOfCommit({ oid, at, message: info.message, author }, changed));
    parent = oid;
  }
  return { timelines, reviews, complete };
}

/**
 * When each commit of a first-parent history (oldest first) was published: the earliest recorded move to it or to
 * a later commit of the history; null for commits no move reached. Moves to commits outside the history (a branch
 * rewritten since) count for nothing.
 */
export function publicationTimes(commits: readonly string[], publications: readonly Publication[]): (Date | null)[] {
  const index = new Map(commits.map((oid, i) => [oid, i]));
  const earliest: (number | null)[] = commits.map(() => null);
  for (const publication of publications) {
    const i = index.get(publication.commit);
    if (i === undefined) continue;
    const at = publication.at.getTime();
    if (earliest[i] === null || at < earliest[i]!) earliest[i] = at;
  }
  const result: (Date | null)[] = commits.map(() => null);
  let min: number | null = null;
  for (let i = commits.length - 1; i >= 0; i--) {
    if (earliest[i] !== null && (min === null || earliest[i]! < min)) min = earliest[i]!;
    result[i] = min === null ? null : new Date(min);
  }
  return result;
}

/** The `effective:` date (`YYYY-MM-DD`) a version's front matter gives, or null. */
export type EffectiveOf = (version: PublishedVersion) => string | null;

const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/**
 * The version in effect at `at` (ms): of the versions published by then, the newest whose effective date is that
 * day or earlier, or has none (the rule readers are served by, evidence/effective-versions.ts); null when none is,
 * or the document had been removed.
 */
export function versionInEffect(timeline: DocumentTimeline, at: number, effectiveOf: EffectiveOf): PublishedVersion | null {
  const day = isoDay(at);
  let last = -1;
  while (last + 1 < timeline.length && timeline[last + 1]!.at.getTime() <= at) last++;
  for (let i = last; i >= 0; i--) {
    const entry = timeline[i]!;
    if (entry.blob === null) return null;
    const effective = effectiveOf(entry);
    if (effective === null || effective <= day) return entry;
  }
  return null;
}

/**
 * Every version in effect at some moment of [from, end): the one in effect at `from`, then each one that took
 * effect during it — at its publication, or at the start (00:00 UTC) of its effective date when that came later.
 * A version published with a date after `end` is not among them; one replaced before it took effect neither.
 */
export function versionsInEffectDuring(timeline: DocumentTimeline, from: Date, end: Date, effectiveOf: EffectiveOf): PublishedVersion[] {
  const start = from.getTime();
  const stop = end.getTime();
  const moments = new Set<number>([start]);
  for (const entry of timeline) {
    const at = entry.at.getTime();
    if (at > start && at < stop) moments.add(at);
    const effective = entry.blob === null ? null : effectiveOf(entry);
    if (effective !== null) {
      const midnight = Date.parse(`${effective}T00:00:00.000Z`);
      if (midnight > start && midnight < stop) moments.add(midnight);
    }
  }
  const out: PublishedVersion[] = [];
  const seen = new Set<PublishedVersion>();
  for (const moment of [...moments].sort((a, b) => a - b)) {
    const version = versionInEffect(timeline, moment, effectiveOf);
    if (version && !seen.has(version)) {
      seen.add(version);
      out.push(version);
    }
  }
  return out;
}
