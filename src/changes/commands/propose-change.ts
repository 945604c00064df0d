/**
 * Propose: new text of a document (or a new document) committed to a new draft branch started from `base`, the
 * version the author opened, instead of publishing it: the draft of a change request. The same checks as a save
 * (change rules, the organization's link gate); protected main is what the change request's review answers.
 */
import type { UserActor } from '../../access/actor.ts';
import type { Grants } from '../../access/policy.ts';
import { PUBLISHED_BRANCH } from '../../content/published-branch.ts';
import { InvalidInputError, NotFoundError } from '../../errors.ts';
import { isOid } from '../../git/refs.ts';
import type { ProjectRecord } from '../../projects/projects.ts';
import {
  assertChangeAllowed,
  assertDocumentPath,
  assertMayEdit,
  assertPathFree,
  assertProjectEditor,
  commitMessage,
  commitProposal,
  defaultMessage,
  documentAt,
  normalizeDocumentSource,
  type EditDeps,
} from '../edit-steps.ts';

export interface ProposeChangeInput {
  project: ProjectRecord;
  grants: Grants;
  path: string;
  base: string | null;
  content: string;
  message: string;
  /** The document is new: its path must be free at `base`, as for a creation. */
  create?: boolean;
}

export async function proposeChange(deps: EditDeps, actor: UserActor, input: ProposeChangeInput): Promise<{ branch: string; commit: string }> {
  const { project, grants } = input;
  assertProjectEditor(project, actor);
  const path = assertDocumentPath(input.path);
  const content = normalizeDocumentSource(input.content);
  const repository = await deps.repositories.get(project);
  const base = input.create ? (isOid(input.base ?? '') ? input.base! : await repository.headOf(PUBLISHED_BRANCH)) : input.base;
  if (!base || !isOid(base)) throw new InvalidInputError('The form is missing the version it was based on. Reload the editor.');
  let before: string | null = null;
  if (input.create) {
    await assertPathFree(repository, project, actor, base, path, grants);
  } else {
    const current = await documentAt(repository, base, path).catch(() => null);
    if (!current) throw new NotFoundError();
    assertMayEdit(project, actor, path, current.classification, grants);
    before = current.source;
  }
  assertChangeAllowed(actor, project, [{ path, before, after: content }]);
  await deps.linkGate?.assertEditAllowed(project, actor, [{ path, source: content }]);
  const verb = input.create ? 'Create' : 'Update';
  return commitProposal(deps, project, repository, actor, {
    base,
    changes: [{ path, content }],
    message: commitMessage(input.message, defaultMessage(verb, path)),
    path,
    change: input.create ? 'create' : 'edit',
    unchanged: 'The text is the same as the published version: there is nothing to propose.',
  });
}
