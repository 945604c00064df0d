/** Delete: a document in one commit, if the branch is still at `base`. Returns the new head. */
import type { UserActor } from '../../access/actor.ts';
import type { Grants } from '../../access/policy.ts';
import { PUBLISHED_BRANCH } from '../../content/published-branch.ts';
import type { ProjectRecord } from '../../projects/projects.ts';
import { assertChangeAllowed, authorOf, commitDocumentChange, commitMessage, defaultMessage, loadForChange, type EditDeps } from '../edit-steps.ts';

export interface DeleteDocumentInput {
  project: ProjectRecord;
  grants: Grants;
  path: string;
  base: string;
  message: string;
}

export async function deleteDocument(deps: EditDeps, actor: UserActor, input: DeleteDocumentInput): Promise<{ commit: string | null }> {
  const { project, grants } = input;
  const { repository, current } = await loadForChange(deps, project, actor, input.path, input.base, grants);
  assertChangeAllowed(actor, project, [{ path: input.path, before: current.source, after: null }]);
  await deps.linkGate?.assertEditAllowed(project, actor, [{ path: input.path, source: null }]);
  const result = await commitDocumentChange(
    deps,
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
