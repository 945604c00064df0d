/**
 * Delete: a document in one commit, if the branch is still at `base`; or, with `proposeDelete`, the same commit on
 * a new draft branch (protected main: the document needs review).
 */
import type { UserActor } from '../../access/actor.ts';
import type { Grants } from '../../access/policy.ts';
import { PUBLISHED_BRANCH } from '../../content/published-branch.ts';
import type { ProjectRecord } from '../../projects/projects.ts';
import { assertChangeAllowed, authorOf, commitDocumentChange, commitMessage, commitProposal, defaultMessage, loadForChange, type EditDeps } from '../edit-steps.ts';

export interface DeleteDocumentInput {
  project: ProjectRecord;
  grants: Grants;
  path: string;
  base: string;
  message: string;
}

/** The checks of a deletion, the same for publishing and proposing it. */
async function prepareDelete(deps: EditDeps, actor: UserActor, input: DeleteDocumentInput) {
  const { project, grants } = input;
  const { repository, current } = await loadForChange(deps, project, actor, input.path, input.base, grants);
  assertChangeAllowed(actor, project, [{ path: input.path, before: current.source, after: null }]);
  await deps.linkGate?.assertEditAllowed(project, actor, [{ path: input.path, source: null }]);
  return { repository, message: commitMessage(input.message, defaultMessage('Delete', input.path)) };
}

/** Deletes; returns the new head. */
export async function deleteDocument(deps: EditDeps, actor: UserActor, input: DeleteDocumentInput): Promise<{ commit: string | null }> {
  const { repository, message } = await prepareDelete(deps, actor, input);
  const result = await commitDocumentChange(
    deps,
    input.project,
    repository,
    actor,
    { branch: PUBLISHED_BRANCH, expectedOld: input.base, mode: 'patch', changes: [{ path: input.path, delete: true }], author: authorOf(actor), message },
    { action: 'document.deleted', path: input.path },
  );
  return { commit: result.commit };
}

/** "Propose change" of a deletion: the deletion committed to a new draft branch started from `base`. */
export async function proposeDelete(deps: EditDeps, actor: UserActor, input: DeleteDocumentInput): Promise<{ branch: string; commit: string }> {
  const { repository, message } = await prepareDelete(deps, actor, input);
  return commitProposal(deps, input.project, repository, actor, { base: input.base, changes: [{ path: input.path, delete: true }], message, path: input.path, change: 'delete' });
}
