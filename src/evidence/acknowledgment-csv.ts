import { csvCell } from '../audit/export.ts';
import type { AcknowledgmentStatusRow, OverdueAcknowledgment } from './acknowledgments.ts';

const COLUMNS = ['document', 'version_commit', 'due_at', 'name', 'email', 'role', 'status', 'acknowledged_at'] as const;

/**
 * Who has and has not acknowledged a document, as CSV (RFC 4180, CRLF). Cells an spreadsheet would run as a
 * formula are neutralized (audit/export.ts csvCell): names and emails are chosen by the people they describe.
 */
export function acknowledgmentStatusCsv(status: { path: string; currentCommit: string; dueAt: Date; rows: readonly AcknowledgmentStatusRow[] }): string {
  const lines = [COLUMNS.join(',')];
  for (const row of status.rows) {
    lines.push(
      [status.path, status.currentCommit, status.dueAt.toISOString(), row.name, row.email, row.role, row.status, row.acknowledgedAt?.toISOString() ?? null]
        .map(csvCell)
        .join(','),
    );
  }
  return lines.join('\r\n') + '\r\n';
}

const OVERDUE_COLUMNS = ['project', 'document', 'title', 'version_commit', 'due_at', 'name', 'email', 'role', 'last_acknowledged_at'] as const;

/** The organization's overdue acknowledgments as CSV (one row per person and document), formulas neutralized. */
export function overdueAcknowledgmentsCsv(rows: readonly OverdueAcknowledgment[]): string {
  const lines = [OVERDUE_COLUMNS.join(',')];
  for (const row of rows) {
    lines.push(
      [row.projectSlug, row.path, row.title, row.currentCommit, row.dueAt.toISOString(), row.name, row.email, row.role, row.lastAcknowledgedAt?.toISOString() ?? null]
        .map(csvCell)
        .join(','),
    );
  }
  return lines.join('\r\n') + '\r\n';
}
