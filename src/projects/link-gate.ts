/**
 * The organization setting "refuse changes that add broken links", applied the same way to a push and to an
 * editor save: the link checker (content/link-check.ts) runs on the project as the change would leave it, and the
 * problems the change adds (`addedLinkProblems`: those the published snapshot did not already have) are the
 * answer (for an edit of a draft, those it adds to the project as the draft has it). When the setting is on and
 * that list is not empty the change is refused, with the problems as
 * `file:line: message` lines; when it is off, a push shows them as warnings (push-link-check.ts) and the editor
 * saves (the problems page lists them).
 */
import type { UserActor } from '../access/actor.ts';
import { clearanceFor } from '../access/policy.ts';
import { isDocumentPath } from '../content/document-path.ts';
import { addedLinkProblems, checkProject, formatLinkProblem, type CheckedDocument, type LinkProblem } from '../content/link-check.ts';
import type { Db } from '../db/connection.ts';
import { ForbiddenError } from '../errors.ts';
import { refusesBrokenLinks } from '../organizations/settings.ts';
import { budgets, renderWithinBudget } from './budget-pool.ts';
import type { ProjectRecord } from './projects.ts';
import type { Snapshot } from './snapshot.ts';

/** Problems listed one by one in a refusal or warning; the rest are counted. */
export const LISTED_PROBLEMS = 20;

/** The organization refuses changes that add broken links, and this one does: nothing was saved. */
export class BrokenLinksRefusedError extends ForbiddenError {
  constructor(readonly problems: readonly LinkProblem[]) {
    super(['Nothing was saved: this organization refuses changes that add broken links, and this one adds:', ...refusalLines(problems)].join('\n'));
  }
}

/** The problems as `file:line: message` lines, at most LISTED_PROBLEMS of them and a count of the rest. */
export function refusalLines(problems: readonly LinkProblem[]): string[] {
  const lines = problems.slice(0, LISTED_PROBLEMS).map(formatLinkProblem);
  if (problems.length > LISTED_PROBLEMS) lines.push(`… and ${problems.length - LISTED_PROBLEMS} more`);
  return lines;
}

/** One document of an editor change: its new text, or null when the change removes it. */
export interface EditedDocument {
  path: string;
  source: string | null;
}

/**
 * The link problems an editor change adds, as the editor may know them: the project is the documents of their
 * clearance (a document they may not read is missing for them, as on their problems page, so no answer reveals
 * that it exists), with the changed documents rendered anew. `base`: documents already changed where the edit is
 * made (a draft's own documents, against the published ones): the problems are those the edit adds to the project
 * as the draft has it, so a draft's document may link to another document the same draft adds.
 */
export async function linkProblemsOfEdit(
  snapshot: Snapshot,
  clearance: Parameters<Snapshot['viewFor']>[0],
  changes: readonly EditedDocument[],
  base: readonly EditedDocument[] = [],
): Promise<LinkProblem[]> {
  const view = snapshot.viewFor(clearance);
  const documents = new Map<string, CheckedDocument>();
  for (const doc of view.documents.values()) documents.set(doc.path, { path: doc.path, links: doc.meta.links, anchors: doc.meta.anchors });
  await applyEdits(documents, base);
  const before = base.length === 0 ? [...snapshot.linkProblemsFor(clearance).values()].flat() : checkProject([...documents.values()], snapshot.attachments.keys());
  await applyEdits(documents, changes);
  return addedLinkProblems(checkProject([...documents.values()], snapshot.attachments.keys()), before);
}

/** `documents` as the edits leave them: each changed document rendered anew, a removed one gone. */
async function applyEdits(documents: Map<string, CheckedDocument>, edits: readonly EditedDocument[]): Promise<void> {
  for (const edit of edits) {
    if (!isDocumentPath(edit.path)) continue;
    if (edit.source === null) {
      documents.delete(edit.path);
      continue;
    }
    const rendered = await renderWithinBudget(edit.path, edit.source, { runMs: budgets.publishRenderMs });
    documents.set(edit.path, { path: edit.path, links: rendered.links, anchors: rendered.anchors });
  }
}

/** The setting, read per change (an admin's change applies to the next save and push). */
export class LinkGate {
  constructor(
    private readonly db: Db,
    private readonly published: Pick<{ snapshotOf(projectId: string): Snapshot | null }, 'snapshotOf'>,
  ) {}

  /** Whether the project's organization refuses changes that add broken links. */
  refuses(project: Pick<ProjectRecord, 'orgId'>): Promise<boolean> {
    return refusesBrokenLinks(this.db, project.orgId);
  }

  /**
   * Throws BrokenLinksRefusedError when the organization refuses changes that add broken links and this editor
   * change adds some. Nothing is rendered when the setting is off.
   */
  async assertEditAllowed(
    project: ProjectRecord,
    actor: UserActor,
    changes: readonly EditedDocument[],
    /** Where the edit is made in a draft: the draft's own documents (read only when the setting is on). */
    base?: () => Promise<readonly EditedDocument[]>,
  ): Promise<void> {
    if (!(await this.refuses(project))) return;
    const snapshot = this.published.snapshotOf(project.id);
    if (!snapshot) return;
    const edited = new Set(changes.map((change) => change.path));
    const draft = base ? (await base()).filter((doc) => !edited.has(doc.path)) : [];
    const problems = await linkProblemsOfEdit(snapshot, clearanceFor(actor, project.orgId), changes, draft);
    if (problems.length > 0) throw new BrokenLinksRefusedError(problems);
  }
}
