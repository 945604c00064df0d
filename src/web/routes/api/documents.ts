/**
 * REST API: projects, documents as of any commit (metadata, Markdown, rendered HTML), a document's history and
 * the comparison of two versions. Reading goes through the history service (changes/history.ts), which decides
 * with the policy exactly as the version pages do: what the token's owner may not read is the one 404, and reads
 * of confidential and restricted versions are audited before the answer leaves.
 */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { can, clearanceFor } from '../../../access/policy.ts';
import { documentPathOfAddress } from '../../../changes/document-address.ts';
import type { CommitFacts, HistoryReader } from '../../../changes/history.ts';
import { summaryText } from '../../../content/redline/summary.ts';
import { NotFoundError } from '../../../errors.ts';
import { pageOf } from '../../api/cursor.ts';
import { operation, type ApiOperation } from '../../api/operation.ts';
import { classification, commitId, cursor, documentPath, isoTime, limit, listOf, projectParams } from '../../api/schemas.ts';
import { auditReads, onDocument, openProject, type ApiDeps } from './deps.ts';

const projectItem = z.object({
  org: z.string(),
  project: z.string(),
  name: z.string(),
  orgName: z.string(),
  description: z.string().nullable(),
  documentCount: z.number().int().describe('Documents of the published version you may read.'),
  publishedCommit: z.string().nullable(),
});

const documentItem = z.object({
  path: z.string(),
  title: z.string(),
  classification,
  tags: z.array(z.string()),
  date: z.string().nullable(),
  blob: z.string(),
});

/** A commit as the reader may see it: message and author only when they may read everything it touched. */
const commitFacts = z.object({
  commit: z.string(),
  authorName: z.string(),
  authorEmail: z.string(),
  time: isoTime,
  subject: z.string().nullable().describe('First line of the message; null when the commit touched something you may not read.'),
});

const versionQuery = z.object({
  path: documentPath,
  at: commitId.optional().describe('A commit of the published branch (default: the published version).'),
});

const documentMeta = z.object({
  path: z.string(),
  commit: z.string().describe('The commit the version was read at.'),
  blob: z.string(),
  title: z.string(),
  classification,
  tags: z.array(z.string()),
  date: z.string().nullable(),
  owner: z.string().nullable(),
  effective: z.string().nullable(),
  reviewBy: z.string().nullable(),
  currentPath: z.string().nullable().describe('Where the document is now (null: deleted since).'),
  isCurrent: z.boolean().describe('The published version has the same text.'),
  lastChange: commitFacts,
});

const facts = (f: CommitFacts) => ({ commit: f.commit, authorName: f.authorName, authorEmail: f.authorEmail, time: f.time.toISOString(), subject: f.subject });

export function documentOperations(deps: ApiDeps): ApiOperation[] {
  const { history, publisher, cursors } = deps;

  /** The reader and the commit `at` names (default: the published head), resolved on the published branch. */
  async function versionOf(request: FastifyRequest, query: { path: string; at?: string | undefined }) {
    const reader: HistoryReader = await openProject(deps, request);
    const path = documentPathOfAddress(query.path);
    const at = query.at ?? publisher.snapshotOf(reader.project.id)?.commit ?? null;
    if (at === null) throw new NotFoundError();
    return { reader, path, commit: await history.resolveCommit(reader, at) };
  }

  return [
    operation({
      id: 'listProjects',
      method: 'GET',
      path: '/projects',
      summary: 'Projects of your organizations',
      tag: 'projects',
      scope: 'read',
      query: z.object({ cursor: cursor.optional(), limit: limit(50, 200) }),
      response: listOf(projectItem),
      errors: [],
      async handle({ actor, query }) {
        const visible = (await deps.catalog.all())
          .filter((p) => can(actor, 'list', { kind: 'project', orgId: p.orgId }))
          .sort((a, b) => `${a.orgSlug}/${a.slug}`.localeCompare(`${b.orgSlug}/${b.slug}`));
        const binding = { operation: 'listProjects', userId: actor.userId };
        const page = pageOf(visible, cursors.offset(binding, query.cursor), query.limit);
        return {
          items: page.items.map((p) => ({
            org: p.orgSlug,
            project: p.slug,
            name: p.name,
            orgName: p.orgName,
            description: p.description,
            documentCount: publisher.snapshotOf(p.id)?.countFor(clearanceFor(actor, p.orgId)) ?? 0,
            publishedCommit: publisher.snapshotOf(p.id)?.commit ?? null,
          })),
          nextCursor: page.next === null ? null : cursors.encode(binding, page.next),
        };
      },
    }),

    operation({
      id: 'listDocuments',
      method: 'GET',
      path: '/projects/{org}/{project}/documents',
      summary: 'Published documents of a project you may read',
      tag: 'documents',
      scope: 'read',
      params: projectParams,
      query: z.object({ cursor: cursor.optional(), limit: limit(100, 500) }),
      response: listOf(documentItem).extend({ commit: z.string().nullable() }),
      errors: [404],
      async handle({ request, actor, query }) {
        const { project } = await openProject(deps, request);
        const snapshot = publisher.snapshotOf(project.id);
        const documents = snapshot ? [...snapshot.viewFor(clearanceFor(actor, project.orgId)).documents.values()].sort((a, b) => a.path.localeCompare(b.path)) : [];
        const binding = { operation: 'listDocuments', userId: actor.userId, filters: { project: project.id } };
        const page = pageOf(documents, cursors.offset(binding, query.cursor), query.limit);
        return {
          commit: snapshot?.commit ?? null,
          items: page.items.map((d) => ({ path: d.path, title: d.meta.title, classification: d.meta.classification, tags: d.meta.tags, date: d.meta.date, blob: d.blobId })),
          nextCursor: page.next === null ? null : cursors.encode(binding, page.next),
        };
      },
    }),

    operation({
      id: 'getDocument',
      method: 'GET',
      path: '/projects/{org}/{project}/document',
      summary: 'A document’s metadata as of a commit',
      tag: 'documents',
      scope: 'read',
      params: projectParams,
      query: versionQuery,
      response: documentMeta,
      errors: [404],
      async handle({ request, query }) {
        const { reader, path, commit } = await versionOf(request, query);
        const version = await onDocument(reader.project, path, () => history.version(reader, commit, path));
        await auditReads(deps, request, reader.project, version.audit);
        const r = version.rendered;
        return {
          path,
          commit,
          blob: version.blob,
          title: r.title,
          classification: r.classification,
          tags: r.tags,
          date: r.date,
          owner: r.owner,
          effective: r.effective,
          reviewBy: r.review_by,
          currentPath: version.currentPath,
          isCurrent: version.isCurrent,
          lastChange: facts(version),
        };
      },
    }),

    operation({
      id: 'getDocumentMarkdown',
      method: 'GET',
      path: '/projects/{org}/{project}/document/markdown',
      summary: 'A document’s Markdown source as of a commit',
      tag: 'documents',
      scope: 'read',
      params: projectParams,
      query: versionQuery,
      response: z.object({ path: z.string(), commit: z.string(), markdown: z.string() }),
      errors: [404],
      async handle({ request, query }) {
        const { reader, path, commit } = await versionOf(request, query);
        const { source, audit } = await onDocument(reader.project, path, () => history.versionSource(reader, commit, path));
        await auditReads(deps, request, reader.project, audit);
        return { path, commit, markdown: source.toString('utf8') };
      },
    }),

    operation({
      id: 'getDocumentHtml',
      method: 'GET',
      path: '/projects/{org}/{project}/document/html',
      summary: 'A document rendered to (sanitized) HTML as of a commit',
      tag: 'documents',
      scope: 'read',
      params: projectParams,
      query: versionQuery,
      response: z.object({
        path: z.string(),
        commit: z.string(),
        title: z.string(),
        classification,
        html: z.string().describe('The sanitized HTML of the body, as the page shows it.'),
        tooLarge: z.boolean().describe('The document could not be rendered within the time budget: `html` is a notice.'),
      }),
      errors: [404],
      async handle({ request, query }) {
        const { reader, path, commit } = await versionOf(request, query);
        const version = await onDocument(reader.project, path, () => history.version(reader, commit, path));
        await auditReads(deps, request, reader.project, version.audit);
        const r = version.rendered;
        return { path, commit, title: r.title, classification: r.classification, html: r.html, tooLarge: r.tooLarge === true };
      },
    }),

    operation({
      id: 'getDocumentHistory',
      method: 'GET',
      path: '/projects/{org}/{project}/history',
      summary: 'A document’s versions, newest first, following renames',
      tag: 'documents',
      scope: 'read',
      params: projectParams,
      query: z.object({ path: documentPath, cursor: cursor.optional() }),
      response: z.object({
        path: z.string(),
        title: z.string(),
        currentPath: z.string().nullable(),
        classification,
        items: z.array(
          commitFacts.extend({
            status: z.string().describe('A (added), M (modified), R (renamed from oldPath), D (deleted).'),
            path: z.string(),
            oldPath: z.string().nullable(),
            parent: z.string().nullable(),
            hidden: z.boolean().describe('A version you may not read: listed without message, author or text.'),
          }),
        ),
        nextCursor: z.string().nullable(),
      }),
      errors: [404],
      async handle({ request, actor, query }) {
        const reader = await openProject(deps, request);
        const path = documentPathOfAddress(query.path);
        const binding = { operation: 'getDocumentHistory', userId: actor.userId, filters: { project: reader.project.id, path } };
        const page = query.cursor === undefined ? 1 : Number(cursors.decode(binding, query.cursor));
        const result = await onDocument(reader.project, path, () => history.documentHistory(reader, path, page));
        return {
          path: result.path,
          title: result.title,
          currentPath: result.currentPath,
          classification: result.classification,
          items: result.entries.map((e) => ({ ...facts(e), status: e.status, path: e.path, oldPath: e.oldPath, parent: e.parent, hidden: e.hidden })),
          nextCursor: result.hasNext ? cursors.encode(binding, page + 1) : null,
        };
      },
    }),

    operation({
      id: 'compareDocument',
      method: 'GET',
      path: '/projects/{org}/{project}/compare',
      summary: 'The redline and source diff of a document between two commits',
      description: 'Rendering both versions and diffing them share one time budget (worker pool); beyond it `diff` is null.',
      tag: 'documents',
      scope: 'read',
      params: projectParams,
      query: z.object({ path: documentPath.describe('The document’s path at `to`.'), from: commitId, to: commitId }),
      response: z.object({
        path: z.string(),
        title: z.string(),
        currentPath: z.string().nullable(),
        from: commitFacts.extend({ path: z.string().nullable(), title: z.string().nullable(), classification: classification.nullable() }),
        to: commitFacts.extend({ path: z.string().nullable(), title: z.string().nullable(), classification: classification.nullable() }),
        diff: z
          .object({
            summary: z.string().nullable().describe('The changed sections in words.'),
            counts: z.object({ added: z.number().int(), removed: z.number().int(), changed: z.number().int() }),
            redlineHtml: z.string().describe('Sanitized HTML with <ins> and <del>.'),
            source: z.array(
              z.union([
                z.object({ kind: z.enum(['context', 'added', 'removed']), oldNumber: z.number().int().nullable(), newNumber: z.number().int().nullable(), text: z.string() }),
                z.object({ kind: z.literal('skip'), count: z.number().int() }),
              ]),
            ),
          })
          .nullable(),
      }),
      errors: [404],
      async handle({ request, query }) {
        const reader = await openProject(deps, request);
        const path = documentPathOfAddress(query.path);
        const from = await history.resolveCommit(reader, query.from);
        const to = await history.resolveCommit(reader, query.to);
        const comparison = await onDocument(reader.project, path, () => history.compare(reader, from, to, path));
        await auditReads(deps, request, reader.project, comparison.audit);
        const side = (s: typeof comparison.from) => ({ ...facts(s), path: s.path, title: s.title, classification: s.classification });
        return {
          path: comparison.path,
          title: comparison.title,
          currentPath: comparison.currentPath,
          from: side(comparison.from),
          to: side(comparison.to),
          diff: comparison.diff && {
            summary: summaryText(comparison.diff.redline.summary),
            counts: comparison.diff.redline.counts,
            redlineHtml: comparison.diff.redline.html,
            source: comparison.diff.source,
          },
        };
      },
    }),
  ];
}
