import type { Kysely, SelectQueryBuilder } from 'kysely';
import { withAuditChain } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
import type { ChainedFields } from './hash.ts';

/** One stored audit event as services and views see it. */
export interface AuditEvent extends ChainedFields {
  id: string;
  hash: string;
}

/** Filters of the audit page and its exports. All optional; text filters match case-insensitively. */
export interface AuditFilters {
  /** Matches the actor's id exactly or a part of its label (email). */
  actor?: string | undefined;
  /** An action name (`auth.sign_in`) or a prefix ending in a dot (`auth.`). */
  action?: string | undefined;
  /** Matches the target's id exactly or a part of its id or label (a document path). */
  target?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
}

type AuditRow = Database['audit_events'] extends infer T ? { [K in keyof T]: unknown } : never;

/** Convert a selected row (drivers differ in how they return bigint) to an AuditEvent. */
export function toAuditEvent(row: AuditRow): AuditEvent {
  const details = row.details;
  return {
    id: String(row.id),
    orgId: (row.org_id as string | null) ?? null,
    seq: String(row.seq),
    occurredAt: (row.occurred_at instanceof Date ? row.occurred_at : new Date(String(row.occurred_at))).toISOString(),
    actorType: row.actor_type as string,
    actorId: row.actor_id as string | null,
    actorLabel: row.actor_label as string | null,
    action: row.action as string,
    targetType: row.target_type as string | null,
    targetId: row.target_id as string | null,
    targetLabel: row.target_label as string | null,
    reason: row.reason as string | null,
    outcome: row.outcome as string,
    requestId: row.request_id as string | null,
    ip: row.ip as string | null,
    details: (typeof details === 'string' ? JSON.parse(details) : details ?? null) as AuditEvent['details'],
    prevHash: row.prev_hash as string,
    hash: row.hash as string,
  };
}

/** A page of one organization's events, newest first; `before` is the seq to continue below. */
export async function listAuditEvents(
  db: Kysely<Database>,
  orgId: string,
  filters: AuditFilters,
  page: { before?: string | undefined; limit: number },
): Promise<{ events: AuditEvent[]; nextBefore: string | null }> {
  const rows = await withAuditChain(db, orgId, (trx) => {
    let query = filtered(trx, orgId, filters).selectAll().orderBy('seq', 'desc').limit(page.limit + 1);
    if (page.before !== undefined) query = query.where('seq', '<', page.before);
    return query.execute();
  }).then((found) => found.map(toAuditEvent));
  const more = rows.length > page.limit;
  const events = more ? rows.slice(0, page.limit) : rows;
  return { events, nextBefore: more ? events[events.length - 1]!.seq : null };
}

/** Every matching event of one organization, newest first, in batches (for exports). */
export async function* allAuditEvents(
  db: Kysely<Database>,
  orgId: string,
  filters: AuditFilters,
  batchSize = 1000,
): AsyncGenerator<AuditEvent> {
  let before: string | undefined;
  for (;;) {
    const { events, nextBefore } = await listAuditEvents(db, orgId, filters, { before, limit: batchSize });
    yield* events;
    if (nextBefore === null) return;
    before = nextBefore;
  }
}

function filtered(db: Kysely<Database>, orgId: string, filters: AuditFilters) {
  let query: SelectQueryBuilder<Database, 'audit_events', object> = db
    .selectFrom('audit_events')
    .where('org_id', '=', orgId);
  if (filters.actor) {
    const actor = filters.actor;
    query = query.where((eb) => eb.or([eb('actor_id', '=', actor), eb('actor_label', 'ilike', contains(actor))]));
  }
  if (filters.action) {
    query = filters.action.endsWith('.')
      ? query.where('action', 'like', `${escapeLike(filters.action)}%`)
      : query.where('action', '=', filters.action);
  }
  if (filters.target) {
    const target = filters.target;
    query = query.where((eb) =>
      eb.or([eb('target_id', '=', target), eb('target_id', 'ilike', contains(target)), eb('target_label', 'ilike', contains(target))]),
    );
  }
  if (filters.from) query = query.where('occurred_at', '>=', filters.from);
  if (filters.to) query = query.where('occurred_at', '<', filters.to);
  return query;
}

const contains = (value: string) => `%${escapeLike(value)}%`;

/** Make `%`, `_` and `\` match themselves in a LIKE pattern (PostgreSQL's default escape is `\`). */
function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** An organization's events of [from, to), oldest first (by seq), in batches: the evidence pack's audit trail. */
export async function* auditEventsBetween(db: Kysely<Database>, orgId: string, from: Date, to: Date, batchSize = 1000): AsyncGenerator<AuditEvent> {
  let after: string | null = null;
  for (;;) {
    const last: string | null = after;
    const rows = await withAuditChain(db, orgId, (trx) => {
      let query = trx.selectFrom('audit_events').selectAll().where('org_id', '=', orgId).where('occurred_at', '>=', from).where('occurred_at', '<', to).orderBy('seq', 'asc').limit(batchSize);
      if (last !== null) query = query.where('seq', '>', last);
      return query.execute();
    });
    const events = rows.map(toAuditEvent);
    yield* events;
    if (events.length < batchSize) return;
    after = events[events.length - 1]!.seq;
  }
}

/** The first (oldest remaining) and last event of an organization's chain: seq and hash, or null when empty. */
export async function chainBounds(db: Kysely<Database>, orgId: string): Promise<{ first: string; head: { seq: string; hash: string } } | null> {
  return withAuditChain(db, orgId, async (trx) => {
    const first = await trx.selectFrom('audit_events').select('seq').where('org_id', '=', orgId).orderBy('seq', 'asc').limit(1).executeTakeFirst();
    const head = await trx.selectFrom('audit_events').select(['seq', 'hash']).where('org_id', '=', orgId).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    return first && head ? { first: String(first.seq), head: { seq: String(head.seq), hash: head.hash } } : null;
  });
}
