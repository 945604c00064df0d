/**
 * Restoring an old version (the use case is changes/commands/restore-document.ts, taking (dependencies, actor,
 * input)); this class holds its dependencies for the routes.
 */
import type { UserActor } from '../access/actor.ts';
import type { Grants } from '../access/policy.ts';
import type { ProjectRecord } from '../projects/projects.ts';
import type { RepositoryRegistry } from '../projects/repositories.ts';
import type { BranchMoves } from './branch-moves.ts';
import { restoreDocument, type RestoreDeps, type RestoreResult } from './commands/restore-document.ts';
import type { ProjectHistory } from './history.ts';

export { restoreDate, restoreMessage, type RestoreResult } from './commands/restore-document.ts';

/** Makes old versions current again. */
export class VersionRestorer {
  readonly #deps: RestoreDeps;

  constructor(repositories: RepositoryRegistry, branchMoves: BranchMoves, history: ProjectHistory) {
    this.#deps = { repositories, branchMoves, history };
  }

  /** commands/restore-document.ts: `commit` as the address names it (7 to 40 hex digits of the published history). */
  restore(reader: { actor: UserActor; project: ProjectRecord; grants: Grants }, commit: string, path: string, reason: string): Promise<RestoreResult> {
    return restoreDocument(this.#deps, reader.actor, { project: reader.project, grants: reader.grants, commit, path, reason });
  }
}
