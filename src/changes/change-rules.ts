/**
 * What a change may do to documents: the one set of rules for every way a document changes — an editor save,
 * create, move or delete, a restore, a push (every new commit, on any ref) and, when merges come, a merge. Pure:
 * callers read the old and new versions (git, the form) and hand them in with the actor's rights; the answer is
 * a list of problems, each naming the file (and line), empty when the change may happen.
 *
 * The rules:
 *  - a document's classification before AND after the change must be one the actor may change (read and edit):
 *    nobody edits, deletes, moves, creates or restores a document above their clearance, nor adds one;
 *  - lowering a classification (e.g. internal → public) is a declassification: manager and above only;
 *  - a front matter that cannot be read counts as restricted (fail closed, as when publishing);
 *  - on the published branch the new text's front matter must be valid (`file:line: message`);
 *  - protected main: on the published branch, a change touching a document that needs review (approval-rules.ts:
 *    confidential, restricted, `approvers:` in its front matter, or a classification the organization turned
 *    review on for; the old OR the new version decides) is refused — it must go through a change request, whose
 *    merge is the one way such a change reaches main. The callers that move main hand in `rights.review` (the
 *    organization's settings); only a merge of an approved change request and an import leave it out;
 *  - files: a safe path, no symbolic links or submodules, at most MAX_FILE_BYTES (see `fileProblem`).
 */
import { classificationOf, isStricter } from '../content/classification.ts';
import { requirementOf, type ReviewSettings, type TouchedVersion } from './approval-rules.ts';
import { isDocumentPath } from '../content/document-path.ts';
import { parseFrontMatter } from '../content/front-matter.ts';
import type { Classification, ContentError } from '../content/types.ts';
import { repoPathProblem } from '../git/paths.ts';

/** Largest file a change may add (a push; the editor's own form limit is lower). */
export const MAX_FILE_BYTES = 5 * 1024 * 1024;

/** The actor's rights over documents, from the permission policy (access/policy.ts). */
export interface ChangeRights {
  /** May the actor change (edit, add, delete, move) a document of this classification? */
  mayChange(classification: Classification): boolean;
  /** May the actor lower a document's classification from `from` to `to`? */
  mayDeclassify(from: Classification, to: Classification): boolean;
  /**
   * Protected main: the organization's review settings (approval-rules.ts effectiveSettings). When present, a
   * change of the published branch touching a document that needs review is refused. Absent only for the paths
   * that are not direct changes: the merge of an approved change request, an import.
   */
  review?: ReviewSettings;
}

/** One document's change: its text before (null: new) and after (null: deleted). */
export interface DocumentChange {
  path: string;
  before: string | null;
  after: string | null;
}

/** A refused change: front matter errors (file and line) or a rule the actor's role breaks. */
export type ChangeProblem =
  | { kind: 'front-matter'; path: string; errors: ContentError[] }
  | { kind: 'classification'; path: string; message: string }
  /** Protected main: the document needs review, so the change must be proposed as a change request. */
  | { kind: 'review'; path: string; message: string };

/**
 * Problems of one document change. `publishedBranch`: the change lands on the published branch, where the new
 * front matter must also be valid (elsewhere an unreadable one only counts as restricted).
 */
export function documentChangeProblems(rights: ChangeRights, change: DocumentChange, options: { publishedBranch: boolean }): ChangeProblem[] {
  const problems: ChangeProblem[] = [];
  const before = change.before === null ? null : classificationOf(change.before);
  let after: Classification | null = null;
  if (change.after !== null) {
    const parsed = parseFrontMatter(change.path, change.after);
    if (options.publishedBranch && parsed.errors.length > 0) problems.push({ kind: 'front-matter', path: change.path, errors: parsed.errors });
    after = parsed.data?.classification ?? 'restricted';
  }
  for (const classification of [before, after]) {
    if (classification !== null && !rights.mayChange(classification)) {
      problems.push({ kind: 'classification', path: change.path, message: `your role may not change a document classified ${classification}` });
      return problems;
    }
  }
  if (before !== null && after !== null && isStricter(before, after) && !rights.mayDeclassify(before, after)) {
    problems.push({ kind: 'classification', path: change.path, message: `your role may not lower the classification from ${before} to ${after}` });
  }
  if (options.publishedBranch && rights.review) {
    const reason = reviewReason(change, rights.review);
    if (reason) problems.push({ kind: 'review', path: change.path, message: reason });
  }
  return problems;
}

/** A document version as the approval rules read it: its classification and `approvers:` (unreadable: restricted). */
export function touchedVersion(path: string, text: string): TouchedVersion {
  const data = parseFrontMatter(path, text).data;
  return { classification: data?.classification ?? 'restricted', ...(data?.approvers && data.approvers.length > 0 ? { approvers: data.approvers } : {}) };
}

/**
 * Why publishing this change of one document directly is refused (protected main), or null when it needs no
 * review. The old and the new version both count: lowering a confidential document to public needs review too.
 */
export function reviewReason(change: DocumentChange, settings: ReviewSettings): string | null {
  if (!isDocumentPath(change.path)) return null;
  const versions = [change.before, change.after].filter((t): t is string => t !== null).map((text) => touchedVersion(change.path, text));
  const requirement = requirementOf([{ path: change.path, before: versions[0] ?? null, after: versions[1] ?? null }], settings);
  const needs: string[] = [];
  if (requirement.approvals > 0) {
    const matches = (c: Classification) => settings[c].approvals === requirement.approvals && settings[c].minimumRole === requirement.minimumRole;
    const strictest = versions.map((v) => v.classification).find(matches) ?? versions.map((v) => v.classification).sort((a, b) => settings[b].approvals - settings[a].approvals)[0]!;
    needs.push(`it is ${strictest} and needs ${requirement.approvals} approval${requirement.approvals === 1 ? '' : 's'} by ${/^[aeiou]/.test(requirement.minimumRole) ? 'an' : 'a'} ${requirement.minimumRole} or above`);
  }
  if (requirement.approverLists.length > 0) needs.push(`its front matter names approvers (${requirement.approverLists[0]!.approvers.join(', ')})`);
  return needs.length === 0 ? null : `needs review before it is published: ${needs.join(' and ')}`;
}

/** Problems of several document changes (a move is a delete and a create: both are checked). */
export function changeProblems(rights: ChangeRights, changes: readonly DocumentChange[], options: { publishedBranch: boolean }): ChangeProblem[] {
  return changes.flatMap((change) => (isDocumentPath(change.path) ? documentChangeProblems(rights, change, options) : []));
}

/** The review problems among `problems` (protected main). */
export function reviewProblems(problems: readonly ChangeProblem[]): Extract<ChangeProblem, { kind: 'review' }>[] {
  return problems.filter((p): p is Extract<ChangeProblem, { kind: 'review' }> => p.kind === 'review');
}

/** Problems as `path: message` / `file:line: message` lines (push output, editor errors). */
export function problemLines(problems: readonly ChangeProblem[]): string[] {
  return problems.flatMap((problem) =>
    problem.kind === 'front-matter' ? problem.errors.map((e) => `${e.file}:${e.line}: ${e.message}`) : [`${problem.path}: ${problem.message}`],
  );
}

/** A file a change adds, as git stores it. */
export interface FileEntry {
  path: string;
  /** git's mode: 100644/100755 files, 120000 links, 160000 submodules. */
  mode: string;
  size?: number;
}

/** Why a changed file is refused (path, type or size), or null. */
export function fileProblem(entry: FileEntry, maxFileBytes = MAX_FILE_BYTES): string | null {
  const pathIssue = repoPathProblem(entry.path);
  if (pathIssue) return `invalid file name: ${pathIssue}`;
  if (entry.mode === '120000') return 'symbolic links are not allowed';
  if (entry.mode === '160000') return 'submodules are not allowed';
  if (entry.size !== undefined && entry.size > maxFileBytes) {
    return `file is ${megabytes(entry.size)} MB, over the ${megabytes(maxFileBytes)} MB limit`;
  }
  return null;
}

const megabytes = (bytes: number): string => (bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, '');
