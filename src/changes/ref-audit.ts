/**
 * Audit records of ref moves that survive a crash between the move and the record.
 *
 * A ref update happens in git (update-ref, or receive-pack in its own process), the audit event in a database
 * transaction: no transaction spans both. So before a ref moves, its audit events are written to the
 * repository's ref journal (git/ref-journal.ts, fsynced); after it moved, they are written to the audit log in
 * one transaction scoped to the organization, each carrying the journal id, and the journal entry is removed.
 * If the process dies in between, the start-up reconciler (recovery.ts) finds the entry, checks in the reflog
 * whether the move happened, writes the events that are missing (marked `recovered`), and removes the entry.
 */
import { recordAuditEvent, type AuditEventInput } from '../audit/audit-log.ts';
import type { BranchMoveActor, BranchMoveKind } from './branch-moved.ts';
import { insertMoves, type MoveToRecord } from './move-store.ts';
import type { Classification } from '../content/types.ts';
import type { Transaction } from 'kysely';
import { withOrg, type Db } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
import { ZERO_OID } from '../git/refs.ts';
import { removeJournalEntry, updateApplied, writeJournalEntry, type JournalEntry, type JournalUpdate } from '../git/ref-journal.ts';

/** What a journal entry holds for the database: each event belongs to one of the entry's updates (by index). */
export interface RefAuditRecord {
  orgId: string;
  events: { update: number; event: AuditEventInput }[];
  /** The branch-move record written with the events, one per applied update (absent in entries of older versions). */
  move?: { projectId: string; kind: BranchMoveKind; actor: BranchMoveActor };
}

/** What recording a noted change writes besides the audit events. */
export interface RecordOptions {
  /** Details added to every audit event (e.g. `recovered: true`). */
  extra?: Record<string, string | number | boolean>;
  /** The moves were found by crash recovery rather than recorded by the request that made them. */
  recovered?: boolean;
  /** The paths each applied update changed (by update index), computed from git before the transaction. */
  changedPaths?: ReadonlyMap<number, { paths: readonly string[]; truncated: boolean }>;
  /** Listener names: each recorded move gets one pending delivery per name. */
  listeners?: readonly string[];
  /** The caller's own rows that change with the move (e.g. a change request marked merged), in the same transaction. */
  alsoInTransaction?: (trx: Transaction<Database>) => Promise<void>;
}

/** A noted (journaled) ref change whose audit events are not yet in the database. */
export interface PendingRefAudit {
  id: string;
  gitDir: string;
  updates: JournalUpdate[];
  record: RefAuditRecord;
}

/** Notes the coming ref moves and their audit events durably; call before the refs move. */
export async function noteRefChange(gitDir: string, updates: JournalUpdate[], record: RefAuditRecord): Promise<PendingRefAudit> {
  const id = await writeJournalEntry(gitDir, updates, record);
  return { id, gitDir, updates, record };
}

/**
 * Writes the events of the updates that were applied (indexes into `pending.updates`) and their branch-move
 * records in one transaction, then removes the journal entry. With no applied update, only removes it.
 * Returns the ids of the moves recorded.
 */
export async function recordRefChange(db: Db, pending: PendingRefAudit, applied: ReadonlySet<number>, options: RecordOptions = {}): Promise<string[]> {
  const events = pending.record.events.filter((e) => applied.has(e.update));
  const moves = movesOf(pending, applied, options);
  let ids: string[] = [];
  if (events.length > 0 || moves.length > 0 || options.alsoInTransaction) {
    ids = await withOrg(db, pending.record.orgId, async (trx) => {
      // the caller's rows first: they may lock rows (a change request following its draft) that other
      // transactions lock before the audit chain too, so every path takes the row, then the chain (no deadlock)
      await options.alsoInTransaction?.(trx);
      for (const { event } of events) {
        await recordAuditEvent(trx, { ...event, details: { ...event.details, ...options.extra, journal: pending.id } });
      }
      return insertMoves(trx, moves, options.listeners ?? []);
    });
  }
  await removeJournalEntry(pending.gitDir, pending.id);
  return ids;
}

function movesOf(pending: PendingRefAudit, applied: ReadonlySet<number>, options: RecordOptions): MoveToRecord[] {
  const move = pending.record.move;
  if (!move) return [];
  return [...applied].sort((a, b) => a - b).flatMap((index) => {
    const update = pending.updates[index];
    if (!update) return [];
    const paths = options.changedPaths?.get(index);
    return [
      {
        orgId: pending.record.orgId,
        projectId: move.projectId,
        ref: update.ref,
        oldCommit: update.old,
        newCommit: update.new === ZERO_OID ? null : update.new,
        kind: move.kind,
        actor: move.actor,
        changedPaths: paths?.paths ?? [],
        // unknown paths are "everything may have changed"
        pathsTruncated: paths ? paths.truncated : true,
        recovered: options.recovered ?? false,
        journal: { id: pending.id, update: index },
      },
    ];
  });
}

/** Drops a noted change whose refs certainly did not move (e.g. update-ref refused a stale base). */
export async function abandonRefChange(pending: PendingRefAudit): Promise<void> {
  await removeJournalEntry(pending.gitDir, pending.id);
}

/** A journal entry read back at start, as a pending change (null when it is not one of ours). */
export function pendingFromJournal(gitDir: string, entry: JournalEntry): PendingRefAudit | null {
  const record = entry.record as Partial<RefAuditRecord> | null;
  if (!record || typeof record.orgId !== 'string' || !Array.isArray(record.events)) return null;
  return { id: entry.id, gitDir, updates: entry.updates, record: record as RefAuditRecord };
}

/** One checked ref update of a push, as push-checks.ts reports it. */
export interface PushedUpdate {
  ref: string;
  oldOid: string;
  newOid: string;
  files: number;
  /** Documents of the published branch whose classification the update changes (when the checks report them). */
  reclassified?: readonly { path: string; from: Classification; to: Classification }[];
}

/**
 * Notes an accepted-by-check push before receive-pack moves its refs: one `git.push` event per update (ref, old
 * and new commit, number of files; no content), built on `event` (actor, target, request id, address), and one
 * `document.classification_changed` (path, old and new classification) per document the update reclassifies.
 */
export function notePush(
  gitDir: string,
  orgId: string,
  updates: readonly PushedUpdate[],
  event: Omit<AuditEventInput, 'action' | 'outcome' | 'details' | 'orgId'>,
  move?: RefAuditRecord['move'],
): Promise<PendingRefAudit> {
  const zero = '0'.repeat(40);
  return noteRefChange(
    gitDir,
    updates.map((u) => ({ ref: u.ref, old: u.oldOid === zero ? null : u.oldOid, new: u.newOid })),
    {
      orgId,
      events: updates.flatMap((u, index) => [
        {
          update: index,
          event: { ...event, orgId, action: 'git.push', outcome: 'success' as const, details: { ref: u.ref, old: u.oldOid, new: u.newOid, files: u.files } },
        },
        ...(u.reclassified ?? []).map((r) => ({
          update: index,
          event: {
            ...event,
            orgId,
            action: 'document.classification_changed',
            target: { type: 'document', id: `${event.target?.id ?? ''}:${r.path}`, label: r.path },
            outcome: 'success' as const,
            details: { commit: u.newOid, from: r.from, to: r.to },
          },
        })),
      ]),
      move,
    },
  );
}

/** The indexes of a noted change's updates that were applied (reflog or current value, see updateApplied). */
export async function appliedUpdates(pending: PendingRefAudit): Promise<Set<number>> {
  const applied = new Set<number>();
  for (const [index, update] of pending.updates.entries()) {
    if (await updateApplied(pending.gitDir, update)) applied.add(index);
  }
  return applied;
}
