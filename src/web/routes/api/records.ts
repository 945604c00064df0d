/**
 * REST API: search, acknowledgments and the audit log. Each calls the service its page calls, which asks the
 * policy: search filters by permission in SQL (search/search-query.ts); acknowledgment status is for managers
 * and above, the audit log for admins and owners, and both are the one 404 for everyone else, as their pages.
 */
import { z } from 'zod';
import { can } from '../../../access/policy.ts';
import type { AuditFilters } from '../../../audit/query.ts';
import { documentPathOfAddress } from '../../../changes/document-address.ts';
import { InvalidCursorError } from '../../../errors.ts';
import { MAX_PAGE as SEARCH_MAX_PAGE, type SearchResults } from '../../../search/search-query.ts';
import { pageOf } from '../../api/cursor.ts';
import { operation, type ApiOperation } from '../../api/operation.ts';
import { classification, cursor, documentPath, isoTime, limit, listOf, orgParams, projectParams, role } from '../../api/schemas.ts';
import { openProject, type ApiDeps } from './deps.ts';

const task = z.object({
  org: z.string(),
  project: z.string(),
  path: z.string(),
  title: z.string(),
  status: z.enum(['open', 'done']),
  dueAt: isoTime,
  overdue: z.boolean(),
  currentCommit: z.string(),
  lastAcknowledged: z.object({ at: isoTime, commit: z.string() }).nullable(),
});

const auditEvent = z.object({
  id: z.string(),
  seq: z.string(),
  occurredAt: isoTime,
  actorType: z.string(),
  actorId: z.string().nullable(),
  actorLabel: z.string().nullable(),
  action: z.string(),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  targetLabel: z.string().nullable(),
  reason: z.string().nullable(),
  outcome: z.string(),
  requestId: z.string().nullable(),
  ip: z.string().nullable(),
  details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).nullable(),
  prevHash: z.string(),
  hash: z.string(),
});

export function recordOperations(deps: ApiDeps): ApiOperation[] {
  const { cursors, acknowledgments } = deps;

  return [
    operation({
      id: 'search',
      method: 'GET',
      path: '/search',
      summary: 'Full-text search over the documents you may read',
      tag: 'search',
      scope: 'read',
      query: z.object({
        q: z.string().min(1).max(500),
        project: z.string().max(200).optional().describe('`org/project`: only this project.'),
        tag: z.string().max(200).optional(),
        cursor: cursor.optional(),
      }),
      response: z.object({
        query: z.string(),
        kind: z.enum(['text', 'similar-titles', 'none']).describe('`similar-titles`: nothing matched; titles close to the query.'),
        total: z.number().int(),
        totalIsLowerBound: z.boolean().describe('True when the search read its bound of matches (200): `total` is then a lower bound.'),
        items: z.array(
          z.object({
            org: z.string(),
            project: z.string(),
            path: z.string(),
            title: z.string(),
            tags: z.array(z.string()),
            classification,
            date: z.string().nullable(),
            snippet: z.array(z.object({ text: z.string(), match: z.boolean() })),
          }),
        ),
        nextCursor: z.string().nullable(),
      }),
      errors: [],
      async handle({ actor, query }) {
        const projects = (await deps.catalog.inOrganizations([...actor.memberships.keys()])).filter((p) => can(actor, 'list', { kind: 'project', orgId: p.orgId }));
        const chosen = query.project === undefined ? null : (projects.find((p) => `${p.orgSlug}/${p.slug}` === query.project) ?? null);
        const binding = { operation: 'search', userId: actor.userId, filters: { q: query.q, project: query.project ?? null, tag: query.tag ?? null } };
        const page = query.cursor === undefined ? 1 : Number(cursors.decode(binding, query.cursor));
        if (!Number.isSafeInteger(page) || page < 1 || page > SEARCH_MAX_PAGE) throw new InvalidCursorError();
        // a project that is not one of yours searches nothing (it does not exist for you)
        const results: Pick<SearchResults, 'query' | 'kind' | 'total' | 'atLeast' | 'hits' | 'pageCount'> =
          query.project !== undefined && chosen === null
            ? { query: query.q.trim(), kind: 'none', total: 0, atLeast: false, hits: [], pageCount: 0 }
            : await deps.search.search({ actor, projects, query: query.q, projectId: chosen?.id ?? null, tag: query.tag ?? null, page });
        return {
          query: results.query,
          kind: results.kind,
          total: results.total,
          totalIsLowerBound: results.atLeast,
          items: results.hits.map((hit) => ({
            org: hit.project.orgSlug,
            project: hit.project.slug,
            path: hit.path,
            title: hit.title,
            tags: hit.tags,
            classification: hit.classification,
            date: hit.date,
            snippet: hit.snippet,
          })),
          nextCursor: page < Math.min(results.pageCount, SEARCH_MAX_PAGE) ? cursors.encode(binding, page + 1) : null,
        };
      },
    }),

    operation({
      id: 'listMyAcknowledgments',
      method: 'GET',
      path: '/orgs/{org}/acknowledgments/mine',
      summary: 'Your acknowledgment tasks in an organization, open ones first',
      tag: 'acknowledgments',
      scope: 'read',
      params: orgParams,
      query: z.object({ cursor: cursor.optional(), limit: limit(100, 500) }),
      response: listOf(task),
      errors: [404],
      async handle({ request, actor, query }) {
        const { org } = await deps.open.organization(request, 'read', 'organization');
        const tasks = await acknowledgments.tasksFor(actor, org.id);
        const binding = { operation: 'listMyAcknowledgments', userId: actor.userId, filters: { org: org.id } };
        const page = pageOf(tasks, cursors.offset(binding, query.cursor), query.limit);
        return {
          items: page.items.map((t) => ({
            org: t.orgSlug,
            project: t.projectSlug,
            path: t.path,
            title: t.title,
            status: t.status,
            dueAt: t.dueAt.toISOString(),
            overdue: t.overdue,
            currentCommit: t.currentCommit,
            lastAcknowledged: t.lastAcknowledged ? { at: t.lastAcknowledged.at.toISOString(), commit: t.lastAcknowledged.commit } : null,
          })),
          nextCursor: page.next === null ? null : cursors.encode(binding, page.next),
        };
      },
    }),

    operation({
      id: 'listAcknowledgmentDocuments',
      method: 'GET',
      path: '/orgs/{org}/acknowledgments',
      summary: 'Documents asking for acknowledgment, with counts (managers and above)',
      tag: 'acknowledgments',
      scope: 'read',
      params: orgParams,
      query: z.object({ cursor: cursor.optional(), limit: limit(100, 500) }),
      response: listOf(
        z.object({ project: z.string(), path: z.string(), title: z.string(), dueAt: isoTime, done: z.number().int(), open: z.number().int(), overdue: z.number().int() }),
      ),
      errors: [404],
      async handle({ request, actor, query }) {
        const { org } = await deps.open.organization(request, 'read', 'organization');
        const documents = await acknowledgments.documentSummaries(actor, org.id);
        const binding = { operation: 'listAcknowledgmentDocuments', userId: actor.userId, filters: { org: org.id } };
        const page = pageOf(documents, cursors.offset(binding, query.cursor), query.limit);
        return {
          items: page.items.map((d) => ({ project: d.projectSlug, path: d.path, title: d.title, dueAt: d.dueAt.toISOString(), done: d.done, open: d.open, overdue: d.overdue })),
          nextCursor: page.next === null ? null : cursors.encode(binding, page.next),
        };
      },
    }),

    operation({
      id: 'getAcknowledgmentStatus',
      method: 'GET',
      path: '/projects/{org}/{project}/acknowledgments',
      summary: 'Who has acknowledged a document’s current version (managers and above)',
      tag: 'acknowledgments',
      scope: 'read',
      params: projectParams,
      query: z.object({ path: documentPath, cursor: cursor.optional(), limit: limit(100, 500) }),
      response: listOf(
        z.object({ name: z.string(), email: z.string(), role, status: z.enum(['done', 'open', 'overdue']), acknowledgedAt: isoTime.nullable() }),
      ).extend({ path: z.string(), title: z.string(), dueAt: isoTime, currentCommit: z.string() }),
      errors: [404],
      async handle({ request, actor, query }) {
        const { project } = await openProject(deps, request);
        const status = await acknowledgments.documentStatus(actor, project, documentPathOfAddress(query.path));
        const binding = { operation: 'getAcknowledgmentStatus', userId: actor.userId, filters: { project: project.id, path: status.path } };
        const page = pageOf(status.rows, cursors.offset(binding, query.cursor), query.limit);
        return {
          path: status.path,
          title: status.title,
          dueAt: status.dueAt.toISOString(),
          currentCommit: status.currentCommit,
          items: page.items.map((r) => ({ name: r.name, email: r.email, role: r.role, status: r.status, acknowledgedAt: r.acknowledgedAt?.toISOString() ?? null })),
          nextCursor: page.next === null ? null : cursors.encode(binding, page.next),
        };
      },
    }),

    operation({
      id: 'listAuditEvents',
      method: 'GET',
      path: '/orgs/{org}/audit-events',
      summary: 'The organization’s audit log, newest first (admins and owners)',
      tag: 'audit',
      scope: 'read',
      params: orgParams,
      query: z.object({
        action: z.string().trim().max(100).regex(/^[a-z0-9_.]*$/).optional().describe('An action (`document.read`) or a prefix ending in a dot (`auth.`).'),
        actor: z.string().trim().max(200).optional(),
        target: z.string().trim().max(500).optional(),
        cursor: cursor.optional(),
        limit: limit(50, 500),
      }),
      response: listOf(auditEvent),
      errors: [404],
      async handle({ request, actor, query }) {
        const { org } = await deps.open.organization(request, 'read', 'audit-log');
        const filters: AuditFilters = { action: query.action || undefined, actor: query.actor || undefined, target: query.target || undefined };
        const binding = { operation: 'listAuditEvents', userId: actor.userId, filters: { org: org.id, ...filters } };
        const before = query.cursor === undefined ? undefined : String(cursors.decode(binding, query.cursor));
        const page = await deps.auditLog.page(actor, org.id, filters, { before, limit: query.limit });
        return {
          items: page.events,
          nextCursor: page.nextBefore === null ? null : cursors.encode(binding, page.nextBefore),
        };
      },
    }),
  ];
}
