/**
 * Propose: new text of a document (or a new document) committed to a new draft branch started from `base`, the
 * version the author opened, instead of publishing it: the draft of a change request. The same checks as a save.
 */
import { randomBytes } from 'node:crypto';
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
  authorOf,
  commitMessage,
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
  const who = actor.email.split('@')[0]!.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'draft';
  const branch = `draft/${who}/${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const auditActor = { type: 'user' as const, id: actor.userId, label: actor.email };
  const verb = input.create ? 'Create' : 'Update';
  const result = await deps.branchMoves.commit(
    project,
    repository,
    { branch, expectedOld: null, startFrom: base, mode: 'patch', changes: [{ path, content }], author: authorOf(actor), message: commitMessage(input.message, defaultMessage(verb, path)) },
    {
      kind: 'save',
      actor: auditActor,
      events: (commit) => ({ orgId: project.orgId, actor: auditActor, action: 'document.proposed', target: { type: 'document', id: `${project.id}:${path}`, label: path }, outcome: 'success', details: { commit, branch } }),
    },
  );
  if (!result.changed || !result.commit) throw new InvalidInputError('The text is the same as the published version: there is nothing to propose.');
  return { branch, commit: result.commit };
}
