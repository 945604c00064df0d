/**
 * Restoring an old version (the use cases are in changes/commands/restore-document.ts, taking (dependencies,
 * actor, input)): restore it, propose the restore as a change request when protected main refuses it, or tell
 * whether it needs review. This class holds their dependencies for the routes.
 */
import type { UserActor } from '../access/actor.ts';
import type { Grants } from '../access/policy.ts';
import type { LinkGate } from '../projects/link-gate.ts';
import type { ProjectRecord } from '../projects/projects.ts';
import type { RepositoryRegistry } from '../projects/repositories.ts';
import type { BranchMoves } from './branch-moves.ts';
import { proposeRestore, restoreDocument, restoreReview, type ProposedRestore, type RestoreDeps, type RestoreResult } from './commands/restore-document.ts';
import type { ProjectHistory } from './history.ts';

export { restoreDate, restoreMessage, type ProposedRestore, type RestoreResult } from './commands/restore-document.ts';

type Reader = { actor: UserActor; project: ProjectRecord; grants: Grants };

/** Makes old versions current again. */
export class VersionRestorer {
  readonly #deps: RestoreDeps;

  constructor(
    repositories: RepositoryRegistry,
    branchMoves: BranchMoves,
    history: ProjectHistory,
    /** The organization's "refuse changes that add broken links" (without it, links never refuse a restore). */
    linkGate?: Pick<LinkGate, 'assertEditAllowed'>,
  ) {
    this.#deps = { repositories, branchMoves, history, linkGate };
  }

  /** `commit` as the address names it (7 to 40 hex digits of the published history). */
  restore(reader: Reader, commit: string, path: string, reason: string): Promise<RestoreResult> {
    return restoreDocument(this.#deps, reader.actor, { project: reader.project, grants: reader.grants, commit, path, reason });
  }

  /** "Propose change": the restore committed to a new draft branch, for a change request. */
  propose(reader: Reader, commit: string, path: string, reason: string): Promise<ProposedRestore> {
    return proposeRestore(this.#deps, reader.actor, { project: reader.project, grants: reader.grants, commit, path, reason });
  }

  /** Why restoring this version directly is refused (protected main), or null. */
  reviewOf(reader: Reader, commit: string, path: string): Promise<string | null> {
    return restoreReview(this.#deps, reader.actor, { project: reader.project, grants: reader.grants, commit, path });
  }
}
