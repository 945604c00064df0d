/**
 * Move: a document to a new path in one commit (the text unchanged), if the branch is still at `base`; or, with
 * `proposeMove`, the same commit on a new draft branch (protected main: the document needs review).
 */
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
  commitProposal,
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

/** The checks of a move, the same for publishing and proposing it; what to commit. */
async function prepareMove(deps: EditDeps, actor: UserActor, input: MoveDocumentInput) {
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
  const changes = [
    { path: input.path, delete: true as const },
    { path: newPath, content: current.source },
  ];
  return { repository, current, newPath, changes, message: commitMessage(input.message, `Move ${input.path} to ${newPath}`) };
}

export async function moveDocument(deps: EditDeps, actor: UserActor, input: MoveDocumentInput): Promise<SaveSuccess> {
  const { project, grants } = input;
  const { repository, current, newPath, changes, message } = await prepareMove(deps, actor, input);
  const result = await commitDocumentChange(
    deps,
    project,
    repository,
    actor,
    { branch: PUBLISHED_BRANCH, expectedOld: input.base, mode: 'patch', changes, author: authorOf(actor), message },
    { action: 'document.moved', path: newPath, details: { from: input.path } },
  );
  return savedOutcome(project, actor, newPath, current.source, result.commit!, result.changed, grants);
}

/** "Propose change" of a move: the move committed to a new draft branch started from `base`. */
export async function proposeMove(deps: EditDeps, actor: UserActor, input: MoveDocumentInput): Promise<{ branch: string; commit: string; newPath: string }> {
  const { repository, newPath, changes, message } = await prepareMove(deps, actor, input);
  const proposed = await commitProposal(deps, input.project, repository, actor, { base: input.base, changes, message, path: newPath, change: 'move', details: { from: input.path } });
  return { ...proposed, newPath };
}
