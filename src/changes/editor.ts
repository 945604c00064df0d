/**
 * Browser edits of documents: save, create, rename/move and delete. Each is one commit on the published branch,
 * made without a work tree through the branch-move protocol (branch-moves.ts: journal, compare-and-swap on the
 * commit the editor started from, audit event and move record in one transaction, publish, listeners),
 * authored by the signed-in user.
 */
import { randomBytes } from 'node:crypto';
import { withEditorialTrailer } from '../evidence/editorial-trailer.ts';
import type { UserActor } from '../access/actor.ts';
import { authorize } from '../access/authorize.ts';
import { can, type Grants, type Resource } from '../access/policy.ts';
import { classificationOf } from '../content/classification.ts';
import { isDocumentPath, newDocumentPathProblem } from '../content/document-path.ts';
import { PUBLISHED_BRANCH } from '../content/published-branch.ts';
import { parseFrontMatter } from '../content/front-matter.ts';
import { budgets, deadlineIn, renderWithinBudget } from '../projects/budget-pool.ts';
import type { Classification, ContentError } from '../content/types.ts';
import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError } from '../errors.ts';
import { BranchMovedError } from '../git/errors.ts';
import { repoPathProblem } from '../git/paths.ts';
import { isOid } from '../git/refs.ts';
import type { PathEntry, Repository } from '../git/repository.ts';
import type { AuditEventInput } from '../audit/audit-log.ts';
import type { CommitFilesInput, CommitFilesResult } from '../git/repository.ts';
import type { ProjectRecord } from '../projects/projects.ts';
import type { LinkGate } from '../projects/link-gate.ts';
import type { Publisher } from '../projects/publisher.ts';
import type { RepositoryRegistry } from '../projects/repositories.ts';
import { changeProblems, reviewReason, type DocumentChange } from './change-rules.ts';
import { diffLines, type DiffLine } from './conflicts.ts';
import type { BranchMoves } from './branch-moves.ts';

/** The one refusal for a new path blocked by something the author may not see (see #assertPathFree). */
export const PATH_NOT_AVAILABLE = (path: string) => `The path ${JSON.stringify(path)} is not available for a document. Choose another path.`;

/** Largest document the editor accepts (the form body limit is lower still). */
const MAX_DOCUMENT_BYTES = 1024 * 1024;
const SYMLINK_MODE = '120000';
const SUBMODULE_MODE = '160000';
const CREATE_ATTEMPTS = 3;

/** A document as the editor opens it: its source at the branch head the edit is based on. */
export interface EditableDocument {
  path: string;
  /** The head commit the source was read from: the form carries it back as the save's expected old value. */
  base: string;
  source: string;
  title: string;
  classification: Classification;
  /** Why publishing this document needs review (protected main: the editor offers "Propose change"), or null. */
  review: string | null;
}

/** Invalid front matter in the text being saved: nothing was committed. */
export class FrontMatterRejectedError extends InvalidInputError {
  constructor(readonly errors: ContentError[]) {
    super(
      `The front matter is invalid: ${errors.map((e) => `${e.file}:${e.line}: ${e.message}`).join('; ')}`,
      errors,
    );
  }
}

/** The change breaks a rule of change-rules.ts for the actor's role (e.g. lowering a classification): nothing was committed. */
export class ChangeRefusedError extends ForbiddenError {
  constructor(message: string) {
    super(message);
  }
}

/**
 * Applies the change rules (changes/change-rules.ts, the same as for pushes) to a change of the published
 * branch: FrontMatterRejectedError for invalid front matter, ChangeRefusedError when the actor's role may not
 * make the change (a classification they may not read, before or after; lowering one below manager).
 */
export function assertChangeAllowed(actor: UserActor, project: ProjectRecord, changes: readonly DocumentChange[]): void {
  const problems = changeProblems(changeRights(actor, project), changes, { publishedBranch: true });
  const errors = problems.flatMap((p) => (p.kind === 'front-matter' ? p.errors : []));
  if (errors.length > 0) throw new FrontMatterRejectedError(errors);
  const refused = problems.find((p) => p.kind === 'classification');
  if (refused) throw new ChangeRefusedError(`Nothing was saved: ${refused.message}.`);
}

/** The actor's rights over the project's documents, from the permission policy. */
export function changeRights(actor: UserActor, project: ProjectRecord) {
  return {
    mayChange: (classification: Classification) => can(actor, 'edit', { kind: 'document', orgId: project.orgId, classification }),
    mayDeclassify: (from: Classification) => can(actor, 'declassify', { kind: 'document', orgId: project.orgId, classification: from }),
  };
}

/** The save was based on a version that is no longer current; the author's text was not committed. */
export interface SaveConflict {
  kind: 'conflict';
  path: string;
  /** The author's text, to be shown back to them. */
  mine: string;
  /** The branch head now: the base of a re-save. */
  head: string | null;
  /** The current version's state: present and readable, or gone (deleted, moved, or hidden from this author: one answer). */
  current: 'present' | 'missing';
  /** Lines of the current version against the author's text (against nothing when not present). */
  diff: DiffLine[];
}

export interface SaveSuccess {
  kind: 'saved';
  path: string;
  commit: string;
  changed: boolean;
  classification: Classification;
  /** False when the saved classification is one the author may not read (allowed: it only narrows their access). */
  readable: boolean;
}

export type SaveOutcome = SaveSuccess | SaveConflict;

/** A repository path the editor may write a document to, or InvalidInputError saying why not. */
export function assertDocumentPath(path: unknown): string {
  if (typeof path !== 'string') throw new InvalidInputError('A document path is required.');
  const problem = repoPathProblem(path);
  if (problem) throw new InvalidInputError(`The path ${JSON.stringify(path)} cannot be used: it ${problem}.`, [{ path, problem }]);
  const documentProblem = newDocumentPathProblem(path);
  if (documentProblem) throw new InvalidInputError(`The path ${JSON.stringify(path)} cannot be used: ${documentProblem}.`, [{ path }]);
  return path;
}

/** Browser text as committed: LF line ends, within the size limit. */
export function normalizeDocumentSource(content: unknown): string {
  if (typeof content !== 'string') throw new InvalidInputError('The document text is missing.');
  const text = content.replace(/\r\n?/g, '\n');
  if (Buffer.byteLength(text) > MAX_DOCUMENT_BYTES) throw new InvalidInputError('The document is too large (at most 1 MB).');
  return text;
}

/** Refuses text whose front matter is invalid, with file:line errors (the same check as for pushes). */
export function assertValidFrontMatter(path: string, source: string): void {
  const { errors } = parseFrontMatter(path, source);
  if (errors.length > 0) throw new FrontMatterRejectedError(errors);
}

const MOVE_KIND = { 'document.saved': 'save', 'document.created': 'create', 'document.moved': 'move', 'document.deleted': 'delete' } as const;

/** The services behind the browser editor. */
export class DocumentEditor {
  /**
   * @param published the published snapshots (the publisher), where the edit form takes a document's title
   *   from without rendering it; without it, titles are rendered.
   */
  constructor(
    private readonly repositories: RepositoryRegistry,
    private readonly branchMoves: BranchMoves,
    private readonly published?: Pick<Publisher, 'snapshotOf'>,
    /** The organization's "refuse changes that add broken links" (without it, links never refuse a change). */
    private readonly linkGate?: Pick<LinkGate, 'assertEditAllowed'>,
  ) {}

  /**
   * Commits through the branch-move protocol and records the change in the audit log (who, which path, which
   * commit; never the text).
   */
  async #commit(
    project: ProjectRecord,
    repository: Repository,
    actor: UserActor,
    input: CommitFilesInput,
    audit: {
      action: 'document.saved' | 'document.created' | 'document.moved' | 'document.deleted';
      path: string;
      details?: Record<string, string>;
      /** The classification before and after: when they differ, `document.classification_changed` is recorded too. */
      classification?: { from: Classification; to: Classification };
    },
  ): Promise<CommitFilesResult> {
    const auditActor = { type: 'user' as const, id: actor.userId, label: actor.email };
    return this.branchMoves.commit(project, repository, input, { kind: MOVE_KIND[audit.action], actor: auditActor, events: (commit): AuditEventInput[] => {
      const event = {
        orgId: project.orgId,
        actor: auditActor,
        target: { type: 'document', id: `${project.id}:${audit.path}`, label: audit.path },
        outcome: 'success' as const,
      };
      const reclassified = audit.classification && audit.classification.from !== audit.classification.to ? audit.classification : null;
      return [
        { ...event, action: audit.action, details: { commit, ...audit.details } },
        ...(reclassified ? [{ ...event, action: 'document.classification_changed', details: { commit, from: reclassified.from, to: reclassified.to } }] : []),
      ];
    } });
  }

  /** The current version of a document for the edit form. 404 when missing or unreadable, 403 when read-only. */
  async open(project: ProjectRecord, actor: UserActor, path: string, grants: Grants): Promise<EditableDocument> {
    this.#assertMember(project, actor);
    assertDocumentPath(path);
    const repository = await this.repositories.get(project);
    const head = await repository.headOf(PUBLISHED_BRANCH);
    const current = head ? await this.#documentAt(repository, head, path) : null;
    if (!head || !current) throw new NotFoundError();
    this.#assertMayEdit(project, actor, path, current.classification, grants);
    const title = await this.#titleOf(project, path, current);
    const review = reviewReason({ path, before: current.source, after: current.source }, await this.branchMoves.reviewSettings(project.orgId));
    return { path, base: head, source: current.source, title, classification: current.classification, review };
  }

  /** The head a new document would be based on (for the new-document form); 403 for read-only roles. */
  async startNew(project: ProjectRecord, actor: UserActor): Promise<string | null> {
    this.#assertProjectEditor(project, actor);
    return (await this.repositories.get(project)).headOf(PUBLISHED_BRANCH);
  }

  /**
   * Saves new text of an existing document as one commit based on `base`. When the branch has moved since
   * `base` the text is not committed and the conflict (with a diff against the current version) comes back.
   */
  async save(
    project: ProjectRecord,
    actor: UserActor,
    input: { path: string; base: string; content: string; message: string; /** no re-acknowledgment (commit trailer) */ editorial?: boolean },
    grants: Grants,
  ): Promise<SaveOutcome> {
    this.#assertMember(project, actor);
    const path = assertDocumentPath(input.path);
    if (!isOid(input.base)) throw new InvalidInputError('The form is missing the version it was based on. Reload the editor.');
    const content = normalizeDocumentSource(input.content);
    const repository = await this.repositories.get(project);
    const head = await repository.headOf(PUBLISHED_BRANCH);
    if (head !== input.base) {
      // Stale: nothing is written, the author gets their text back (the current version only if they may read it).
      this.#assertProjectEditor(project, actor);
      assertValidFrontMatter(path, content);
      return this.#conflict(repository, project, actor, path, content, grants);
    }
    const current = await this.#documentAt(repository, head, path);
    if (!current) throw new NotFoundError();
    this.#assertMayEdit(project, actor, path, current.classification, grants);
    assertChangeAllowed(actor, project, [{ path, before: current.source, after: content }]);
    await this.linkGate?.assertEditAllowed(project, actor, [{ path, source: content }]);

    const written = commitMessage(input.message, defaultMessage('Update', path));
    // the branch-move listener of acknowledgments reads the trailer (evidence/acknowledgment-versions.ts)
    const message = input.editorial ? withEditorialTrailer(written) : written;
    try {
      const result = await this.#commit(
        project,
        repository,
        actor,
        { branch: PUBLISHED_BRANCH, expectedOld: input.base, mode: 'patch', changes: [{ path, content }], author: authorOf(actor), message },
        { action: 'document.saved', path, classification: { from: current.classification, to: classificationOf(content) } },
      );
      return this.#saved(project, actor, path, content, result.commit!, result.changed, grants);
    } catch (error) {
      if (error instanceof BranchMovedError) return this.#conflict(repository, project, actor, path, content, grants);
      throw error;
    }
  }

  /**
   * Commits new text of a document to a new draft branch started from `base` (the version the author opened),
   * instead of publishing it: the draft of a change request. The same checks as a save apply. With `create`, the
   * document is new (its path must be free at `base`, as for a creation). Returns the branch.
   */
  async propose(
    project: ProjectRecord,
    actor: UserActor,
    input: { path: string; base: string | null; content: string; message: string; create?: boolean },
    grants: Grants,
  ): Promise<{ branch: string; commit: string }> {
    this.#assertProjectEditor(project, actor);
    const path = assertDocumentPath(input.path);
    const content = normalizeDocumentSource(input.content);
    const repository = await this.repositories.get(project);
    const base = input.create ? (isOid(input.base ?? '') ? input.base! : await repository.headOf(PUBLISHED_BRANCH)) : input.base;
    if (!base || !isOid(base)) throw new InvalidInputError('The form is missing the version it was based on. Reload the editor.');
    let before: string | null = null;
    if (input.create) {
      await assertPathFree(repository, project, actor, base, path, grants);
    } else {
      const current = await this.#documentAt(repository, base, path).catch(() => null);
      if (!current) throw new NotFoundError();
      this.#assertMayEdit(project, actor, path, current.classification, grants);
      before = current.source;
    }
    assertChangeAllowed(actor, project, [{ path, before, after: content }]);
    const who = actor.email.split('@')[0]!.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'draft';
    const branch = `draft/${who}/${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
    const auditActor = { type: 'user' as const, id: actor.userId, label: actor.email };
    const verb = input.create ? 'Create' : 'Update';
    const result = await this.branchMoves.commit(
      project,
      repository,
      { branch, expectedOld: null, startFrom: base, mode: 'patch', changes: [{ path, content }], author: authorOf(actor), message: commitMessage(input.message, defaultMessage(verb, path)) },
      {
        kind: 'save',
        actor: auditActor,
        events: (commit) => ({ orgId: project.orgId, actor: auditActor, action: 'document.proposed', target: { type: 'document', id: `${project.id}:${path}`, label: path }, outcome: 'success', details: { commit, branch } }),
      },
    );
    if (!result.changed || !result.commit) throw new InvalidInputError('The text is the same as the published version: there is nothing to propose.');
    return { branch, commit: result.commit };
  }

  /** Creates a document at a path where none exists (any head will do: nothing of the new file is in it). */
  async create(
    project: ProjectRecord,
    actor: UserActor,
    input: { path: string; content: string; message: string },
    grants: Grants,
  ): Promise<SaveSuccess> {
    this.#assertProjectEditor(project, actor);
    const path = assertDocumentPath(input.path);
    const content = normalizeDocumentSource(input.content);
    assertChangeAllowed(actor, project, [{ path, before: null, after: content }]);
    await this.linkGate?.assertEditAllowed(project, actor, [{ path, source: content }]);
    const message = commitMessage(input.message, defaultMessage('Create', path));
    const repository = await this.repositories.get(project);
    for (let attempt = 1; ; attempt++) {
      const head = await repository.headOf(PUBLISHED_BRANCH);
      if (head) await assertPathFree(repository, project, actor, head, path, grants);
      try {
        const result = await this.#commit(
          project,
          repository,
          actor,
          { branch: PUBLISHED_BRANCH, expectedOld: head, mode: 'patch', changes: [{ path, content }], author: authorOf(actor), message },
          { action: 'document.created', path },
        );
        return this.#saved(project, actor, path, content, result.commit!, result.changed, grants);
      } catch (error) {
        if (!(error instanceof BranchMovedError) || attempt >= CREATE_ATTEMPTS) throw error;
      }
    }
  }

  /** Moves a document to `newPath` in one commit (the text is unchanged), if the branch is still at `base`. */
  async rename(
    project: ProjectRecord,
    actor: UserActor,
    input: { path: string; newPath: string; base: string; message: string },
    grants: Grants,
  ): Promise<SaveSuccess> {
    const { repository, current } = await this.#loadForChange(project, actor, input.path, input.base, grants);
    const newPath = assertDocumentPath(input.newPath);
    if (newPath === input.path) throw new InvalidInputError('The new path is the same as the current one.');
    await assertPathFree(repository, project, actor, input.base, newPath, grants);
    assertChangeAllowed(actor, project, [
      { path: input.path, before: current.source, after: null },
      { path: newPath, before: null, after: current.source },
    ]);
    await this.linkGate?.assertEditAllowed(project, actor, [
      { path: input.path, source: null },
      { path: newPath, source: current.source },
    ]);
    const result = await this.#commit(
      project,
      repository,
      actor,
      {
        branch: PUBLISHED_BRANCH,
        expectedOld: input.base,
        mode: 'patch',
        changes: [
          { path: input.path, delete: true },
          { path: newPath, content: current.source },
        ],
        author: authorOf(actor),
        message: commitMessage(input.message, `Move ${input.path} to ${newPath}`),
      },
      { action: 'document.moved', path: newPath, details: { from: input.path } },
    );
    return this.#saved(project, actor, newPath, current.source, result.commit!, result.changed, grants);
  }

  /** Deletes a document in one commit, if the branch is still at `base`. Returns the new head. */
  async remove(
    project: ProjectRecord,
    actor: UserActor,
    input: { path: string; base: string; message: string },
    grants: Grants,
  ): Promise<{ commit: string | null }> {
    const { repository, current } = await this.#loadForChange(project, actor, input.path, input.base, grants);
    assertChangeAllowed(actor, project, [{ path: input.path, before: current.source, after: null }]);
    await this.linkGate?.assertEditAllowed(project, actor, [{ path: input.path, source: null }]);
    const result = await this.#commit(
      project,
      repository,
      actor,
      {
        branch: PUBLISHED_BRANCH,
        expectedOld: input.base,
        mode: 'patch',
        changes: [{ path: input.path, delete: true }],
        author: authorOf(actor),
        message: commitMessage(input.message, defaultMessage('Delete', input.path)),
      },
      { action: 'document.deleted', path: input.path },
    );
    return { commit: result.commit };
  }

  /** The current document for a rename or delete based on `base`: 404/403 as for editing, 409 when stale. */
  async #loadForChange(project: ProjectRecord, actor: UserActor, path: string, base: string, grants: Grants) {
    this.#assertMember(project, actor);
    assertDocumentPath(path);
    if (!isOid(base)) throw new InvalidInputError('The form is missing the version it was based on. Reload the page.');
    const repository = await this.repositories.get(project);
    const head = await repository.headOf(PUBLISHED_BRANCH);
    const current = head ? await this.#documentAt(repository, head, path) : null;
    if (!current) throw new NotFoundError();
    this.#assertMayEdit(project, actor, path, current.classification, grants);
    if (head !== base) {
      throw new ConflictError('The project changed since you opened this page. Nothing was changed: reload it and try again.');
    }
    return { repository, current };
  }

  async #conflict(
    repository: Repository,
    project: ProjectRecord,
    actor: UserActor,
    path: string,
    mine: string,
    grants: Grants,
  ): Promise<SaveConflict> {
    const head = await repository.headOf(PUBLISHED_BRANCH);
    const current = head ? await this.#documentAt(repository, head, path).catch(() => null) : null;
    // a version the author may no longer read answers exactly like a deleted or moved one
    if (!current || !can(actor, 'read', documentResource(project, path, current.classification, grants))) {
      return { kind: 'conflict', path, mine, head, current: 'missing', diff: diffLines('', mine) };
    }
    return { kind: 'conflict', path, mine, head, current: 'present', diff: diffLines(current.source, mine) };
  }

  #saved(project: ProjectRecord, actor: UserActor, path: string, source: string, commit: string, changed: boolean, grants: Grants): SaveSuccess {
    const classification = classificationOf(source);
    const readable = can(actor, 'read', documentResource(project, path, classification, grants));
    return { kind: 'saved', path, commit, changed, classification, readable };
  }

  /** The tree entry at `path` in `commit`, or null. */
  async #entryAt(repository: Repository, commit: string, path: string): Promise<PathEntry | null> {
    return repository.entryAt(commit, path);
  }

  /**
   * A document's source and classification at `commit`; null when there is none; 400 for links. Nothing is
   * rendered: the classification comes from the front matter (invalid: restricted), as a render would give it.
   */
  async #documentAt(repository: Repository, commit: string, path: string) {
    const entry = await this.#entryAt(repository, commit, path);
    if (!entry) return null;
    if (entry.mode === SYMLINK_MODE) throw new InvalidInputError(`${JSON.stringify(path)} is a symbolic link; the editor never writes through links.`);
    if (entry.mode === SUBMODULE_MODE || entry.type !== 'blob') throw new InvalidInputError(`${JSON.stringify(path)} is not a document file.`);
    const source = (await repository.readBlob(entry.oid)).toString('utf8');
    return { blobId: entry.oid, source, classification: classificationOf(source) };
  }

  /**
   * A document version's title: the published snapshot's when it holds this very version (no render), else
   * rendered (a large document in a worker, budget-pool.ts; beyond the budget from its front matter or path).
   */
  async #titleOf(project: ProjectRecord, path: string, version: { blobId: string; source: string }): Promise<string> {
    const published = this.published?.snapshotOf(project.id)?.documents.get(path);
    if (published?.blobId === version.blobId) return published.meta.title;
    return (await renderWithinBudget(path, version.source, deadlineIn(budgets.viewRenderMs))).title;
  }

  /** Outsiders learn nothing: the project does not exist for them. */
  #assertMember(project: ProjectRecord, actor: UserActor): void {
    authorize(actor, 'read', { kind: 'project', orgId: project.orgId });
  }

  #assertProjectEditor(project: ProjectRecord, actor: UserActor): void {
    this.#assertMember(project, actor);
    authorize(actor, 'edit', { kind: 'project', orgId: project.orgId }, 'Your role can read documents but not edit them.');
  }

  /** A document hidden by its classification answers 404 (audited); one the actor reads but may not edit, 403. */
  #assertMayEdit(project: ProjectRecord, actor: UserActor, path: string, classification: Classification, grants: Grants): void {
    authorize(actor, 'edit', documentResource(project, path, classification, grants), 'Your role can read this document but not edit it.');
  }
}

/**
 * Refuses a new document's path (a creation, a move, a restore of a deleted document) when something is in the
 * way at `commit`. A document the actor may read is named ("already exists", "would go through"); anything else
 * in the way (a document they may not read, a folder, a file that is not a document) gets one generic answer,
 * the same text and status for all, so a hidden document answers like a folder or an image would and its
 * existence is not confirmed. Links and submodules are left to commitFiles, which refuses them with its own 400.
 */
export async function assertPathFree(repository: Repository, project: ProjectRecord, actor: UserActor, commit: string, path: string, grants: Grants): Promise<void> {
  const segments = path.split('/');
  for (let i = 1; i <= segments.length; i++) {
    const prefix = segments.slice(0, i).join('/');
    const entry = await repository.entryAt(commit, prefix);
    if (!entry) return; // nothing here, so nothing further down either
    if (entry.type === 'tree' && i < segments.length) continue;
    if (entry.mode === SYMLINK_MODE || entry.mode === SUBMODULE_MODE) return;
    const readable = await readableDocument(repository, project, actor, prefix, entry, grants);
    if (readable && prefix === path) throw new ConflictError(`A document already exists at ${JSON.stringify(path)}. Choose another path.`);
    if (readable) throw new ConflictError(`The path ${JSON.stringify(path)} would go through the document ${JSON.stringify(prefix)}. Choose another path.`);
    throw new ConflictError(PATH_NOT_AVAILABLE(path));
  }
}

/** True when `entry` is a document (a regular Markdown file) the actor may read. */
async function readableDocument(repository: Repository, project: ProjectRecord, actor: UserActor, path: string, entry: PathEntry, grants: Grants): Promise<boolean> {
  if (entry.type !== 'blob' || !isDocumentPath(path)) return false;
  const classification = classificationOf((await repository.readBlob(entry.oid)).toString('utf8'));
  return can(actor, 'read', documentResource(project, path, classification, grants));
}

function documentResource(project: ProjectRecord, path: string, classification: Classification, grants: Grants): Resource {
  return { kind: 'document', orgId: project.orgId, classification, projectId: project.id, path, grants };
}

function authorOf(actor: UserActor): { name: string; email: string } {
  return { name: actor.name.trim() || actor.email, email: actor.email };
}

/**
 * The message of a change saved without one: the verb and the document's path, never its title (a title is
 * text of the document; the path is shown only where the commit is: see version-access.ts, commitVisibility).
 */
export function defaultMessage(verb: 'Update' | 'Create' | 'Delete', path: string): string {
  return `${verb} ${path}`;
}

function commitMessage(message: unknown, fallback: string): string {
  const text = typeof message === 'string' ? message.trim() : '';
  return text || fallback;
}
