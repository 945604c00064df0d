/**
 * Save: new text of an existing document as one commit on the published branch, based on the version the author
 * opened. When the branch has moved since, nothing is written and the conflict (with a diff against the current
 * version) comes back. authorize → load → change rules → commit with its audit events (one transaction, through
 * the branch-move protocol) → publish and listeners.
 */
import type { UserActor } from '../../access/actor.ts';
import type { Grants } from '../../access/policy.ts';
import { PUBLISHED_BRANCH } from '../../content/published-branch.ts';
import { InvalidInputError, NotFoundError } from '../../errors.ts';
import { withEditorialTrailer } from '../../evidence/editorial-trailer.ts';
import { BranchMovedError } from '../../git/errors.ts';
import { isOid } from '../../git/refs.ts';
import type { ProjectRecord } from '../../projects/projects.ts';
import { classificationOf } from '../../content/classification.ts';
import {
  assertChangeAllowed,
  assertDocumentPath,
  assertMayEdit,
  assertMember,
  assertProjectEditor,
  assertValidFrontMatter,
  authorOf,
  commitDocumentChange,
  commitMessage,
  conflictOutcome,
  defaultMessage,
  documentAt,
  normalizeDocumentSource,
  savedOutcome,
  type EditDeps,
  type SaveOutcome,
} from '../edit-steps.ts';

export interface SaveDocumentInput {
  project: ProjectRecord;
  grants: Grants;
  path: string;
  /** The head the author's text is based on. */
  base: string;
  content: string;
  message: string;
  /** No re-acknowledgment (a commit trailer). */
  editorial?: boolean;
}

export async function saveDocument(deps: EditDeps, actor: UserActor, input: SaveDocumentInput): Promise<SaveOutcome> {
  const { project, grants } = input;
  assertMember(project, actor);
  const path = assertDocumentPath(input.path);
  if (!isOid(input.base)) throw new InvalidInputError('The form is missing the version it was based on. Reload the editor.');
  const content = normalizeDocumentSource(input.content);
  const repository = await deps.repositories.get(project);
  const head = await repository.headOf(PUBLISHED_BRANCH);
  if (head !== input.base) {
    // Stale: nothing is written, the author gets their text back (the current version only if they may read it).
    assertProjectEditor(project, actor);
    assertValidFrontMatter(path, content);
    return conflictOutcome(repository, project, actor, path, content, grants);
  }
  const current = await documentAt(repository, head, path);
  if (!current) throw new NotFoundError();
  assertMayEdit(project, actor, path, current.classification, grants);
  assertChangeAllowed(actor, project, [{ path, before: current.source, after: content }]);
  await deps.linkGate?.assertEditAllowed(project, actor, [{ path, source: content }]);

  const written = commitMessage(input.message, defaultMessage('Update', path));
  // the branch-move listener of acknowledgments reads the trailer (evidence/acknowledgment-versions.ts)
  const message = input.editorial ? withEditorialTrailer(written) : written;
  try {
    const result = await commitDocumentChange(
      deps,
      project,
      repository,
      actor,
      { branch: PUBLISHED_BRANCH, expectedOld: input.base, mode: 'patch', changes: [{ path, content }], author: authorOf(actor), message },
      { action: 'document.saved', path, classification: { from: current.classification, to: classificationOf(content) } },
    );
    return savedOutcome(project, actor, path, content, result.commit!, result.changed, grants);
  } catch (error) {
    if (error instanceof BranchMovedError) return conflictOutcome(repository, project, actor, path, content, grants);
    throw error;
  }
}
