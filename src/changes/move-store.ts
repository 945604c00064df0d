/**
 * The durable record of branch moves and of their listeners' deliveries (migration 014). Moves are written in
 * the transaction of their audit events (ref-audit.ts); deliveries are claimed with a lease so that one
 * process handles each at a time, and settled as delivered or due again later.
 */
import { sql, type Transaction } from 'kysely';
import { withOrg, type Db } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
import type { BranchMoveActor, BranchMoveKind, BranchMoved } from './branch-moved.ts';

/** A move to record: the event without the fields the database assigns (its id and time). */
export interface MoveToRecord extends Omit<BranchMoved, 'id' | 'at'> {
  /** The ref-journal entry and update index the move came from (a replay of the same entry records nothing new). */
  journal?: { id: string; update: number };
}

/** Inserts the moves and one pending delivery per listener each, inside the caller's transaction; returns the ids. */
export async function insertMoves(trx: Transaction<Database>, moves: readonly MoveToRecord[], listeners: readonly string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const move of moves) {
    const row = await trx
      .insertInto('branch_moves')
      .values({
        org_id: move.orgId,
        project_id: move.projectId,
        ref: move.ref,
        old_commit: move.oldCommit,
        new_commit: move.newCommit,
        kind: move.kind,
        actor: JSON.stringify(move.actor),
        changed_paths: JSON.stringify(move.changedPaths),
        paths_truncated: move.pathsTruncated,
        recovered: move.recovered,
        journal_id: move.journal?.id ?? null,
        update_index: move.journal?.update ?? null,
      })
      // a replay of a journal entry already recorded adds nothing
      .onConflict((oc) => oc.columns(['journal_id', 'update_index']).where('journal_id', 'is not', null).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!row) continue;
    const id = String(row.id);
    ids.push(id);
    if (listeners.length > 0) {
      await trx
        .insertInto('branch_move_deliveries')
        .values(listeners.map((listener) => ({ move_id: id, org_id: move.orgId, listener, next_attempt_at: new Date() })))
        .execute();
    }
  }
  return ids;
}

/** One claimed delivery. */
export interface ClaimedDelivery {
  moveId: string;
  orgId: string;
  listener: string;
  /** Attempts including this one. */
  attempts: number;
}

/**
 * Claims deliveries for `listeners` for `leaseSeconds`: those of `moveIds` (just recorded, delivered at once),
 * or with null every delivery that is due. Rows another process holds are skipped.
 */
export async function claimDeliveries(
  db: Db,
  moveIds: readonly string[] | null,
  listeners: readonly string[],
  limit: number,
  leaseSeconds: number,
): Promise<ClaimedDelivery[]> {
  if (listeners.length === 0 || (moveIds !== null && moveIds.length === 0)) return [];
  const ids = moveIds === null ? sql`NULL::bigint[]` : sql`ARRAY[${sql.join(moveIds.map((id) => String(BigInt(id))))}]::bigint[]`;
  const names = sql`ARRAY[${sql.join(listeners)}]::text[]`;
  const result = await sql<{ move_id: string | number; org_id: string; listener: string; attempts: number }>`
    SELECT move_id, org_id, listener, attempts FROM claim_branch_move_deliveries(${ids}, ${names}, ${limit}, ${leaseSeconds})`.execute(db);
  return result.rows.map((r) => ({ moveId: String(r.move_id), orgId: r.org_id, listener: r.listener, attempts: Number(r.attempts) }));
}

/** The move with id `id` of organization `orgId` as listeners receive it, or null when it is gone. */
export async function loadMove(db: Db, orgId: string, id: string): Promise<BranchMoved | null> {
  const row = await withOrg(db, orgId, (trx) => trx.selectFrom('branch_moves').selectAll().where('id', '=', id).executeTakeFirst());
  if (!row) return null;
  return {
    id: String(row.id),
    orgId: row.org_id,
    projectId: row.project_id,
    ref: row.ref,
    oldCommit: row.old_commit,
    newCommit: row.new_commit,
    kind: row.kind as BranchMoveKind,
    actor: row.actor as BranchMoveActor,
    changedPaths: row.changed_paths,
    pathsTruncated: row.paths_truncated,
    recovered: row.recovered,
    at: new Date(row.created_at).toISOString(),
  };
}

/** Marks a delivery done. */
export async function markDelivered(db: Db, delivery: ClaimedDelivery): Promise<void> {
  await withOrg(db, delivery.orgId, (trx) =>
    trx
      .updateTable('branch_move_deliveries')
      .set({ delivered_at: new Date(), claimed_until: null, last_error: null })
      .where('move_id', '=', delivery.moveId)
      .where('listener', '=', delivery.listener)
      .execute(),
  );
}

/** Releases a failed delivery to be retried after `retryInSeconds`, keeping a short note of why. */
export async function markFailed(db: Db, delivery: ClaimedDelivery, note: string, retryInSeconds: number): Promise<void> {
  await withOrg(db, delivery.orgId, (trx) =>
    trx
      .updateTable('branch_move_deliveries')
      .set({ claimed_until: null, last_error: note.slice(0, 300), next_attempt_at: new Date(Date.now() + retryInSeconds * 1000) })
      .where('move_id', '=', delivery.moveId)
      .where('listener', '=', delivery.listener)
      .execute(),
  );
}

/** Deliveries not yet done, per listener, and how many of those failed at least once (metrics; no organization named). */
export async function listenerBacklog(db: Db): Promise<{ listener: string; pending: number; failing: number }[]> {
  const result = await sql<{ listener: string; pending: string | number; failing: string | number }>`
    SELECT listener, pending, failing FROM branch_move_backlog()`.execute(db);
  return result.rows.map((r) => ({ listener: r.listener, pending: Number(r.pending), failing: Number(r.failing) }));
}
