/** Move: a document to a new path in one commit (the text unchanged), if the branch is still at `base`. */
import type { UserActor } from '../../access/actor.ts';
import type { Grants } from '../../access/policy.ts';
import { PUBLISHED_BRANCH } from '../../content/published-branch.ts';
import { InvalidInputError } from '../../errors.ts';
import type { ProjectRecord } from '../../projects/projects.ts';
import {
  assertChangeAllowed,
  assertDocumentPath,
  assertPathFree,
  authorOf,
  commitDocumentChange,
  commitMessage,
  loadForChange,
  savedOutcome,
  type EditDeps,
  type SaveSuccess,
} from '../edit-steps.ts';

export interface MoveDocumentInput {
  project: ProjectRecord;
  grants: Grants;
  path: string;
  newPath: string;
  base: string;
  message: string;
}

export async function moveDocument(deps: EditDeps, actor: UserActor, input: MoveDocumentInput): Promise<SaveSuccess> {
  const { project, grants } = input;
  const { repository, current } = await loadForChange(deps, project, actor, input.path, input.base, grants);
  const newPath = assertDocumentPath(input.newPath);
  if (newPath === input.path) throw new InvalidInputError('The new path is the same as the current one.');
  await assertPathFree(repository, project, actor, input.base, newPath, grants);
  assertChangeAllowed(actor, project, [
    { path: input.path, before: current.source, after: null },
    { path: newPath, before: null, after: current.source },
  ]);
  await deps.linkGate?.assertEditAllowed(project, actor, [
    { path: input.path, source: null },
    { path: newPath, source: current.source },
  ]);
  const result = await commitDocumentChange(
    deps,
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
  return savedOutcome(project, actor, newPath, current.source, result.commit!, result.changed, grants);
}
