import type { Actor } from '../../access/actor.ts';
import { authorize } from '../../access/authorize.ts';
import type { Db } from '../../db/connection.ts';
import { auditActorOf } from '../actor.ts';
import { recordAuditEvent } from '../audit-log.ts';
import { allAuditEvents, type AuditEvent, type AuditFilters } from '../query.ts';

/** Exports stop here; the caller says so (narrow the time range for more). */
export const EXPORT_LIMIT = 100_000;

export interface ExportAuditLogInput {
  org: { id: string; slug: string };
  filters: AuditFilters;
  format: 'csv' | 'jsonl';
  /** The filters as the address carried them, for the record (empty: none). */
  filterText: string;
  requestId: string;
  ip: string;
}

/**
 * Export an organization's audit events (admins and owners): the matching events, newest first, up to
 * EXPORT_LIMIT. The export is itself an event, `audit.exported`, written before any data leaves.
 */
export async function exportAuditLog(
  deps: { db: Db },
  actor: Actor,
  input: ExportAuditLogInput,
): Promise<{ events: AuditEvent[]; truncated: boolean }> {
  const { org } = input;
  authorize(actor, 'read', { kind: 'audit-log', orgId: org.id }, { hidden: true });
  const events: AuditEvent[] = [];
  for await (const event of allAuditEvents(deps.db, org.id, input.filters)) {
    if (events.length === EXPORT_LIMIT) break;
    events.push(event);
  }
  const truncated = events.length === EXPORT_LIMIT;
  await recordAuditEvent(deps.db, {
    orgId: org.id,
    actor: auditActorOf(actor),
    action: 'audit.exported',
    target: { type: 'audit-log', id: org.id, label: org.slug },
    outcome: 'success',
    requestId: input.requestId,
    ip: input.ip,
    details: { format: input.format, rows: events.length, truncated, ...(input.filterText !== '' ? { filters: input.filterText } : {}) },
  });
  return { events, truncated };
}
