import { sql } from 'kysely';
import { withAuditChain, type Db } from '../db/connection.ts';
import { MIN_AUDIT_RETENTION_DAYS } from '../db/migrations/027-audit-retention-evidence.ts';
import { appendToChain, lockChain, normalizeEvent } from './audit-log.ts';
import { CHECKPOINT_ACTION } from './chain-check.ts';

export { MIN_AUDIT_RETENTION_DAYS };
/** Longest retention the setting accepts (100 years; migration 027's CHECK). */
export const MAX_AUDIT_RETENTION_DAYS = 36500;

export interface PruneResult {
  /** Events removed (0: nothing was older than the retention period). */
  pruned: number;
  /** The last removed event, named by the checkpoint (null when nothing was removed). */
  throughSeq: string | null;
  checkpointSeq: string | null;
  retentionDays: number;
}

/**
 * Remove an organization's audit events older than its retention (at least 90 days), keeping a checkpoint.
 *
 * In one transaction, holding the chain's append lock: find the last event to remove (every event before the
 * first one still within the retention period), append the event `audit.pruned` naming its seq and hash (the
 * checkpoint `audit verify` continues from), then have `audit_prune` (migration 027, the only way the
 * application's role may delete audit rows) delete the chain's prefix up to it. The function checks the events
 * are old enough and that the checkpoint names exactly the last one; both happen or neither does.
 */
export async function pruneAuditLog(db: Db, orgId: string, actor: { type: 'system' | 'user'; id: string | null; label: string } = { type: 'system', id: null, label: 'audit retention' }): Promise<PruneResult> {
  return withAuditChain(db, orgId, async (trx) => {
    await lockChain(trx, orgId);
    const org = await trx.selectFrom('organizations').select('audit_retention_days').where('id', '=', orgId).executeTakeFirst();
    if (!org) return { pruned: 0, throughSeq: null, checkpointSeq: null, retentionDays: MIN_AUDIT_RETENTION_DAYS };
    const retentionDays = Math.max(org.audit_retention_days, MIN_AUDIT_RETENTION_DAYS);
    // the database's clock decides what is old, as audit_prune does
    const bounds = (
      await sql<{ first: string | null; keep_from: string | null; head: string | null }>`
        select (select min(seq) from audit_events where org_id = ${orgId}) as first,
               (select min(seq) from audit_events where org_id = ${orgId}
                  and occurred_at >= now() - make_interval(days => ${retentionDays})) as keep_from,
               (select seq from audit_chain_head()) as head`.execute(trx)
    ).rows[0];
    if (!bounds?.first || !bounds.head) return { pruned: 0, throughSeq: null, checkpointSeq: null, retentionDays };
    const through = bounds.keep_from === null ? BigInt(bounds.head) : BigInt(bounds.keep_from) - 1n;
    const first = BigInt(bounds.first);
    if (through < first) return { pruned: 0, throughSeq: null, checkpointSeq: null, retentionDays };
    const last = await trx.selectFrom('audit_events').select('hash').where('org_id', '=', orgId).where('seq', '=', String(through)).executeTakeFirstOrThrow();
    await appendToChain(trx, [
      normalizeEvent({
        orgId,
        actor,
        action: CHECKPOINT_ACTION,
        target: { type: 'audit-log', id: orgId },
        outcome: 'success',
        details: {
          through_seq: String(through),
          through_hash: last.hash,
          pruned: Number(through - first + 1n),
          retention_days: retentionDays,
        },
      }),
    ]);
    const checkpoint = (await sql<{ seq: string }>`select seq from audit_chain_head()`.execute(trx)).rows[0]!;
    const removed = (await sql<{ removed: string }>`select audit_prune(${orgId}::uuid, ${String(through)}::bigint) as removed`.execute(trx)).rows[0]!;
    return { pruned: Number(removed.removed), throughSeq: String(through), checkpointSeq: String(checkpoint.seq), retentionDays };
  });
}

/** Prune every organization's audit log (the server's start-up and daily job). Errors of one do not stop the rest. */
export async function pruneAllAuditLogs(db: Db, onError: (orgId: string, error: unknown) => void): Promise<PruneResult[]> {
  const orgs = await db.selectFrom('organizations').select('id').execute();
  const results: PruneResult[] = [];
  for (const org of orgs) {
    try {
      results.push(await pruneAuditLog(db, org.id));
    } catch (error) {
      onError(org.id, error);
    }
  }
  return results;
}
