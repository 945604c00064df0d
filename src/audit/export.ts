import type { AuditEvent } from './query.ts';

/** Columns of both export formats, in order (JSON Lines uses them as keys). */
export const EXPORT_COLUMNS = [
  'org_id',
  'seq',
  'occurred_at',
  'actor_type',
  'actor_id',
  'actor_label',
  'action',
  'target_type',
  'target_id',
  'target_label',
  'reason',
  'outcome',
  'request_id',
  'ip',
  'details',
  'prev_hash',
  'hash',
] as const;

function exportRecord(e: AuditEvent): Record<(typeof EXPORT_COLUMNS)[number], unknown> {
  return {
    org_id: e.orgId,
    seq: e.seq,
    occurred_at: e.occurredAt,
    actor_type: e.actorType,
    actor_id: e.actorId,
    actor_label: e.actorLabel,
    action: e.action,
    target_type: e.targetType,
    target_id: e.targetId,
    target_label: e.targetLabel,
    reason: e.reason,
    outcome: e.outcome,
    request_id: e.requestId,
    ip: e.ip,
    details: e.details,
    prev_hash: e.prevHash,
    hash: e.hash,
  };
}

/**
 * One event as a line of JSON Lines (newline included) with every stored field, hashes included: enough to
 * recompute the chain offline (see hash.ts for the canonical serialization). The audit log export and the
 * organization export (organizations/export.ts, which streams the whole chain) both write their lines with it.
 */
export function toJsonLine(event: AuditEvent): string {
  return JSON.stringify(exportRecord(event)) + '\n';
}

/** The events as JSON Lines: one `toJsonLine` each. */
export function toJsonLines(events: Iterable<AuditEvent>): string {
  let out = '';
  for (const event of events) out += toJsonLine(event);
  return out;
}

/**
 * RFC 4180 CSV (CRLF, every cell quoted when it holds a quote, comma or line break). A cell that a spreadsheet
 * would run as a formula (starting with = + - @, tab or carriage return) gets a leading apostrophe, so an
 * attacker-chosen email or reason cannot execute when an auditor opens the file. Details are one JSON cell.
 */
export function toCsv(events: Iterable<AuditEvent>): string {
  const lines = [EXPORT_COLUMNS.join(',')];
  for (const event of events) {
    const record = exportRecord(event);
    lines.push(EXPORT_COLUMNS.map((column) => csvCell(record[column])).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

/** One CSV cell, formula-neutralized and quoted as needed. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'object' ? JSON.stringify(value) : `${value as string | number | boolean | bigint}`;
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
