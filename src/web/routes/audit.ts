import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AUDIT_ACTIONS } from '../../audit/audit-log.ts';
import { EXPORT_LIMIT } from '../../audit/commands/export-audit-log.ts';
import { toCsv, toJsonLines } from '../../audit/export.ts';
import type { AuditFilters } from '../../audit/query.ts';
import type { AuditLogReader } from '../../audit/reader.ts';
import { InvalidInputError } from '../../errors.ts';
import type { ResourceOpener } from '../open-resource.ts';
import { sendPage } from '../page.ts';
import { renderAuditBody } from '../views/index.ts';

interface Deps {
  open: ResourceOpener;
  auditLog: AuditLogReader;
  secret: Buffer;
}

const PAGE_SIZE = 50;

const UTC_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z?)?$/;

/** A time filter as the datetime-local input sends it (or full ISO), read as UTC. Empty means none. */
const utcTime = z
  .string()
  .max(40)
  .transform((value, ctx) => {
    const trimmed = value.trim();
    if (trimmed === '') return undefined;
    const date = UTC_TIME.test(trimmed)
      ? new Date(trimmed.includes('T') ? (trimmed.endsWith('Z') ? trimmed : `${trimmed}Z`) : `${trimmed}T00:00Z`)
      : new Date(NaN);
    if (Number.isNaN(date.getTime())) {
      ctx.addIssue({ code: 'custom', message: 'not a UTC date and time (YYYY-MM-DDTHH:MM)' });
      return z.NEVER;
    }
    return date;
  });

const auditQuery = z.object({
  actor: z.string().trim().max(200).default(''),
  action: z
    .string()
    .trim()
    .max(100)
    .regex(/^[a-z0-9_.]*$/, 'an action name like auth.sign_in')
    .default(''),
  target: z.string().trim().max(500).default(''),
  from: utcTime.optional(),
  to: utcTime.optional(),
  before: z.string().regex(/^[1-9]\d{0,17}$/).optional(),
  format: z.enum(['html', 'csv', 'jsonl']).default('html'),
});

/** The audit page of an organization with filters, paging and exports (admins and owners only). */
export function registerAuditRoutes(app: FastifyInstance, deps: Deps): void {
  const { open, auditLog, secret } = deps;

  app.get<{ Params: { org: string }; Querystring: Record<string, unknown> }>(
    '/:org/-/audit',
    { config: { access: 'policy' } },
    async (request, reply) => {
      // A missing organization and one whose log the reader may not see look the same.
      const { actor, org } = await open.organization(request, 'read', 'audit-log');
      const parsed = auditQuery.safeParse(request.query ?? {});
      if (!parsed.success) throw new InvalidInputError('The audit filters are not valid.', parsed.error.issues);
      const query = parsed.data;
      const filters: AuditFilters = {
        actor: query.actor || undefined,
        action: query.action || undefined,
        target: query.target || undefined,
        from: query.from,
        to: query.to,
      };
      const basePath = `/${encodeURIComponent(org.slug)}/-/audit`;
      const filterParams = new URLSearchParams();
      for (const key of ['actor', 'action', 'target', 'from', 'to'] as const) {
        const raw = request.query[key];
        if (typeof raw === 'string' && raw.trim() !== '') filterParams.set(key, raw.trim());
      }
      const href = (extra: Record<string, string>) => {
        const params = new URLSearchParams(filterParams);
        for (const [key, value] of Object.entries(extra)) params.set(key, value);
        const qs = params.toString();
        return qs ? `${basePath}?${qs}` : basePath;
      };

      if (query.format !== 'html') {
        // The export is itself an event, written before any data leaves.
        const { events, truncated } = await auditLog.export(actor, {
          org,
          filters,
          format: query.format,
          filterText: filterParams.toString(),
          requestId: request.id,
          ip: request.ip,
        });
        const stamp = new Date().toISOString().slice(0, 10);
        const csv = query.format === 'csv';
        reply
          .header('cache-control', 'no-store')
          .header('content-disposition', `attachment; filename="audit-${org.slug}-${stamp}.${csv ? 'csv' : 'jsonl'}"`);
        if (truncated) reply.header('x-audit-export-truncated', String(EXPORT_LIMIT));
        return reply
          .type(csv ? 'text/csv; charset=utf-8' : 'application/jsonl; charset=utf-8')
          .send(csv ? toCsv(events) : toJsonLines(events));
      }

      const page = await auditLog.page(actor, org.id, filters, { before: query.before, limit: PAGE_SIZE });
      const body = renderAuditBody({
        orgName: org.name,
        basePath,
        filters: {
          actor: query.actor,
          action: query.action,
          target: query.target,
          from: typeof request.query.from === 'string' ? request.query.from.trim() : '',
          to: typeof request.query.to === 'string' ? request.query.to.trim() : '',
        },
        actions: AUDIT_ACTIONS,
        events: page.events,
        olderHref: page.nextBefore ? href({ before: page.nextBefore }) : null,
        newestHref: query.before ? href({}) : null,
        csvHref: href({ format: 'csv' }),
        jsonlHref: href({ format: 'jsonl' }),
      });
      return sendPage(request, reply, secret, { title: `Audit log · ${org.name}`, body });
    },
  );
}
