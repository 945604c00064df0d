/**
 * The publish gate: the rules a change must pass to reach the published branch, for the paths where a whole tree
 * arrives at once — the merge of a change request (and, through the same functions, what a push checks). A rule
 * enforced on push holds for save, restore and merge, because each path asks the same rule functions:
 *
 * | rule | written once in | push | editor save/create/move/delete, proposals, restore | merge |
 * |---|---|---|---|---|
 * | files: safe path, no links or submodules, size (`fileProblem`) | change-rules.ts | every new commit (git/push-checks.ts) | the editor writes only documents within its form limit (edit-steps.ts) | every file the merge changes on main (here) |
 * | documents: classification rights, declassification, valid front matter (`changeProblems`) | change-rules.ts | every new commit; front matter on main | `assertChangeAllowed` (edit-steps.ts) | every document the merge changes on main (here) |
 * | links: the organization's "refuse changes that add broken links" | content/link-check.ts `addedLinkProblems` | the pushed tree of main (projects/push-link-check.ts `newLinkProblems`) | `LinkGate.assertEditAllowed` (projects/link-gate.ts) | the merged tree (here, with `newLinkProblems` as for a push) |
 * | protected main (`reviewReason`) | change-rules.ts | main's changes | BranchMoves.commit | met by the change request's verdict |
 *
 * A draft branch may hold what main may not (a push to a draft is checked for files and classifications, not for
 * links; a file may predate a rule or have come in by other means): the merge is where it is stopped.
 */
import type { UserActor } from '../access/actor.ts';
import { can, type Grants } from '../access/policy.ts';
import { classificationOf as classificationOfSource } from '../content/classification.ts';
import { isDocumentPath, isRegularFileMode } from '../content/document-path.ts';
import { formatLinkProblem, type LinkProblem } from '../content/link-check.ts';
import type { Classification } from '../content/types.ts';
import type { Repository, TreeChange } from '../git/repository.ts';
import { LISTED_PROBLEMS, type LinkGate } from '../projects/link-gate.ts';
import type { ProjectRecord } from '../projects/projects.ts';
import { MAX_REFUSAL_CHECKED, newLinkProblems } from '../projects/push-link-check.ts';
import type { Snapshot } from '../projects/snapshot.ts';
import { changeProblems, fileProblem, problemLines, type DocumentChange } from './change-rules.ts';
import { ChangeRefusedError, changeRights } from './edit-steps.ts';

/** What the gate reads besides git: the organization's link setting and the published snapshots. */
export interface PublishGateDeps {
  linkGate?: Pick<LinkGate, 'refuses'> | undefined;
  published?: { snapshotOf(projectId: string): Snapshot | null } | undefined;
}

/** Documents larger than this are not read for the change rules (the file rule refuses them first). */
const MAX_READ_BYTES = 5 * 1024 * 1024;

/**
 * Every reason the tree `tree` may not replace `base` on the published branch for `actor`, as lines naming the
 * file (and line): file rules, change rules (classification rights and front matter, not protected main: the
 * caller's review verdict stands for it), and — when the organization refuses them — the link problems the tree
 * adds. A link problem in a document the actor may not read is counted, never named.
 */
export async function treeProblems(
  deps: PublishGateDeps,
  project: ProjectRecord,
  repository: Repository,
  actor: UserActor,
  grants: Grants,
  change: { base: string; tree: string },
): Promise<string[]> {
  const changes = await repository.diffTrees(change.base, change.tree);
  const lines: string[] = [];
  const added = changes.filter((c) => c.status !== 'D');
  const sizes = await repository.objectSizes(added.filter((c) => isRegularFileMode(c.newMode)).map((c) => c.newOid));
  const tooLarge = new Set<string>();
  for (const c of added) {
    const problem = fileProblem({ path: c.path, mode: c.newMode, ...(isRegularFileMode(c.newMode) ? { size: sizes.get(c.newOid) ?? 0 } : {}) });
    if (problem) {
      lines.push(`${c.path}: ${problem}`);
      tooLarge.add(c.path);
    }
  }
  const documents = changes.filter((c) => isDocumentPath(c.path) && !tooLarge.has(c.path));
  const documentChanges: DocumentChange[] = [];
  for (const c of documents) documentChanges.push({ path: c.path, before: await textOf(repository, c, 'old'), after: await textOf(repository, c, 'new') });
  lines.push(...problemLines(changeProblems(changeRights(actor, project), documentChanges, { publishedBranch: true })));
  if (deps.linkGate && (await deps.linkGate.refuses(project))) lines.push(...(await linkLines(deps, project, repository, actor, grants, change.tree)));
  return lines;
}

/** Throws ChangeRefusedError ("Nothing was merged: …") when `treeProblems` finds any. */
export async function assertTreePublishable(
  deps: PublishGateDeps,
  project: ProjectRecord,
  repository: Repository,
  actor: UserActor,
  grants: Grants,
  change: { base: string; tree: string },
  verb = 'merged',
): Promise<void> {
  const lines = await treeProblems(deps, project, repository, actor, grants, change);
  if (lines.length > 0) throw new ChangeRefusedError(`Nothing was ${verb}: ${lines.join('; ')}.`);
}

async function textOf(repository: Repository, c: TreeChange, side: 'old' | 'new'): Promise<string | null> {
  const [status, mode, oid] = side === 'old' ? ['A', c.oldMode, c.oldOid] : ['D', c.newMode, c.newOid];
  if (c.status === status || !isRegularFileMode(mode)) return null;
  const blob = await repository.readBlob(oid);
  return blob.length > MAX_READ_BYTES ? null : blob.toString('utf8');
}

/** The link problems the tree adds (the push's check, projects/push-link-check.ts), as refusal lines. */
async function linkLines(deps: PublishGateDeps, project: ProjectRecord, repository: Repository, actor: UserActor, grants: Grants, tree: string): Promise<string[]> {
  const previous = deps.published?.snapshotOf(project.id) ?? null;
  let problems: LinkProblem[] | 'too-many';
  try {
    problems = await newLinkProblems({ repoPath: repository.path, env: {}, newCommit: tree, previous }, MAX_REFUSAL_CHECKED);
  } catch {
    // a check the organization requires and that cannot be made refuses (as for a push)
    return ['its links could not be checked; try again'];
  }
  if (problems === 'too-many') return [`it changes more than ${MAX_REFUSAL_CHECKED} documents, too many to check their links`];
  if (problems.length === 0) return [];
  const classificationOf = async (path: string): Promise<Classification> => {
    const entry = await repository.entryAt(tree, path);
    if (!entry || entry.type !== 'blob') return 'restricted';
    return classificationOfSource((await repository.readBlob(entry.oid)).toString('utf8'));
  };
  const named: LinkProblem[] = [];
  let unnamed = 0;
  for (const problem of problems) {
    const readable = can(actor, 'read', { kind: 'document', orgId: project.orgId, classification: await classificationOf(problem.from), projectId: project.id, path: problem.from, grants });
    if (readable) named.push(problem);
    else unnamed++;
  }
  const lines = [`this organization refuses changes that add broken links, and this one adds ${problems.length}`];
  lines.push(...named.slice(0, LISTED_PROBLEMS).map(formatLinkProblem));
  const rest = named.length - Math.min(named.length, LISTED_PROBLEMS) + unnamed;
  if (rest > 0) lines.push(`and ${rest} more`);
  return lines;
}
