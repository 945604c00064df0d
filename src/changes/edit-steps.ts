import { randomBytes } from 'node:crypto';
/**
 * The steps every browser edit of a document shares (the use cases are in changes/commands/: save, create, move,
 * delete, propose): the editor's terms (paths, sizes, errors), the permission checks through authorize(), reading a
 * document at a commit, and the one commit through the branch-move protocol with its audit events.
 */
import type { UserActor } from '../access/actor.ts';
import { authorize } from '../access/authorize.ts';
import { can, type Grants, type Resource } from '../access/policy.ts';
import { classificationOf } from '../content/classification.ts';
import { isDocumentPath, newDocumentPathProblem } from '../content/document-path.ts';
import { PUBLISHED_BRANCH } from '../content/published-branch.ts';
import { parseFrontMatter } from '../content/front-matter.ts';
import type { Classification, ContentError } from '../content/types.ts';
import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError } from '../errors.ts';
import { repoPathProblem } from '../git/paths.ts';
import { isOid } from '../git/refs.ts';
import type { PathEntry, Repository } from '../git/repository.ts';
import type { AuditEventInput } from '../audit/audit-log.ts';
import type { CommitFilesInput, CommitFilesResult } from '../git/repository.ts';
import type { ProjectRecord } from '../projects/projects.ts';
import type { LinkGate } from '../projects/link-gate.ts';
import type { Publisher } from '../projects/publisher.ts';
import type { RepositoryRegistry } from '../projects/repositories.ts';
import { changeProblems, type DocumentChange } from './change-rules.ts';
import { diffLines, type DiffLine } from './conflicts.ts';
import type { BranchMoves } from './branch-moves.ts';

/** The one refusal for a new path blocked by something the author may not see (see #assertPathFree). */
export const PATH_NOT_AVAILABLE = (path: string) => `The path ${JSON.stringify(path)} is not available for a document. Choose another path.`;

/** Largest document the editor accepts (the form body limit is lower still). */
const MAX_DOCUMENT_BYTES = 1024 * 1024;
const SYMLINK_MODE = '120000';
const SUBMODULE_MODE = '160000';
/** Attempts of a creation whose branch moved meanwhile (nothing of the new file was in the way). */
export const CREATE_ATTEMPTS = 3;

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

/** What the editing use cases work with. */
export interface EditDeps {
  repositories: RepositoryRegistry;
  branchMoves: BranchMoves;
  /** The published snapshots, where the edit form takes a document's title from without rendering it. */
  published?: Pick<Publisher, 'snapshotOf'> | undefined;
  /** The organization's "refuse changes that add broken links" (without it, links never refuse a change). */
  linkGate?: Pick<LinkGate, 'assertEditAllowed'> | undefined;
}

/**
 * What every creation of a document checks before its path is looked at, on main or in a draft: a document path,
 * the text as it will be stored, the change rules of the actor's role for a new document, and the organization's
 * link gate; with the commit message (the default one when none was written).
 */
export async function checkedNewDocument(
  deps: Pick<EditDeps, 'linkGate'>,
  actor: UserActor,
  project: ProjectRecord,
  input: { path: unknown; content: string; message: unknown },
  /** In a draft: its own documents, for the link gate (LinkGate.assertEditAllowed). */
  draft?: () => Promise<readonly { path: string; source: string | null }[]>,
): Promise<{ path: string; content: string; message: string }> {
  const path = assertDocumentPath(input.path);
  const content = normalizeDocumentSource(input.content);
  assertChangeAllowed(actor, project, [{ path, before: null, after: content }]);
  await deps.linkGate?.assertEditAllowed(project, actor, [{ path, source: content }], draft);
  return { path, content, message: commitMessage(input.message, defaultMessage('Create', path)) };
}

export interface DocumentAudit {
  action: 'document.saved' | 'document.created' | 'document.moved' | 'document.deleted';
  path: string;
  details?: Record<string, string>;
  /** The classification before and after: when they differ, `document.classification_changed` is recorded too. */
  classification?: { from: Classification; to: Classification };
}

/**
 * Commits through the branch-move protocol and records the change in the audit log in its transaction (who,
 * which path, which commit; never the text).
 */
export function commitDocumentChange(
  deps: EditDeps,
  project: ProjectRecord,
  repository: Repository,
  actor: UserActor,
  input: CommitFilesInput,
  audit: DocumentAudit,
): Promise<CommitFilesResult> {
  const auditActor = { type: 'user' as const, id: actor.userId, label: actor.email };
  return deps.branchMoves.commit(project, repository, input, {
    kind: MOVE_KIND[audit.action],
    actor: auditActor,
    events: (commit): AuditEventInput[] => {
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
    },
  });
}

/** What a proposal does (the `change` of its `document.proposed` audit event). */
export type ProposedChange = 'edit' | 'create' | 'move' | 'delete' | 'restore';

/** A new draft branch's name: `draft/<who>/<time><random>`. */
export function draftBranchName(actor: UserActor): string {
  const who = actor.email.split('@')[0]!.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'draft';
  return `draft/${who}/${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
}

/**
 * "Propose change" instead of publishing: the same change a publish would commit to main, committed to a new
 * draft branch started from `base` (the version the author opened), through the branch-move protocol, and
 * recorded as `document.proposed` (the path, the commit, the branch, what the change does). Callers have applied
 * every check of the publish first (the same command's): only protected main is left to the change request.
 */
export async function commitProposal(
  deps: EditDeps,
  project: ProjectRecord,
  repository: Repository,
  actor: UserActor,
  input: { base: string; changes: CommitFilesInput['changes']; message: string; path: string; change: ProposedChange; details?: Record<string, string>; unchanged?: string },
): Promise<{ branch: string; commit: string }> {
  const branch = draftBranchName(actor);
  const auditActor = { type: 'user' as const, id: actor.userId, label: actor.email };
  const result = await deps.branchMoves.commit(
    project,
    repository,
    { branch, expectedOld: null, startFrom: input.base, mode: 'patch', changes: input.changes, author: authorOf(actor), message: input.message },
    {
      kind: 'save',
      actor: auditActor,
      events: (commit) => ({
        orgId: project.orgId,
        actor: auditActor,
        action: 'document.proposed',
        target: { type: 'document', id: `${project.id}:${input.path}`, label: input.path },
        outcome: 'success',
        details: { commit, branch, ...(input.change === 'edit' || input.change === 'create' ? {} : { change: input.change }), ...input.details },
      }),
    },
  );
  if (!result.changed || !result.commit) throw new InvalidInputError(input.unchanged ?? 'The change leaves the document as published: there is nothing to propose.');
  return { branch, commit: result.commit };
}

/** The current document for a rename or delete based on `base`: 404/403 as for editing, 409 when stale. */
export async function loadForChange(deps: EditDeps, project: ProjectRecord, actor: UserActor, path: string, base: string, grants: Grants) {
  assertMember(project, actor);
  assertDocumentPath(path);
  if (!isOid(base)) throw new InvalidInputError('The form is missing the version it was based on. Reload the page.');
  const repository = await deps.repositories.get(project);
  const head = await repository.headOf(PUBLISHED_BRANCH);
  const current = head ? await documentAt(repository, head, path) : null;
  if (!current) throw new NotFoundError();
  assertMayEdit(project, actor, path, current.classification, grants);
  if (head !== base) {
    throw new ConflictError('The project changed since you opened this page. Nothing was changed: reload it and try again.');
  }
  return { repository, current };
}

/** A stale save: the author's text back, with the current version only if they may still read it. */
export async function conflictOutcome(repository: Repository, project: ProjectRecord, actor: UserActor, path: string, mine: string, grants: Grants): Promise<SaveConflict> {
  const head = await repository.headOf(PUBLISHED_BRANCH);
  const current = head ? await documentAt(repository, head, path).catch(() => null) : null;
  // a version the author may no longer read answers exactly like a deleted or moved one
  if (!current || !can(actor, 'read', documentResource(project, path, current.classification, grants))) {
    return { kind: 'conflict', path, mine, head, current: 'missing', diff: diffLines('', mine) };
  }
  return { kind: 'conflict', path, mine, head, current: 'present', diff: diffLines(current.source, mine) };
}

export function savedOutcome(project: ProjectRecord, actor: UserActor, path: string, source: string, commit: string, changed: boolean, grants: Grants): SaveSuccess {
  const classification = classificationOf(source);
  const readable = can(actor, 'read', documentResource(project, path, classification, grants));
  return { kind: 'saved', path, commit, changed, classification, readable };
}

/**
 * A document's source and classification at `commit`; null when there is none; 400 for links. Nothing is
 * rendered: the classification comes from the front matter (invalid: restricted), as a render would give it.
 */
export async function documentAt(repository: Repository, commit: string, path: string) {
  const entry = await repository.entryAt(commit, path);
  if (!entry) return null;
  if (entry.mode === SYMLINK_MODE) throw new InvalidInputError(`${JSON.stringify(path)} is a symbolic link; the editor never writes through links.`);
  if (entry.mode === SUBMODULE_MODE || entry.type !== 'blob') throw new InvalidInputError(`${JSON.stringify(path)} is not a document file.`);
  const source = (await repository.readBlob(entry.oid)).toString('utf8');
  return { blobId: entry.oid, source, classification: classificationOf(source) };
}

/** Outsiders learn nothing: the project does not exist for them. */
export function assertMember(project: ProjectRecord, actor: UserActor): void {
  authorize(actor, 'read', { kind: 'project', orgId: project.orgId });
}

export function assertProjectEditor(project: ProjectRecord, actor: UserActor): void {
  assertMember(project, actor);
  authorize(actor, 'edit', { kind: 'project', orgId: project.orgId }, 'Your role can read documents but not edit them.');
}

/** A document hidden by its classification answers 404 (audited); one the actor reads but may not edit, 403. */
export function assertMayEdit(project: ProjectRecord, actor: UserActor, path: string, classification: Classification, grants: Grants): void {
  authorize(actor, 'edit', documentResource(project, path, classification, grants), 'Your role can read this document but not edit it.');
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

export function documentResource(project: ProjectRecord, path: string, classification: Classification, grants: Grants): Resource {
  return { kind: 'document', orgId: project.orgId, classification, projectId: project.id, path, grants };
}

export function authorOf(actor: UserActor): { name: string; email: string } {
  return { name: actor.name.trim() || actor.email, email: actor.email };
}

/**
 * The message of a change saved without one: the verb and the document's path, never its title (a title is
 * text of the document; the path is shown only where the commit is: see version-access.ts, commitVisibility).
 */
export function defaultMessage(verb: 'Update' | 'Create' | 'Delete', path: string): string {
  return `${verb} ${path}`;
}

export function commitMessage(message: unknown, fallback: string): string {
  const text = typeof message === 'string' ? message.trim() : '';
  return text || fallback;
}
