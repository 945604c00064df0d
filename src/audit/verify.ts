import { sql, type Kysely } from 'kysely';
import { withAuditChain } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
import { ChainWalker, checkpointAnchor, CHAIN_ORIGIN, CHECKPOINT_ACTION } from './chain-check.ts';
import { eventHash } from './hash.ts';
import { toAuditEvent, type AuditEvent } from './query.ts';

/** The first event where a chain stops being what was written. */
export interface BrokenEvent {
  orgId: string | null;
  seq: string;
  id: string;
  reason: string;
}

/** The last event of a chain: noting it elsewhere lets a later check detect truncation of the tail. */
export interface ChainHead {
  orgId: string | null;
  seq: string;
  hash: string;
  /** Set when older events were pruned: the checkpoint the check continued from (its seq, and the last pruned seq). */
  checkpoint?: { seq: string; throughSeq: string };
}

export interface VerifyResult {
  ok: boolean;
  /** Events checked (all of them when ok). */
  checked: number;
  firstBroken?: BrokenEvent;
  heads: ChainHead[];
}

const BATCH = 1000;

/**
 * Recompute the chain of one organization, of the system chain (null), or of every chain ('all'): each event's
 * hash over its stored fields, its link to the previous event's hash, and seq continuity from 1 — or, when the
 * oldest events were pruned (audit/retention.ts), from the checkpoint event `audit.pruned` that names the seq and
 * hash of the last pruned one (the checkpoint is itself an event of the chain, checked like every other).
 * An edited row fails its hash; a deleted or reordered row breaks the seq or the link of the event after the gap.
 * Stops at the first broken event.
 */
export async function verifyAuditChain(db: Kysely<Database>, orgId: string | null | 'all'): Promise<VerifyResult> {
  const chains: (string | null)[] =
    orgId === 'all'
      ? (
          // Row-level security shows one chain at a time; this function (migration 006) lists the chains' keys.
          await sql<{ org_id: string | null }>`select org_id from audit_chain_ids()`.execute(db)
        ).rows.map((r) => r.org_id)
      : [orgId];
  let checked = 0;
  const heads: ChainHead[] = [];
  for (const chain of chains) {
    let walker: ChainWalker | null = null;
    let checkpoint: ChainHead['checkpoint'];
    let afterSeq: string | null = null;
    for (;;) {
      const after = afterSeq;
      const rows = await withAuditChain(db, chain, (trx) => {
        let query = trx.selectFrom('audit_events').selectAll().orderBy('seq', 'asc').limit(BATCH);
        query = chain === null ? query.where('org_id', 'is', null) : query.where('org_id', '=', chain);
        if (after !== null) query = query.where('seq', '>', after);
        return query.execute();
      });
      const events = rows.map(toAuditEvent);
      for (const event of events) {
        const broken = (reason: string, at: AuditEvent = event): VerifyResult => ({
          ok: false,
          checked: checked + (walker?.checked ?? 0),
          firstBroken: { orgId: chain, seq: at.seq, id: at.id, reason },
          heads,
        });
        if (walker === null) {
          if (event.seq === '1' || chain === null) {
            walker = new ChainWalker(CHAIN_ORIGIN);
          } else {
            // the oldest events were pruned: continue from the checkpoint naming the last of them
            const through = String(BigInt(event.seq) - 1n);
            const found = await findCheckpoint(db, chain, through);
            if (!found) return broken(`events before seq ${event.seq} are missing and no checkpoint (${CHECKPOINT_ACTION}) names seq ${through}`);
            if (eventHash(found) !== found.hash) return broken('checkpoint altered: its hash does not match its stored fields', found);
            walker = new ChainWalker(checkpointAnchor(found)!, `the checkpoint at seq ${found.seq} (hash of the last pruned event)`);
            checkpoint = { seq: found.seq, throughSeq: through };
          }
        }
        const reason = walker.next(event);
        if (reason !== null) return broken(reason);
        afterSeq = event.seq;
      }
      if (events.length < BATCH) break;
    }
    if (walker !== null && afterSeq !== null) {
      checked += walker.checked;
      heads.push({ orgId: chain, seq: afterSeq, hash: walker.head.hash, ...(checkpoint ? { checkpoint } : {}) });
    }
  }
  return { ok: true, checked, heads };
}

/** A checkpoint event of the chain naming `throughSeq` as the last pruned event (the earliest such, if several). */
async function findCheckpoint(db: Kysely<Database>, orgId: string, throughSeq: string): Promise<AuditEvent | null> {
  const rows = await withAuditChain(db, orgId, (trx) =>
    trx
      .selectFrom('audit_events')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('action', '=', CHECKPOINT_ACTION)
      .where(sql<boolean>`details ->> 'through_seq' = ${throughSeq}`)
      .orderBy('seq', 'asc')
      .limit(1)
      .execute(),
  );
  const event = rows[0] ? toAuditEvent(rows[0]) : null;
  return event && checkpointAnchor(event) ? event : null;
}
