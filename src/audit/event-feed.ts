import { sql, type Kysely } from 'kysely';
import { withAuditChain } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';

/**
 * Reading audit chains forward, for followers that act on what happened (email notifications): the events of
 * one chain after a seq, in order. Appends to a chain are serialized by its lock and commit in seq order, so a
 * follower that remembers the last seq it handled misses nothing and sees nothing twice.
 */

/** An event as a follower sees it: no hash fields. */
export interface FeedEvent {
  orgId: string | null;
  seq: string;
  id: string;
  occurredAt: Date;
  action: string;
  actorType: string;
  actorId: string | null;
  targetType: string | null;
  targetId: string | null;
  outcome: 'success' | 'failure' | 'denied';
  requestId: string | null;
  ip: string | null;
  details: Record<string, unknown>;
}

/** The chains to follow: every organization's, and the system chain (null). */
export async function auditChains(db: Kysely<Database>): Promise<(string | null)[]> {
  const rows = await db.selectFrom('organizations').select('id').orderBy('id').execute();
  return [...rows.map((r) => r.id), null];
}

/** Up to `limit` events of one chain after `afterSeq` with one of `actions`, not older than `since`, by seq. */
export async function eventsAfter(
  db: Kysely<Database>,
  orgId: string | null,
  input: { afterSeq: string; actions: readonly string[]; since: Date; limit: number },
): Promise<{ events: FeedEvent[]; lastSeq: string | null }> {
  return withAuditChain(db, orgId, async (trx) => {
    let query = trx
      .selectFrom('audit_events')
      .select(['id', 'seq', 'occurred_at', 'action', 'actor_type', 'actor_id', 'target_type', 'target_id', 'outcome', 'request_id', 'ip', 'details'])
      .where(sql<boolean>`seq > ${input.afterSeq}::bigint`)
      .orderBy('seq')
      .limit(input.limit);
    query = orgId === null ? query.where('org_id', 'is', null) : query.where('org_id', '=', orgId);
    const rows = await query.execute();
    const events = rows
      .filter((r) => input.actions.includes(r.action) && new Date(r.occurred_at) >= input.since)
      .map((r) => ({
        orgId,
        seq: String(r.seq),
        id: String(r.id),
        occurredAt: new Date(r.occurred_at),
        action: r.action,
        actorType: r.actor_type,
        actorId: r.actor_id,
        targetType: r.target_type,
        targetId: r.target_id,
        outcome: r.outcome,
        requestId: r.request_id,
        ip: r.ip,
        details: (typeof r.details === 'string' ? JSON.parse(r.details) : (r.details ?? {})) as Record<string, unknown>,
      }));
    return { events, lastSeq: rows.length > 0 ? String(rows[rows.length - 1]!.seq) : null };
  });
}

/** Whether `userId` signed in from `ip` in this chain before `beforeSeq`, since `since`. */
export async function signedInFromBefore(
  db: Kysely<Database>,
  orgId: string | null,
  input: { userId: string; ip: string; beforeSeq: string; since: Date },
): Promise<boolean> {
  return withAuditChain(db, orgId, async (trx) => {
    let query = trx
      .selectFrom('audit_events')
      .select('id')
      .where('action', '=', 'auth.sign_in')
      .where('outcome', '=', 'success')
      .where('actor_type', '=', 'user')
      .where('actor_id', '=', input.userId)
      .where('ip', '=', input.ip)
      .where('occurred_at', '>=', input.since)
      .where(sql<boolean>`seq < ${input.beforeSeq}::bigint`)
      .limit(1);
    query = orgId === null ? query.where('org_id', 'is', null) : query.where('org_id', '=', orgId);
    return (await query.executeTakeFirst()) !== undefined;
  });
}
