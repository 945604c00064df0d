import type { Actor } from '../access/actor.ts';
import { authorize } from '../access/authorize.ts';
import type { Db } from '../db/connection.ts';
import { exportAuditLog, type ExportAuditLogInput } from './commands/export-audit-log.ts';
import { listAuditEvents, type AuditFilters } from './query.ts';

/** The audit page's service: a page of an organization's events, and exports (a command: it is audited). */
export class AuditLogReader {
  constructor(private readonly db: Db) {}

  /** One page of matching events, newest first, for an actor allowed to read the log. */
  page(actor: Actor, orgId: string, filters: AuditFilters, paging: { before?: string | undefined; limit: number }) {
    authorize(actor, 'read', { kind: 'audit-log', orgId }, { hidden: true });
    return listAuditEvents(this.db, orgId, filters, paging);
  }

  /** See commands/export-audit-log.ts. */
  export(actor: Actor, input: ExportAuditLogInput) {
    return exportAuditLog({ db: this.db }, actor, input);
  }
}
