/**
 * Save to a draft: new text of a document committed to the draft branch of an open change request, "continuing
 * the draft one is on" (issue #13) — a later edit of a document the draft already changes, or a further document
 * added to it, so one browser proposal can span several documents. authorize → load → change rules → commit on the
 * draft through the branch-move protocol (journal, compare-and-swap on the draft head the editor opened, the audit
 * events and the request's new head in one transaction) → listeners. A stale head writes nothing and gives the
 * author their text back with a diff (as a stale save of main). The new head dismisses earlier approvals (they
 * were given on another commit: approval-rules.ts).
 *
 * Who may: a person who sees the change request (every document it touches, both versions: hidden is missing),
 * may edit change requests' drafts (policy: `edit` on the `change_request`: the author or any writer), and may
 * edit the document in the draft and, when it is published, on main (an edit needs clearance itself).
 */
import type { UserActor } from '../../access/actor.ts';
import { authorize } from '../../access/authorize.ts';
import { can, type Grants } from '../../access/policy.ts';
import type { AuditEventInput } from '../../audit/audit-log.ts';
import { classificationOf } from '../../content/classification.ts';
import type { Classification } from '../../content/types.ts';
import { ConflictError, InvalidInputError, NotFoundError } from '../../errors.ts';
import { BranchMovedError } from '../../git/errors.ts';
import { isOid } from '../../git/refs.ts';
import type { Repository } from '../../git/repository.ts';
import type { ProjectRecord } from '../../projects/projects.ts';
import { changeRequestAuditTarget, type ChangeRequests, type ChangeRequestView } from '../change-requests.ts';
import { moveRequestHead } from '../change-request-timeline.ts';
import { diffLines } from '../conflicts.ts';
import {
  assertChangeAllowed,
  assertDocumentPath,
  assertMayEdit,
  authorOf,
  commitMessage,
  defaultMessage,
  documentAt,
  documentResource,
  normalizeDocumentSource,
  type EditDeps,
  type SaveConflict,
} from '../edit-steps.ts';

export interface DraftEditDeps extends EditDeps {
  changeRequests: Pick<ChangeRequests, 'get' | 'sources'>;
}

/**
 * The draft's own documents as the link gate counts them (projects/link-gate.ts): an edit of a draft adds link
 * problems to the project as the draft has it, so a document may link to another one the same draft adds.
 */
export function draftDocuments(deps: DraftEditDeps, project: ProjectRecord, request: ChangeRequestView): () => Promise<{ path: string; source: string | null }[]> {
  return async () => (await deps.changeRequests.sources(project, request)).map((doc) => ({ path: doc.path, source: doc.after }));
}

export interface SaveToDraftInput {
  project: ProjectRecord;
  grants: Grants;
  /** The change request whose draft is edited. */
  number: number;
  path: string;
  /** The draft head the author's text is based on (the editor's hidden field). */
  base: string;
  content: string;
  message: string;
}

export interface DraftSaved {
  kind: 'saved';
  number: number;
  path: string;
  commit: string;
}

/** A stale save of a draft: the author's text back, the current draft version only if they may read it. */
export type DraftConflict = SaveConflict & { number: number };

/** The request and document a draft edit works on, checked: see the module comment for who may. */
/** The open change request whose draft `actor` edits: 404 for whoever may not see it, 403 for whoever may not change its draft. */
export async function openDraftRequest(deps: Pick<DraftEditDeps, 'changeRequests'>, actor: UserActor, project: ProjectRecord, number: number, grants: Grants): Promise<ChangeRequestView> {
  const request = await deps.changeRequests.get(project, actor, number, grants);
  authorize(actor, 'edit', { kind: 'change_request', orgId: project.orgId, authorId: request.author.id }, 'Your role can read this change request but not change its draft.');
  if (request.state !== 'open') throw new ConflictError('Only the draft of an open change request can be edited.');
  return request;
}

export async function openDraftDocument(deps: DraftEditDeps, actor: UserActor, project: ProjectRecord, number: number, rawPath: string, grants: Grants) {
  const request = await openDraftRequest(deps, actor, project, number, grants);
  const path = assertDocumentPath(rawPath);
  const repository = await deps.repositories.get(project);
  const head = await repository.headOf(request.branch);
  if (!head) throw new NotFoundError();
  const current = await documentAt(repository, head, path).catch(() => null);
  if (!current) throw new NotFoundError();
  // the draft's version and the one readers have now: each may be read and edited by this person
  assertMayEdit(project, actor, path, current.classification, grants);
  const main = request.mainCommit ? await documentAt(repository, request.mainCommit, path).catch(() => null) : null;
  if (main) assertMayEdit(project, actor, path, main.classification, grants);
  return { request, repository, head, path, current };
}

export async function saveToDraft(deps: DraftEditDeps, actor: UserActor, input: SaveToDraftInput): Promise<DraftSaved | DraftConflict> {
  const { project, grants } = input;
  if (!isOid(input.base)) throw new InvalidInputError('The form is missing the version it was based on. Reload the editor.');
  const content = normalizeDocumentSource(input.content);
  const { request, repository, head, path, current } = await openDraftDocument(deps, actor, project, input.number, input.path, grants);
  if (head !== input.base) return draftConflict(repository, project, actor, request, path, content, grants);
  assertChangeAllowed(actor, project, [{ path, before: current.source, after: content }]);
  await deps.linkGate?.assertEditAllowed(project, actor, [{ path, source: content }], draftDocuments(deps, project, request));
  const message = commitMessage(input.message, defaultMessage('Update', path));
  try {
    const result = await commitToDraft(deps, actor, project, repository, request, { path, content, before: current.classification, expectedOld: head, message });
    if (!result.changed || !result.commit) throw new InvalidInputError('The text is the same as the draft’s: there is nothing to save.');
    return { kind: 'saved', number: request.number, path, commit: result.commit };
  } catch (error) {
    if (error instanceof BranchMovedError) return draftConflict(repository, project, actor, request, path, content, grants);
    throw error;
  }
}

/**
 * One document's new text committed on the request's draft through the branch-move protocol, only if the draft is
 * still at `expectedOld` (BranchMovedError otherwise): audited as `document.proposed` (with `change: create` for a
 * new document) and `change_request.updated`, the request following its draft in the same transaction.
 */
export async function commitToDraft(
  deps: DraftEditDeps,
  actor: UserActor,
  project: ProjectRecord,
  repository: Repository,
  request: ChangeRequestView,
  edit: { path: string; content: string; /** The draft's version's classification; null: a new document. */ before: Classification | null; expectedOld: string; message: string },
) {
  const { path, content } = edit;
  const auditActor = { type: 'user' as const, id: actor.userId, label: actor.email };
  const target = changeRequestAuditTarget(project, request.number);
  return deps.branchMoves.commit(
    project,
    repository,
    { branch: request.branch, expectedOld: edit.expectedOld, mode: 'patch', changes: [{ path, content }], author: authorOf(actor), message: edit.message },
    {
      kind: 'save',
      actor: auditActor,
      events: (commit): AuditEventInput[] => {
        const from = edit.before;
        const to = classificationOf(content);
        const details: Record<string, string> = from === null ? { change: 'create', classification: to } : from !== to ? { from, to } : {};
        return [
          {
            orgId: project.orgId,
            actor: auditActor,
            action: 'document.proposed',
            target: { type: 'document', id: `${project.id}:${path}`, label: path },
            outcome: 'success',
            details: { commit, branch: request.branch, change_request: request.number, ...details },
          },
          { orgId: project.orgId, actor: auditActor, action: 'change_request.updated', target, outcome: 'success', details: { old: edit.expectedOld, head: commit } },
        ];
      },
      // the request follows its draft in the move's own transaction (the page after the redirect shows the new
      // head, approvals of the old one no longer counting); the change-requests listener then finds it done
      rows: async (trx, commit) => {
        await moveRequestHead(trx, { orgId: project.orgId, id: request.id }, { to: commit, actor: { userId: actor.userId, label: actor.email } });
      },
    },
  );
}

async function draftConflict(repository: Repository, project: ProjectRecord, actor: UserActor, request: ChangeRequestView, path: string, mine: string, grants: Grants): Promise<DraftConflict> {
  const head = await repository.headOf(request.branch);
  const current = head ? await documentAt(repository, head, path).catch(() => null) : null;
  // a version the author may no longer read answers exactly like a deleted or moved one
  if (!current || !can(actor, 'read', documentResource(project, path, current.classification, grants))) {
    return { kind: 'conflict', number: request.number, path, mine, head, current: 'missing', diff: diffLines('', mine) };
  }
  return { kind: 'conflict', number: request.number, path, mine, head, current: 'present', diff: diffLines(current.source, mine) };
}
