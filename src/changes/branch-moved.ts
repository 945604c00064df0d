/**
 * The one event of the change path: "a branch of a project moved". Every ref move DocuCommit makes or learns
 * about (a browser save, create, move, delete, restore, an accepted push, a merge, a move replayed by crash
 * recovery, a move made with git directly while the server was down) is recorded durably in the same database
 * transaction as its audit events, then handed to every registered listener after the publish (see
 * branch-moves.ts). Listeners (search indexing, webhooks, acknowledgment tasks, notifications) must be
 * idempotent: delivery is at least once, retried from the durable record after a failure or a crash.
 */

/** What moved the branch. */
export type BranchMoveKind =
  | 'save'
  | 'create'
  | 'move'
  | 'delete'
  | 'restore'
  | 'push'
  | 'merge'
  /** A folder imported as the project's content, or a new project's starter content. */
  | 'import'
  /** A move made outside DocuCommit (git directly on the server) found by the start-up reconciler. */
  | 'external'
  /** An empty commit recording "Mark reviewed — no changes" of a document (evidence/reviews.ts). */
  | 'review';

/** Who moved it, as the audit log names them (never a secret). */
export interface BranchMoveActor {
  type: 'user' | 'token' | 'system';
  id: string;
  label: string;
}

export interface BranchMoved {
  /** The durable record's id (increasing within a process's view; use for idempotency). */
  id: string;
  orgId: string;
  projectId: string;
  /** Full ref name, e.g. `refs/heads/main`. */
  ref: string;
  /** null when the ref was created. */
  oldCommit: string | null;
  /** null when the ref was deleted. */
  newCommit: string | null;
  kind: BranchMoveKind;
  actor: BranchMoveActor;
  /** Repository paths added, changed or deleted between old and new (at most MAX_CHANGED_PATHS). */
  changedPaths: readonly string[];
  /** True when more paths changed than `changedPaths` lists: a listener should treat the whole tree as changed. */
  pathsTruncated: boolean;
  /** True when the move was recorded by crash recovery rather than by the request that made it. */
  recovered: boolean;
  /** When the move was recorded (ISO 8601). */
  at: string;
}

/** Most changed paths an event lists; beyond it `pathsTruncated` is set. */
export const MAX_CHANGED_PATHS = 1000;

/** Work that follows a branch move. Register at start-up (AppContext.branchMoves.listen) before serving. */
export interface BranchMoveListener {
  /** Stable and unique: deliveries are recorded per listener name, and retried under it after a restart. */
  readonly name: string;
  /** Handles one event. Throwing logs the error and schedules a retry; it never undoes or delays the publish. */
  handle(event: BranchMoved): Promise<void>;
}
