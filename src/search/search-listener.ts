/**
 * Keeps the search index following publishes: on each move of a project's published branch, index the changed
 * paths (every path when the event's list was truncated or does not start at the indexed commit). Idempotent, as
 * a listener must be (delivery is at least once): it compares the indexed commit and blobs with the published
 * snapshot, so a repeated or late event writes nothing.
 */
import type { BranchMoved, BranchMoveListener } from '../changes/branch-moved.ts';
import type { Db } from '../db/connection.ts';
import { findProjectById } from '../projects/projects.ts';
import { PUBLISHED_BRANCH } from '../content/published-branch.ts';
import type { SearchIndex } from './search-index.ts';

export class SearchIndexListener implements BranchMoveListener {
  readonly name = 'search-index';

  constructor(
    private readonly db: Db,
    private readonly index: SearchIndex,
  ) {}

  async handle(event: BranchMoved): Promise<void> {
    if (event.ref !== `refs/heads/${PUBLISHED_BRANCH}`) return;
    const project = await findProjectById(this.db, event.orgId, event.projectId);
    if (!project) {
      // deleted since: its rows went with it
      this.index.forget(event.projectId);
      return;
    }
    await this.index.ensureIndexed(project, {
      fromCommit: event.oldCommit,
      toCommit: event.newCommit,
      paths: event.changedPaths,
      truncated: event.pathsTruncated,
    });
  }
}
