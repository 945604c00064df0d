/**
 * A new document in the draft of an open change request (issue #13: one browser proposal spanning several
 * documents, some of them new — "the data-handling policy, the DPA annex and the trust page in one reviewed
 * change"). authorize → the path free in the draft → change rules → one commit on the draft through the
 * branch-move protocol (commitToDraft: audited as `document.proposed` with `change: create` and
 * `change_request.updated`, the request following its draft) → listeners. Nothing of the new file is in the draft
 * yet, so a draft that moved meanwhile is simply tried again, as a creation on main is.
 *
 * Who may: as for saving to the draft (commands/save-to-draft.ts). Something in the way that the person may not
 * read (a hidden document, a folder, a file that is not a document) gets the one generic refusal of assertPathFree:
 * adding a document cannot confirm that a hidden one exists.
 */
import type { UserActor } from '../../access/actor.ts';
import type { Grants } from '../../access/policy.ts';
import { ConflictError, InvalidInputError } from '../../errors.ts';
import { BranchMovedError } from '../../git/errors.ts';
import type { ProjectRecord } from '../../projects/projects.ts';
import { assertPathFree, checkedNewDocument, CREATE_ATTEMPTS } from '../edit-steps.ts';
import { commitToDraft, draftDocuments, openDraftRequest, type DraftEditDeps, type DraftSaved } from './save-to-draft.ts';

export interface CreateInDraftInput {
  project: ProjectRecord;
  grants: Grants;
  /** The change request whose draft gets the document. */
  number: number;
  path: string;
  content: string;
  message: string;
}

export async function createInDraft(deps: DraftEditDeps, actor: UserActor, input: CreateInDraftInput): Promise<DraftSaved> {
  const { project, grants } = input;
  const request = await openDraftRequest(deps, actor, project, input.number, grants);
  const { path, content, message } = await checkedNewDocument(deps, actor, project, input, draftDocuments(deps, project, request));
  const repository = await deps.repositories.get(project);
  for (let attempt = 1; ; attempt++) {
    const head = await repository.headOf(request.branch);
    if (!head) throw new ConflictError('The draft’s branch is gone. Nothing was saved.');
    await assertPathFree(repository, project, actor, head, path, grants);
    try {
      const result = await commitToDraft(deps, actor, project, repository, request, { path, content, before: null, expectedOld: head, message });
      if (!result.commit) throw new InvalidInputError('Nothing to save.');
      return { kind: 'saved', number: request.number, path, commit: result.commit };
    } catch (error) {
      if (!(error instanceof BranchMovedError) || attempt >= CREATE_ATTEMPTS) throw error;
    }
  }
}
