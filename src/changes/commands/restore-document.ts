/**
 * Restore: an old version's text becomes the current one as a new commit by the person restoring, based on the
 * branch head (a concurrent change wins and nothing is written), recorded in the audit log as a `document.saved`
 * with `restored_from` (through the branch-move protocol, branch-moves.ts: one transaction with the move), then
 * published. A document renamed since is restored at its current path; a deleted one is recreated at the path it
 * had, when that path is free (never over another document that took it since). The same checks as a save: the
 * change rules and the organization's link gate. When the document needs review (protected main), `proposeRestore`
 * commits the restore to a new draft branch instead, for a change request (edit-steps.ts commitProposal).
 * load (the version, as its reader) → authorize (edit, both versions) → change rules, link gate → commit with its
 * audit event.
 */
import type { UserActor } from '../../access/actor.ts';
import { authorize } from '../../access/authorize.ts';
import type { Grants } from '../../access/policy.ts';
import { PUBLISHED_BRANCH } from '../../content/published-branch.ts';
import { ConflictError, InvalidInputError } from '../../errors.ts';
import { BranchMovedError } from '../../git/errors.ts';
import type { ProjectRecord } from '../../projects/projects.ts';
import { reviewReason } from '../change-rules.ts';
import { assertChangeAllowed, assertPathFree, commitProposal, type EditDeps } from '../edit-steps.ts';
import type { ProjectHistory } from '../history.ts';

/** What a restore needs: the repositories, branch-move protocol and link gate of an edit, and the history to read versions from. */
export interface RestoreDeps extends Pick<EditDeps, 'repositories' | 'branchMoves' | 'linkGate'> {
  history: Pick<ProjectHistory, 'resolveCommit' | 'version'>;
}

/** A restore proposed instead of published: the draft branch it was committed to. */
export interface ProposedRestore {
  path: string;
  branch: string;
  commit: string;
}

export interface RestoreDocumentInput {
  project: ProjectRecord;
  grants: Grants;
  /** The version's commit as the address names it (7 to 40 hex digits of a commit of the published history). */
  commit: string;
  path: string;
  /** Why (the commit message and the audit event carry it); required. */
  reason: string;
}

export interface RestoreResult {
  /** Where the restored text now lives. */
  path: string;
  /** The new commit, or the head when the text was already current. */
  commit: string;
  changed: boolean;
}

/** "2026-05-15 14:03 UTC" */
export function restoreDate(time: Date): string {
  return `${time.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** The commit message of a restore: names the date and author of the version brought back. */
export function restoreMessage(time: Date, authorName: string): string {
  return `Restore version of ${restoreDate(time)} by ${authorName || 'unknown author'}`;
}

/**
 * Restores the version of `input.path` at `input.commit`. NotFoundError when the actor may not read it (now or
 * then) or the commit is not in the published history, ForbiddenError when they may read but not edit it or the
 * change rules refuse it (change-rules.ts, e.g. a member bringing back a version with a lower classification),
 * ConflictError when the branch moved meanwhile.
 */
export async function restoreDocument(deps: RestoreDeps, actor: UserActor, input: RestoreDocumentInput): Promise<RestoreResult> {
  const why = reasonOf(input);
  const { repository, head, version, target, bytes, commit } = await prepareRestore(deps, actor, input, { check: true });
  const { project } = input;
  try {
    const auditActor = { type: 'user' as const, id: actor.userId, label: actor.email };
    const result = await deps.branchMoves.commit(
      project,
      repository,
      {
        branch: PUBLISHED_BRANCH,
        expectedOld: head,
        mode: 'patch',
        changes: [{ path: target, content: bytes }],
        author: { name: actor.name, email: actor.email },
        message: `${restoreMessage(version.time, version.authorName)}\n\nReason: ${why}`,
      },
      {
        kind: 'restore',
        actor: auditActor,
        events: (newCommit) => ({
          orgId: project.orgId,
          actor: auditActor,
          action: 'document.saved',
          target: { type: 'document', id: `${project.id}:${target}`, label: target },
          outcome: 'success',
          details: { commit: newCommit, restored_from: commit, reason: why },
        }),
      },
    );
    return { path: target, commit: result.commit ?? head ?? '', changed: result.changed };
  } catch (error) {
    if (error instanceof BranchMovedError) {
      throw new ConflictError('Someone changed this project while you were restoring. Nothing was changed: open the history again and restore once more.');
    }
    throw error;
  }
}

/** "Propose change" of a restore: the restored text committed to a new draft branch started from main's head. */
export async function proposeRestore(deps: RestoreDeps, actor: UserActor, input: RestoreDocumentInput): Promise<ProposedRestore> {
  const why = reasonOf(input);
  const { repository, head, version, target, bytes, commit } = await prepareRestore(deps, actor, input, { check: true });
  if (!head) throw new ConflictError('The project has no published version to propose a change to.');
  const proposed = await commitProposal(deps, input.project, repository, actor, {
    base: head,
    changes: [{ path: target, content: bytes }],
    message: `${restoreMessage(version.time, version.authorName)}\n\nReason: ${why}`,
    path: target,
    change: 'restore',
    details: { restored_from: commit, reason: why },
    unchanged: 'This version is the current text already: there is nothing to propose.',
  });
  return { path: target, ...proposed };
}

/**
 * Why restoring this version directly is refused (protected main: the current or the restored version needs
 * review), or null. Read by the confirmation page, which then offers "Propose change".
 */
export async function restoreReview(deps: RestoreDeps, actor: UserActor, input: Omit<RestoreDocumentInput, 'reason'>): Promise<string | null> {
  const { target, before, content } = await prepareRestore(deps, actor, { ...input, reason: '' }, { check: false });
  return reviewReason({ path: target, before, after: content }, await deps.branchMoves.reviewSettings(input.project.orgId));
}

function reasonOf(input: RestoreDocumentInput): string {
  const why = input.reason.trim();
  if (why === '') throw new InvalidInputError('Give a reason for restoring this version.');
  return why;
}

/**
 * What a restore commits, after the checks of a save (authorize both versions, a free path for a deleted
 * document, the change rules, the link gate) when `check`.
 */
async function prepareRestore(deps: RestoreDeps, actor: UserActor, input: RestoreDocumentInput, options: { check: boolean }) {
  const { project, grants, path } = input;
  const reader = { actor, project, grants };
  const commit = await deps.history.resolveCommit(reader, input.commit);
  const version = await deps.history.version(reader, commit, path);
  const target = version.currentPath ?? path;
  // the reader may read both (history.version checked): a role that may not edit either one answers 403
  for (const [classification, at] of [[version.rendered.classification, path], [version.currentClassification, target]] as const) {
    const document = { kind: 'document' as const, orgId: project.orgId, classification, projectId: project.id, path: at, grants };
    authorize(actor, 'edit', document, 'You may read this document but not change it.');
  }
  const repository = await deps.repositories.get(project);
  const head = await repository.headOf(PUBLISHED_BRANCH);
  const bytes = await repository.readBlob(version.blob);
  const content = bytes.toString('utf8');
  const currentEntry = head ? await repository.entryAt(head, target) : null;
  const before = currentEntry?.type === 'blob' ? (await repository.readBlob(currentEntry.oid)).toString('utf8') : null;
  if (options.check) {
    // a deleted document comes back only to a free path: never over another document now there
    if (version.currentPath === null && head) await assertPathFree(repository, project, actor, head, target, grants);
    // the change rules, as for a save: e.g. bringing back a version with a lower classification is a declassification
    assertChangeAllowed(actor, project, [{ path: target, before, after: content }]);
    await deps.linkGate?.assertEditAllowed(project, actor, [{ path: target, source: content }]);
  }
  return { repository, head, version, target, content, bytes, before, commit };
}
