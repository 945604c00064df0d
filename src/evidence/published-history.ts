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

/**
 * The history of the published branch as readers saw it: its first-parent commits (each is a state the branch
 * was in; a merged change request is its merge commit), each compared with its first parent. The commit time is
 * the committer's (when the commit was made on the branch).
 */
export async function publishedHistory(repository: Repository): Promise<PublishedHistory> {
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
  const timelines = new Map<string, DocumentTimeline>();
  const reviews: ReviewEvent[] = [];
  let parent: string | null = null;
  for (const { oid, info } of commits) {
    const at = info.committer.time;
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

/** The version in effect at `at` (the last one published before it), or null (none yet, or removed). */
export function versionAt(timeline: DocumentTimeline, at: Date): PublishedVersion | null {
  let found: DocumentTimeline[number] | null = null;
  for (const entry of timeline) {
    if (entry.at.getTime() >= at.getTime()) break;
    found = entry;
  }
  return found && found.blob !== null ? found : null;
}

/** Every version in effect at some moment of [from, to): the one in effect at `from` and those published during it. */
export function versionsDuring(timeline: DocumentTimeline, from: Date, to: Date): PublishedVersion[] {
  const out: PublishedVersion[] = [];
  const first = versionAt(timeline, from);
  if (first) out.push(first);
  for (const entry of timeline) {
    if (entry.at.getTime() < from.getTime() || entry.at.getTime() >= to.getTime() || entry.blob === null) continue;
    if (out.at(-1)?.commit === entry.commit) continue;
    out.push(entry);
  }
  return out;
}
