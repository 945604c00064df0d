/**
 * The branch-move protocol: the only code that moves a ref of a project's repository (browser save, create,
 * move, delete, restore; an accepted push; the merges to come) or records a move found by crash recovery.
 * Every move takes the same steps, in order:
 *
 * 1. journal — the audit events and the move are noted in the repository's ref journal, fsynced, just before the
 *    ref moves (git/ref-journal.ts), so a crash after the move cannot lose its record;
 * 2. compare-and-swap — the ref moves only from the commit the change was based on (update-ref under the
 *    repository's write lock), or receive-pack makes its own checked update;
 * 3. record — the audit events and the `branch_moves` row (with one pending delivery per listener) are written
 *    in one database transaction, and the journal note is removed (ref-audit.ts);
 * 4. publish — a move of the published branch is published (the rendered snapshot follows the branch);
 * 5. notify — listeners get the typed BranchMoved event (branch-moved.ts), off the request's path, at least once,
 *    retried from the durable record if they fail or the process dies (move-dispatch.ts).
 *
 * Crash recovery (recovery.ts) replays steps 3–5 for a journal note whose move happened, marking it recovered.
 *
 * Before step 1, a commit of the published branch by DocuCommit (a save, create, move, delete or restore; not an
 * import) is checked against protected main (protected-main.ts): a change touching a document that needs review
 * is refused with ReviewRequiredError and nothing is written. Merges are checked by the change request's verdict.
 */
import type { Transaction } from 'kysely';
import type { AuditEventInput } from '../audit/audit-log.ts';
import type { Database } from '../db/schema.ts';
import { withOrg, type Db } from '../db/connection.ts';
import { recordAuditEvent } from '../audit/audit-log.ts';
import { BranchMovedError } from '../git/errors.ts';
import { ZERO_OID } from '../git/refs.ts';
import { withWriteLock, type HeldWriteLock } from '../git/write-lock.ts';
import type { MergeInput, MergeOutcome } from '../git/merge.ts';
import type { CommitFilesInput, CommitFilesResult, Repository } from '../git/repository.ts';
import type { ProjectRecord } from '../projects/projects.ts';
import { PUBLISHED_BRANCH, PUBLISHED_REF } from '../content/published-branch.ts';
import { isDocumentPath } from '../content/document-path.ts';
import { readReviewSettings } from '../organizations/review-settings.ts';
import type { ReviewSettings } from './approval-rules.ts';
import type { DocumentChange } from './change-rules.ts';
import { assertNoReviewNeeded } from './protected-main.ts';
import type { Publisher } from '../projects/publisher.ts';
import type { RepositoryRegistry } from '../projects/repositories.ts';
import { MAX_CHANGED_PATHS, type BranchMoveActor, type BranchMoveKind, type BranchMoveListener } from './branch-moved.ts';
import { MoveDispatcher, type MoveLogger } from './move-dispatch.ts';
import { insertMoves } from './move-store.ts';
import {
  abandonRefChange,
  appliedUpdates,
  noteRefChange,
  notePush,
  recordRefChange,
  type PendingRefAudit,
  type PushedUpdate,
} from './ref-audit.ts';
import { timedOperation } from '../observability/operations.ts';

export interface BranchMovesDeps {
  db: Db;
  repositories: RepositoryRegistry;
  publisher: Publisher;
}

/** A change made by DocuCommit itself (not a push): what it is, who makes it, and its audit events. */
export interface CommitChange {
  kind: Exclude<BranchMoveKind, 'push' | 'external'>;
  actor: BranchMoveActor;
  /** The audit events of the new commit, written in the transaction that records the move. */
  events: (commit: string) => AuditEventInput | AuditEventInput[];
  /** Work the publish waits for (an import renders its documents while git writes the commit). */
  publishAfter?: Promise<unknown>;
  /** Rows of the caller that change with the move, written in the transaction of its audit events. */
  rows?: (trx: Transaction<Database>, commit: string) => Promise<void>;
}

/** The branch-move actor for an audit actor. */
export function moveActorOf(actor: AuditEventInput['actor']): BranchMoveActor {
  return { type: actor.type === 'anonymous' ? 'system' : actor.type, id: actor.id ?? '', label: actor.label ?? '' };
}

export class BranchMoves {
  readonly #dispatcher: MoveDispatcher;

  constructor(private readonly deps: BranchMovesDeps) {
    this.#dispatcher = new MoveDispatcher(deps.db);
  }

  /** Registers a listener (at start-up, before serving). Names are unique and stable. */
  listen(listener: BranchMoveListener): void {
    this.#dispatcher.listen(listener);
  }

  /** Where listener failures are logged (the server sets its own logger). */
  set logger(logger: MoveLogger) {
    this.#dispatcher.logger = logger;
  }

  /** Starts retrying failed or abandoned deliveries every `intervalMs` (the server does; commands need not). */
  startRetries(intervalMs?: number): void {
    this.#dispatcher.start(intervalMs);
  }

  /** Delivers whatever is due now (retries); resolves with how many deliveries were handled. */
  deliverDue(): Promise<number> {
    return this.#dispatcher.deliverDue();
  }

  /** Resolves when no listener delivery is in flight. */
  idle(): Promise<void> {
    return this.#dispatcher.idle();
  }

  /** Stops retries and waits for deliveries in flight. */
  stop(): Promise<void> {
    return this.#dispatcher.stop();
  }

  /**
   * One commit on a branch by DocuCommit (steps 1–5). No commit is made, and nothing recorded, when the tree
   * would not change. A stale base throws BranchMovedError and leaves nothing behind.
   */
  async commit(project: ProjectRecord, repository: Repository, input: CommitFilesInput, change: CommitChange): Promise<CommitFilesResult> {
    // steps 1–3 under the repository's write lock (re-entered by commitFiles): crash recovery in another process
    // never sees a journal note whose move is still being recorded
    const { result, ids } = await withWriteLock(repository.path, (held) => this.#commitAndRecord(project, repository, input, change, held));
    if (ids) {
      await change.publishAfter;
      await this.#publishAndNotify(project, [`refs/heads/${input.branch}`], ids);
    }
    return result;
  }

  async #commitAndRecord(
    project: ProjectRecord,
    repository: Repository,
    input: CommitFilesInput,
    change: CommitChange,
    held: HeldWriteLock,
  ): Promise<{ result: CommitFilesResult; ids: string[] | null }> {
    const ref = `refs/heads/${input.branch}`;
    if (input.branch === PUBLISHED_BRANCH && change.kind !== 'import') await this.#assertPublishable(project, repository, input);
    let pending: PendingRefAudit | null = null;
    let result: CommitFilesResult;
    try {
      result = await repository.commitFiles({
        ...input,
        beforeUpdate: async (commit) => {
          pending = await noteRefChange(repository.path, [{ ref, old: input.expectedOld, new: commit }], {
            orgId: project.orgId,
            events: [change.events(commit)].flat().map((event) => ({ update: 0, event })),
            move: { projectId: project.id, kind: change.kind, actor: change.actor },
          });
        },
      }, held);
    } catch (error) {
      // a refused compare-and-swap moved nothing; after any other failure the reconciler decides from the reflog
      const noted = pending as PendingRefAudit | null;
      if (noted && error instanceof BranchMovedError) await abandonRefChange(noted).catch(() => {});
      throw error;
    }
    const noted = pending as PendingRefAudit | null;
    if (result.changed && noted) {
      const paths = capped(input.changes.map((c) => c.path));
      const commit = result.commit!;
      const ids = await recordRefChange(this.deps.db, noted, new Set([0]), {
        changedPaths: new Map([[0, paths]]),
        listeners: this.#dispatcher.names,
        alsoInTransaction: change.rows ? (trx) => change.rows!(trx, commit) : undefined,
      });
      return { result, ids };
    }
    return { result, ids: null };
  }

  /**
   * Merges a draft into a branch with a merge commit (git/merge.ts), through the same steps as `commit`.
   * Conflicts move nothing and come back by path; a moved branch throws BranchMovedError.
   */
  merge(project: ProjectRecord, repository: Repository, input: Omit<MergeInput, 'beforeUpdate'>, change: Omit<CommitChange, 'kind' | 'publishAfter'>): Promise<MergeOutcome> {
    return timedOperation('merge', async () => {
      const { outcome, ids } = await withWriteLock(repository.path, (held) => this.#mergeAndRecord(project, repository, input, change, held));
      if (ids) await this.#publishAndNotify(project, [`refs/heads/${input.branch}`], ids);
      return outcome;
    });
  }

  async #mergeAndRecord(
    project: ProjectRecord,
    repository: Repository,
    input: Omit<MergeInput, 'beforeUpdate'>,
    change: Omit<CommitChange, 'kind' | 'publishAfter'>,
    held: HeldWriteLock,
  ): Promise<{ outcome: MergeOutcome; ids: string[] | null }> {
    const ref = `refs/heads/${input.branch}`;
    let pending: PendingRefAudit | null = null;
    let outcome: MergeOutcome;
    try {
      outcome = await repository.mergeInto({
        ...input,
        beforeUpdate: async (commit) => {
          pending = await noteRefChange(repository.path, [{ ref, old: input.expectedOld, new: commit }], {
            orgId: project.orgId,
            events: [change.events(commit)].flat().map((event) => ({ update: 0, event })),
            move: { projectId: project.id, kind: 'merge', actor: change.actor },
          });
        },
      }, held);
    } catch (error) {
      const noted = pending as PendingRefAudit | null;
      if (noted && error instanceof BranchMovedError) await abandonRefChange(noted).catch(() => {});
      throw error;
    }
    const noted = pending as PendingRefAudit | null;
    if (outcome.merged && noted) {
      const paths = await repository
        .diffTrees(input.expectedOld, outcome.commit)
        .then((changes) => capped(changes.map((c) => c.path)))
        .catch(() => ({ paths: [] as string[], truncated: true }));
      const commit = outcome.commit;
      const ids = await recordRefChange(this.deps.db, noted, new Set([0]), {
        changedPaths: new Map([[0, paths]]),
        listeners: this.#dispatcher.names,
        alsoInTransaction: change.rows ? (trx) => change.rows!(trx, commit) : undefined,
      });
      return { outcome, ids };
    }
    return { outcome, ids: null };
  }

  /**
   * Notes a push whose updates passed the checks (step 1), before receive-pack moves the refs (step 2).
   * `event` carries the audit actor, target, request id and address of the push.
   */
  notePush(project: ProjectRecord, updates: readonly PushedUpdate[], event: Omit<AuditEventInput, 'action' | 'outcome' | 'details' | 'orgId'>): Promise<PendingRefAudit> {
    return notePush(this.deps.repositories.pathOf(project), project.orgId, updates, event, { projectId: project.id, kind: 'push', actor: moveActorOf(event.actor) });
  }

  /**
   * After receive-pack exited (under the repository's write lock): records what it applied (step 3), publishes
   * when the published branch moved (step 4, a failure here is logged and caught up by the reconciler) and
   * notifies (step 5).
   */
  async settlePush(project: ProjectRecord, pending: PendingRefAudit, onPublishError: (error: unknown) => void): Promise<void> {
    const applied = await appliedUpdates(pending);
    await this.settleNoted(project, pending, applied, {}, onPublishError);
  }

  /**
   * Steps 3–5 for a noted change whose applied updates are known: by a push, or by crash recovery (with
   * `recovered`, which marks the audit events and the moves).
   */
  async settleNoted(
    project: ProjectRecord,
    pending: PendingRefAudit,
    applied: ReadonlySet<number>,
    options: { recovered?: boolean; publish?: boolean },
    onPublishError?: (error: unknown) => void,
  ): Promise<string[]> {
    const changedPaths = await this.#changedPaths(project, pending, applied);
    const ids = await recordRefChange(this.deps.db, pending, applied, {
      changedPaths,
      listeners: this.#dispatcher.names,
      recovered: options.recovered,
      extra: options.recovered ? { recovered: true } : undefined,
    });
    const refs = [...applied].map((index) => pending.updates[index]!.ref);
    if (options.publish === false) {
      this.#dispatcher.deliverSoon(ids);
      return ids;
    }
    try {
      await this.#publishAndNotify(project, refs, ids);
    } catch (error) {
      // accepted is accepted: the reconciler catches the snapshot up on the next start
      if (!onPublishError) throw error;
      onPublishError(error);
      this.#dispatcher.deliverSoon(ids);
    }
    return ids;
  }

  /**
   * Records a move of the published branch that DocuCommit did not make (found at start-up: git used directly
   * on the server): its audit event (built by the caller) and an `external` move, in one transaction. The
   * caller publishes; the listeners are notified by `deliverRecorded`.
   */
  async recordExternalMove(project: ProjectRecord, oldCommit: string | null, newCommit: string, event: AuditEventInput): Promise<string[]> {
    const repository = await this.deps.repositories.get(project);
    const paths = await repository
      .diffTrees(oldCommit, newCommit)
      .then((changes) => capped(changes.map((c) => c.path)))
      .catch(() => ({ paths: [] as string[], truncated: true }));
    return withOrg(this.deps.db, project.orgId, async (trx) => {
      await recordAuditEvent(trx, event);
      return insertMoves(
        trx,
        [
          {
            orgId: project.orgId,
            projectId: project.id,
            ref: PUBLISHED_REF,
            oldCommit,
            newCommit,
            kind: 'external',
            actor: moveActorOf(event.actor),
            changedPaths: paths.paths,
            pathsTruncated: paths.truncated,
            recovered: true,
          },
        ],
        this.#dispatcher.names,
      );
    });
  }

  /** The organization's review settings in force (protected main, approval rules), read fresh each time. */
  reviewSettings(orgId: string): Promise<ReviewSettings> {
    return readReviewSettings(this.deps.db, orgId);
  }

  /**
   * Protected main: the documents a direct commit of the published branch changes, old version (at the commit it
   * is based on) and new, must need no review (protected-main.ts). Throws ReviewRequiredError before anything is written.
   */
  async #assertPublishable(project: ProjectRecord, repository: Repository, input: CommitFilesInput): Promise<void> {
    const documents = input.changes.filter((c) => isDocumentPath(c.path));
    if (documents.length === 0) return;
    const base = input.expectedOld ?? input.startFrom ?? null;
    const textAt = async (path: string): Promise<string | null> => {
      const entry = base ? await repository.entryAt(base, path) : null;
      return entry?.type === 'blob' ? (await repository.readBlob(entry.oid)).toString('utf8') : null;
    };
    const changes: DocumentChange[] = [];
    for (const c of documents) {
      changes.push({ path: c.path, before: await textAt(c.path), after: 'delete' in c ? null : typeof c.content === 'string' ? c.content : c.content.toString('utf8') });
    }
    // 'replace-all' (the whole tree) is what imports do, and they are not checked (see commit)
    assertNoReviewNeeded(changes, await this.reviewSettings(project.orgId));
  }

  /** Notifies listeners of moves recorded earlier (by recovery, after it published). */
  deliverRecorded(ids: readonly string[]): void {
    this.#dispatcher.deliverSoon(ids);
  }

  async #publishAndNotify(project: ProjectRecord, refs: readonly string[], ids: readonly string[]): Promise<void> {
    if (refs.includes(PUBLISHED_REF)) await this.deps.publisher.publish(project);
    this.#dispatcher.deliverSoon(ids);
  }

  async #changedPaths(project: ProjectRecord, pending: PendingRefAudit, applied: ReadonlySet<number>) {
    const result = new Map<number, { paths: readonly string[]; truncated: boolean }>();
    if (!pending.record.move) return result;
    const repository = await this.deps.repositories.get(project);
    for (const index of applied) {
      const update = pending.updates[index];
      if (!update || update.new === ZERO_OID) continue; // a deletion: every path "changed" (truncated)
      try {
        result.set(index, capped((await repository.diffTrees(update.old, update.new)).map((c) => c.path)));
      } catch {
        // the old commit is gone or unreadable: listeners treat the whole tree as changed
      }
    }
    return result;
  }
}

function capped(paths: readonly string[]): { paths: string[]; truncated: boolean } {
  const unique = [...new Set(paths)];
  return { paths: unique.slice(0, MAX_CHANGED_PATHS), truncated: unique.length > MAX_CHANGED_PATHS };
}
