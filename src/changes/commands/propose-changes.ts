/**
 * Propose several documents at once (the REST API's change request "with edits"): new texts, new documents and
 * deletions committed together to one new draft branch started from `base`, for one change request that spans
 * them (the data-handling policy, the DPA annex and the trust page in one reviewed change). Each document gets
 * the checks its own save, creation or deletion would get — who may edit it (a hidden one is missing), a free
 * path for a new one, the change rules over all of them together, the organization's link gate — and one commit
 * holds them all.
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
  documentAt,
  normalizeDocumentSource,
  type EditDeps,
} from '../edit-steps.ts';

/** Documents one proposal may change (a larger change is a pushed branch). */
export const MAX_PROPOSED_DOCUMENTS = 50;

export interface ProposedEdit {
  path: string;
  /** The document's complete new text; null deletes it. */
  content: string | null;
}

export interface ProposeChangesInput {
  project: ProjectRecord;
  grants: Grants;
  /** The published commit the edits are based on (null: the published head). */
  base: string | null;
  edits: readonly ProposedEdit[];
  message: string;
}

export async function proposeChanges(deps: EditDeps, actor: UserActor, input: ProposeChangesInput): Promise<{ branch: string; commit: string }> {
  const { project, grants } = input;
  assertProjectEditor(project, actor);
  if (input.edits.length === 0) throw new InvalidInputError('Name at least one document to change.');
  if (input.edits.length > MAX_PROPOSED_DOCUMENTS) throw new InvalidInputError(`A proposal changes at most ${MAX_PROPOSED_DOCUMENTS} documents; push a branch for a larger change.`);
  const repository = await deps.repositories.get(project);
  const base = input.base ?? (await repository.headOf(PUBLISHED_BRANCH));
  if (!base || !isOid(base)) throw new InvalidInputError('The version the edits are based on is missing.');
  const seen = new Set<string>();
  const rules: { path: string; before: string | null; after: string | null }[] = [];
  const changes: ({ path: string; content: string } | { path: string; delete: true })[] = [];
  for (const edit of input.edits) {
    const path = assertDocumentPath(edit.path);
    if (seen.has(path)) throw new InvalidInputError(`${path} is named twice.`);
    seen.add(path);
    const current = await documentAt(repository, base, path).catch(() => null);
    if (current) {
      assertMayEdit(project, actor, path, current.classification, grants);
    } else {
      // deleting what is not there (or hidden) finds nothing; a new document needs a free path
      if (edit.content === null) throw new NotFoundError();
      await assertPathFree(repository, project, actor, base, path, grants);
    }
    const content = edit.content === null ? null : normalizeDocumentSource(edit.content);
    rules.push({ path, before: current?.source ?? null, after: content });
    changes.push(content === null ? { path, delete: true } : { path, content });
  }
  assertChangeAllowed(actor, project, rules);
  await deps.linkGate?.assertEditAllowed(project, actor, rules.map((r) => ({ path: r.path, source: r.after })));
  const paths = rules.map((r) => r.path);
  return commitProposal(deps, project, repository, actor, {
    base,
    changes,
    message: commitMessage(input.message, paths.length === 1 ? `Update ${paths[0]}` : `Update ${paths.length} documents`),
    path: paths[0]!,
    change: 'edit',
    details: paths.length > 1 ? { documents: paths.join(', ').slice(0, 1000) } : {},
    unchanged: 'The edits leave every document as published: there is nothing to propose.',
  });
}
