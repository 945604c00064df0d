import { sql, type Kysely } from 'kysely';
import { withAuditChain } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
import { eventHash, GENESIS_HASH } from './hash.ts';
import { toAuditEvent } from './query.ts';

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
 * hash over its stored fields, its link to the previous event's hash, and seq continuity from 1. An edited row
 * fails its hash; a deleted or reordered row breaks the seq or the link of the event after the gap.
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
    let expectedSeq = 1n;
    let prevHash = GENESIS_HASH;
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
        const broken = (reason: string): VerifyResult => ({
          ok: false,
          checked,
          firstBroken: { orgId: chain, seq: event.seq, id: event.id, reason },
          heads,
        });
        if (BigInt(event.seq) !== expectedSeq) {
          return broken(`sequence gap: expected seq ${expectedSeq}, found ${event.seq} (events missing or reordered)`);
        }
        if (event.prevHash !== prevHash) return broken('prev_hash does not match the previous event (chain relinked)');
        if (eventHash(event) !== event.hash) return broken('hash does not match the stored fields (event altered)');
        checked++;
        expectedSeq++;
        prevHash = event.hash;
        afterSeq = event.seq;
      }
      if (events.length < BATCH) break;
    }
    if (afterSeq !== null) heads.push({ orgId: chain, seq: afterSeq, hash: prevHash });
  }
  return { ok: true, checked, heads };
}
