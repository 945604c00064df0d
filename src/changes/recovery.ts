/**
 * The start-up reconciler: brings the database up to date with what git says, after a crash or after someone
 * moved a branch with git directly while the server was down. For each project, before the server answers:
 *
 * 1. the repository's settings and hooks are checked and repaired (repositories of older versions get them);
 * 2. every ref-journal entry left by a change that was interrupted between the ref move and its audit record is
 *    settled: if the reflog shows the move happened, its audit events and its branch-move record are written
 *    (marked `recovered`) unless they already were; the entry is removed either way;
 * 3. if the published branch points at a commit the database has not published and no audit event names
 *    (a move DocuCommit did not make), a `git.push` event by the system is written with the old (last published)
 *    and new commit, the number of files changed and the identity from the reflog, marked `reconstructed`;
 * 4. the snapshot is published (caught up with the branch), the branch-move listeners are told of the moves
 *    recorded in 2 and 3 (branch-moves.ts), and `git gc --auto` runs.
 */
import { existsSync } from 'node:fs';
import { sql } from 'kysely';
import { withOrg, type Db } from '../db/connection.ts';
import { gcAuto } from '../git/maintenance.ts';
import { lastReflogEntry, listJournalEntries } from '../git/ref-journal.ts';
import { ZERO_OID } from '../git/refs.ts';
import { ensureRepositorySetup } from '../git/repository-setup.ts';
import { withWriteLock } from '../git/write-lock.ts';
import { listAllProjects, type ProjectRecord } from '../projects/projects.ts';
import { PUBLISHED_BRANCH, PUBLISHED_REF } from '../content/published-branch.ts';
import type { Publisher } from '../projects/publisher.ts';
import type { RepositoryRegistry } from '../projects/repositories.ts';
import type { BranchMoves } from './branch-moves.ts';
import { appliedUpdates, pendingFromJournal, recordRefChange } from './ref-audit.ts';

export interface RecoveryDeps {
  db: Db;
  repositories: RepositoryRegistry;
  publisher: Publisher;
  branchMoves: BranchMoves;
}

export interface ProjectRecovery {
  /** Journal entries whose missing audit events were written. */
  recoveredChanges: number;
  /** Journal entries dropped because their move never happened or was already recorded. */
  droppedChanges: number;
  /** True when an unrecorded move of the published branch was found and recorded. */
  reconstructedPush: boolean;
  /** Settings or hooks that were repaired. */
  repaired: string[];
}

/** Reconciles every project (see the module comment); returns what it did per project id. */
export async function recoverRepositories(deps: RecoveryDeps): Promise<Map<string, ProjectRecovery>> {
  const report = new Map<string, ProjectRecovery>();
  for (const project of await listAllProjects(deps.db)) report.set(project.id, await recoverProject(deps, project));
  return report;
}

/** Reconciles one project (see the module comment). */
export async function recoverProject(deps: RecoveryDeps, project: ProjectRecord): Promise<ProjectRecovery> {
  const result: ProjectRecovery = { recoveredChanges: 0, droppedChanges: 0, reconstructedPush: false, repaired: [] };
  const moves: string[] = [];
  const gitDir = deps.repositories.pathOf(project);
  if (existsSync(gitDir)) {
    result.repaired = await ensureRepositorySetup(gitDir);
    await withWriteLock(gitDir, async () => {
      moves.push(...(await settleJournal(deps, gitDir, project, result)));
      const external = await recordUnknownMove(deps, gitDir, project);
      result.reconstructedPush = external.length > 0;
      moves.push(...external);
    });
  }
  await deps.publisher.publish(project);
  deps.branchMoves.deliverRecorded(moves);
  if (existsSync(gitDir)) await withWriteLock(gitDir, () => gcAuto(gitDir));
  return result;
}

async function settleJournal(deps: RecoveryDeps, gitDir: string, project: ProjectRecord, result: ProjectRecovery): Promise<string[]> {
  const moves: string[] = [];
  for (const entry of await listJournalEntries(gitDir)) {
    const pending = pendingFromJournal(gitDir, entry);
    // an entry of another organization's project cannot be ours: never write into the wrong chain
    if (!pending || pending.record.orgId !== project.orgId) {
      await recordRefChange(deps.db, { id: entry.id, gitDir, updates: [], record: { orgId: project.orgId, events: [] } }, new Set());
      result.droppedChanges++;
      continue;
    }
    const applied = await appliedUpdates(pending);
    const recorded = applied.size > 0 && (await journalRecorded(deps.db, project.orgId, pending.id));
    if (recorded) applied.clear();
    // recorded, not yet published: the caller publishes once for the project, then notifies
    moves.push(...(await deps.branchMoves.settleNoted(project, pending, applied, { recovered: true, publish: false })));
    if (applied.size > 0) result.recoveredChanges++;
    else result.droppedChanges++;
  }
  return moves;
}

/**
 * Whether journal entry `id` was recorded: its audit events and branch moves are written together, in one
 * transaction, so either tells (an import notes a move and no event).
 */
async function journalRecorded(db: Db, orgId: string, id: string): Promise<boolean> {
  return withOrg(db, orgId, async (trx) => {
    const move = await trx.selectFrom('branch_moves').select('id').where('journal_id', '=', id).limit(1).executeTakeFirst();
    if (move) return true;
    const event = await trx
      .selectFrom('audit_events')
      .select('seq')
      .where('org_id', '=', orgId)
      .where(sql<boolean>`details->>'journal' = ${id}`)
      .limit(1)
      .executeTakeFirst();
    return event !== undefined;
  });
}

/**
 * Whether DocuCommit recorded a move of this project to `commit`: a branch move (every kind, an import's too), or
 * a successful audit event naming it as the new state (a push or an editor change of an older version). With
 * several processes another one may have recorded the move and not yet published it.
 */
async function commitRecorded(db: Db, project: ProjectRecord, commit: string): Promise<boolean> {
  const move = await withOrg(db, project.orgId, (trx) =>
    trx.selectFrom('branch_moves').select('id').where('project_id', '=', project.id).where('new_commit', '=', commit).limit(1).executeTakeFirst(),
  );
  if (move) return true;
  const row = await withOrg(db, project.orgId, (trx) =>
    trx
      .selectFrom('audit_events')
      .select('seq')
      .where('org_id', '=', project.orgId)
      .where('outcome', '=', 'success')
      .where((eb) => eb.or([eb('target_id', '=', project.id), eb('target_id', 'like', `${project.id}:%`)]))
      .where(sql<boolean>`(details->>'new' = ${commit} or details->>'commit' = ${commit})`)
      .limit(1)
      .executeTakeFirst(),
  );
  return row !== undefined;
}

/** Step 3 of the module comment; the ids of the moves it recorded (none or one). */
async function recordUnknownMove(deps: RecoveryDeps, gitDir: string, project: ProjectRecord): Promise<string[]> {
  const repository = await deps.repositories.get(project);
  const ref = PUBLISHED_REF;
  const head = await repository.headOf(PUBLISHED_BRANCH);
  const published = project.publishedCommit;
  if (head === null || head === published) return [];
  if (await commitRecorded(deps.db, project, head)) return [];
  let files: number | null = null;
  try {
    files = (await repository.diffTrees(published ?? null, head)).length;
  } catch {
    // the last published commit is gone (history rewritten outside DocuCommit): the count is unknown
  }
  const last = await lastReflogEntry(gitDir, ref);
  return deps.branchMoves.recordExternalMove(project, published ?? null, head, {
      orgId: project.orgId,
      actor: { type: 'system', id: 'reconciler', label: 'start-up reconciler' },
      action: 'git.push',
      target: { type: 'project', id: project.id, label: `${project.orgSlug}/${project.slug}` },
      outcome: 'success',
      details: {
        ref,
        old: published ?? ZERO_OID,
        new: head,
        files,
        reconstructed: true,
        // who git says moved it last (the reflog's identity), when that move is the one to the current head
        reflog_identity: last && last.new === head ? last.identity : null,
      },
    });
}
