/**
 * Browser edits of documents: save, create, rename/move, delete, and proposing any of them instead (a draft branch). Each is one commit made without a
 * work tree through the branch-move protocol (branch-moves.ts: journal, compare-and-swap on the commit the editor
 * started from, audit event and move record in one transaction, publish, listeners), authored by the signed-in
 * user. Each use case is a module of its own in changes/commands/, taking (dependencies, actor, input); this
 * class holds the dependencies for the routes and opens a document for the edit form.
 */
import type { UserActor } from '../access/actor.ts';
import type { Grants } from '../access/policy.ts';
import { PUBLISHED_BRANCH } from '../content/published-branch.ts';
import { NotFoundError } from '../errors.ts';
import { budgets, deadlineIn, renderWithinBudget } from '../projects/budget-pool.ts';
import type { LinkGate } from '../projects/link-gate.ts';
import type { ProjectRecord } from '../projects/projects.ts';
import type { Publisher } from '../projects/publisher.ts';
import type { RepositoryRegistry } from '../projects/repositories.ts';
import type { BranchMoves } from './branch-moves.ts';
import { reviewReason } from './change-rules.ts';
import { createDocument, type CreateDocumentInput } from './commands/create-document.ts';
import { deleteDocument, proposeDelete, type DeleteDocumentInput } from './commands/delete-document.ts';
import { moveDocument, proposeMove, type MoveDocumentInput } from './commands/move-document.ts';
import { proposeChange, type ProposeChangeInput } from './commands/propose-change.ts';
import { proposeChanges, type ProposeChangesInput } from './commands/propose-changes.ts';
import { saveDocument, type SaveDocumentInput } from './commands/save-document.ts';
import {
  assertDocumentPath,
  assertMayEdit,
  assertMember,
  assertProjectEditor,
  documentAt,
  type EditableDocument,
  type EditDeps,
  type SaveOutcome,
  type SaveSuccess,
} from './edit-steps.ts';

export {
  assertChangeAllowed,
  assertDocumentPath,
  assertPathFree,
  assertValidFrontMatter,
  ChangeRefusedError,
  changeRights,
  defaultMessage,
  FrontMatterRejectedError,
  normalizeDocumentSource,
  PATH_NOT_AVAILABLE,
  type EditableDocument,
  type SaveConflict,
  type SaveOutcome,
  type SaveSuccess,
} from './edit-steps.ts';

type Without<T> = Omit<T, 'project' | 'grants'>;

/** The services behind the browser editor. */
export class DocumentEditor {
  readonly #deps: EditDeps;

  /**
   * @param published the published snapshots (the publisher), where the edit form takes a document's title
   *   from without rendering it; without it, titles are rendered.
   * @param linkGate the organization's "refuse changes that add broken links" (without it, links never refuse).
   */
  constructor(
    repositories: RepositoryRegistry,
    branchMoves: BranchMoves,
    published?: Pick<Publisher, 'snapshotOf'>,
    linkGate?: Pick<LinkGate, 'assertEditAllowed'>,
  ) {
    this.#deps = { repositories, branchMoves, published, linkGate };
  }

  /** The current version of a document for the edit form. 404 when missing or unreadable, 403 when read-only. */
  async open(project: ProjectRecord, actor: UserActor, path: string, grants: Grants): Promise<EditableDocument> {
    assertMember(project, actor);
    assertDocumentPath(path);
    const repository = await this.#deps.repositories.get(project);
    const head = await repository.headOf(PUBLISHED_BRANCH);
    const current = head ? await documentAt(repository, head, path) : null;
    if (!head || !current) throw new NotFoundError();
    assertMayEdit(project, actor, path, current.classification, grants);
    const title = await this.#titleOf(project, path, current);
    const review = reviewReason({ path, before: current.source, after: current.source }, await this.#deps.branchMoves.reviewSettings(project.orgId));
    return { path, base: head, source: current.source, title, classification: current.classification, review };
  }

  /** The head a new document would be based on (for the new-document form); 403 for read-only roles. */
  async startNew(project: ProjectRecord, actor: UserActor): Promise<string | null> {
    assertProjectEditor(project, actor);
    return (await this.#deps.repositories.get(project)).headOf(PUBLISHED_BRANCH);
  }

  /** commands/save-document.ts */
  save(project: ProjectRecord, actor: UserActor, input: Without<SaveDocumentInput>, grants: Grants): Promise<SaveOutcome> {
    return saveDocument(this.#deps, actor, { ...input, project, grants });
  }

  /** commands/propose-change.ts */
  propose(project: ProjectRecord, actor: UserActor, input: Without<ProposeChangeInput>, grants: Grants): Promise<{ branch: string; commit: string }> {
    return proposeChange(this.#deps, actor, { ...input, project, grants });
  }

  /** commands/propose-changes.ts: several documents in one draft commit (the REST API's change request with edits). */
  proposeMany(project: ProjectRecord, actor: UserActor, input: Without<ProposeChangesInput>, grants: Grants): Promise<{ branch: string; commit: string }> {
    return proposeChanges(this.#deps, actor, { ...input, project, grants });
  }

  /** commands/create-document.ts */
  create(project: ProjectRecord, actor: UserActor, input: Without<CreateDocumentInput>, grants: Grants): Promise<SaveSuccess> {
    return createDocument(this.#deps, actor, { ...input, project, grants });
  }

  /** commands/move-document.ts */
  rename(project: ProjectRecord, actor: UserActor, input: Without<MoveDocumentInput>, grants: Grants): Promise<SaveSuccess> {
    return moveDocument(this.#deps, actor, { ...input, project, grants });
  }

  /** commands/move-document.ts: "Propose change" of a move (a draft branch; the route opens its change request). */
  proposeRename(project: ProjectRecord, actor: UserActor, input: Without<MoveDocumentInput>, grants: Grants): Promise<{ branch: string; commit: string; newPath: string }> {
    return proposeMove(this.#deps, actor, { ...input, project, grants });
  }

  /** commands/delete-document.ts: "Propose change" of a deletion. */
  proposeRemove(project: ProjectRecord, actor: UserActor, input: Without<DeleteDocumentInput>, grants: Grants): Promise<{ branch: string; commit: string }> {
    return proposeDelete(this.#deps, actor, { ...input, project, grants });
  }

  /** commands/delete-document.ts */
  remove(project: ProjectRecord, actor: UserActor, input: Without<DeleteDocumentInput>, grants: Grants): Promise<{ commit: string | null }> {
    return deleteDocument(this.#deps, actor, { ...input, project, grants });
  }

  /**
   * A document version's title: the published snapshot's when it holds this very version (no render), else
   * rendered (a large document in a worker, budget-pool.ts; beyond the budget from its front matter or path).
   */
  async #titleOf(project: ProjectRecord, path: string, version: { blobId: string; source: string }): Promise<string> {
    const published = this.#deps.published?.snapshotOf(project.id)?.documents.get(path);
    if (published?.blobId === version.blobId) return published.meta.title;
    return (await renderWithinBudget(path, version.source, deadlineIn(budgets.viewRenderMs))).title;
  }
}
