/**
 * Protected main (issue #13): a change of the published branch that touches a document needing review is refused
 * on every path that moves main by itself — an editor save, create, move or delete, a restore (BranchMoves.commit
 * checks them all, before anything is written), and a push (git/push-checks.ts). The rule is change-rules.ts
 * `reviewReason` over approval-rules.ts, the same as the one that decides what a change request needs; the merge
 * of an approved change request is the way such a change reaches main. Imports are not changes and pass.
 * No setting lifts it for restricted or confidential documents (the floors of approval-rules.ts).
 */
import { ConflictError } from '../errors.ts';
import { reviewReason, type DocumentChange } from './change-rules.ts';
import type { ReviewSettings } from './approval-rules.ts';

/** The documents of a refused change and why each needs review. */
export interface ReviewNeeded {
  path: string;
  reason: string;
}

/**
 * The change needs review: nothing was written (409: the change conflicts with the branch's protection, not with
 * the person's access). The editor offers "Propose change" with the author's text.
 */
export class ReviewRequiredError extends ConflictError {
  constructor(readonly documents: readonly ReviewNeeded[]) {
    super(
      `Nothing was published: ${documents.map((d) => `${d.path} ${d.reason}`).join('; ')}. Propose the change instead: it opens a change request for review.`,
    );
  }
}

/** The documents of `changes` that need review under `settings` (empty: the change may publish directly). */
export function reviewNeeded(changes: readonly DocumentChange[], settings: ReviewSettings): ReviewNeeded[] {
  return changes.flatMap((change) => {
    const reason = reviewReason(change, settings);
    return reason ? [{ path: change.path, reason }] : [];
  });
}

/** Throws ReviewRequiredError when any of `changes` needs review. */
export function assertNoReviewNeeded(changes: readonly DocumentChange[], settings: ReviewSettings): void {
  const needed = reviewNeeded(changes, settings);
  if (needed.length > 0) throw new ReviewRequiredError(needed);
}

/** What a refused push prints after its problems: how to propose the change instead (`remote:` lines). */
export const PROPOSE_BY_PUSH_LINES: readonly string[] = [
  'main is protected: these documents need review before they are published.',
  'Push your commits to a draft branch and open a change request in one step:',
  '  git push origin HEAD:refs/heads/draft/my-change -o change.open',
  'Reviewers approve it on its page; merging it publishes the change.',
];
