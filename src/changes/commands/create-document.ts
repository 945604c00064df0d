/**
 * Create: a document at a path where none exists, as one commit on the published branch (any head will do:
 * nothing of the new file is in it, so a moved branch is simply tried again).
 */
import type { UserActor } from '../../access/actor.ts';
import type { Grants } from '../../access/policy.ts';
import { PUBLISHED_BRANCH } from '../../content/published-branch.ts';
import { BranchMovedError } from '../../git/errors.ts';
import type { ProjectRecord } from '../../projects/projects.ts';
import {
  assertPathFree,
  assertProjectEditor,
  authorOf,
  checkedNewDocument,
  commitDocumentChange,
  CREATE_ATTEMPTS,
  savedOutcome,
  type EditDeps,
  type SaveSuccess,
} from '../edit-steps.ts';

export interface CreateDocumentInput {
  project: ProjectRecord;
  grants: Grants;
  path: string;
  content: string;
  message: string;
}

export async function createDocument(deps: EditDeps, actor: UserActor, input: CreateDocumentInput): Promise<SaveSuccess> {
  const { project, grants } = input;
  assertProjectEditor(project, actor);
  const { path, content, message } = await checkedNewDocument(deps, actor, project, input);
  const repository = await deps.repositories.get(project);
  for (let attempt = 1; ; attempt++) {
    const head = await repository.headOf(PUBLISHED_BRANCH);
    if (head) await assertPathFree(repository, project, actor, head, path, grants);
    try {
      const result = await commitDocumentChange(
        deps,
        project,
        repository,
        actor,
        { branch: PUBLISHED_BRANCH, expectedOld: head, mode: 'patch', changes: [{ path, content }], author: authorOf(actor), message },
        { action: 'document.created', path },
      );
      return savedOutcome(project, actor, path, content, result.commit!, result.changed, grants);
    } catch (error) {
      if (!(error instanceof BranchMovedError) || attempt >= CREATE_ATTEMPTS) throw error;
    }
  }
}
