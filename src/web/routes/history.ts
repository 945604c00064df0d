import type { FastifyInstance, FastifyRequest } from 'fastify';
import { clearanceFor } from '../../access/policy.ts';
import { projectLinks } from '../../access/view-links.ts';
import { auditActorOf } from '../../audit/actor.ts';
import type { AuditGroupCommit } from '../../audit/group-commit.ts';
import type { ProjectHistory, VersionRead } from '../../changes/history.ts';
import type { VersionRestorer } from '../../changes/restore.ts';
import type { ChangeRequests } from '../../changes/change-requests.ts';
import { ChangeRefusedError } from '../../changes/editor.ts';
import { ReviewRequiredError } from '../../changes/protected-main.ts';
import { BrokenLinksRefusedError } from '../../projects/link-gate.ts';
import { summaryText } from '../../content/redline/summary.ts';
import { mayEdit } from '../../changes/version-access.ts';
import { documentPathOfAddress as documentPathOf } from '../../changes/document-address.ts';
import type { Classification } from '../../content/types.ts';
import { breadcrumbsFor } from '../../content/navigation.ts';
import { NotAuthenticatedError, NotFoundError } from '../../errors.ts';
import { authorize } from '../../access/authorize.ts';
import type { ProjectRecord } from '../../projects/projects.ts';
import type { Publisher } from '../../projects/publisher.ts';
import { sessionCsrfToken } from '../csrf.ts';
import type { ResourceOpener } from '../open-resource.ts';
import { sendPage } from '../page.ts';
import { pruneNavigation, type GrantLookup } from '../reading-pages.ts';
import { documentUrl, projectUrl, sectionUrl } from '../urls.ts';
import { renderCompareBody } from '../views/compare.tsx';
import { compareUrl, MAX_RESTORE_REASON, renderCommitsBody, renderHistoryBody, renderRestoreBody, renderVersionBody } from '../views/history.tsx';
import type { ProjectChrome } from '../views/types.ts';

interface Deps {
  open: ResourceOpener;
  /** Audit events of confidential and restricted reads. */
  auditReads: AuditGroupCommit;
  publisher: Publisher;
  history: ProjectHistory;
  restorer: VersionRestorer;
  /** A restore proposed instead of published opens a change request for its draft. */
  changeRequests: Pick<ChangeRequests, 'open'>;
  grantsFor: GrantLookup;
  secret: Buffer;
}

type ProjectParams = { org: string; project: string };
type PathParams = ProjectParams & { '*': string };
type PageQuery = { Querystring: { page?: string } };

/** History, versions, redlines, restore and the project's commits. Members only; one 404 for the rest. */
export function registerHistoryRoutes(app: FastifyInstance, deps: Deps): void {
  const { history, publisher, secret } = deps;

  /** The reader and project; sign-in for anonymous readers, 404 for outsiders and unknown projects. */
  async function readerOf(request: FastifyRequest<{ Params: ProjectParams }>) {
    // History pages name authors and show past text: members only (ResourceOpener: sign-in, else the one 404).
    const { actor, project } = await deps.open.project(request, 'read');
    return { actor, project, grants: await deps.grantsFor(actor, project) };
  }

  function chromeOf(project: ProjectRecord, request: FastifyRequest, currentPath: string | null): ProjectChrome {
    const clearance = clearanceFor(request.actor, project.orgId);
    const view = publisher.snapshotOf(project.id)?.viewFor(clearance);
    const nav = view?.nav ?? [];
    const viewProject = { orgSlug: project.orgSlug, orgName: project.orgName, slug: project.slug, name: project.name };
    const readable = currentPath !== null && view?.documents.has(currentPath) === true;
    return {
      project: viewProject,
      nav: pruneNavigation(nav, readable ? currentPath : null),
      currentPath: readable ? currentPath : null,
      breadcrumbs: readable ? breadcrumbsFor(nav, currentPath).map((b) => ({ title: b.title, href: sectionUrl(viewProject, b.path) })) : [],
      accessRequests: clearance === 'public' ? undefined : { canRequest: projectLinks(request.actor, project.orgId).requestAccess },
    };
  }

  /** The CSRF token for restore forms, only for people who may edit documents of this classification. */
  function restoreToken(request: FastifyRequest, project: ProjectRecord, classifications: Classification[]): string | null {
    if (!request.session || !classifications.every((c) => mayEdit(request.actor, project, c))) return null;
    return sessionCsrfToken(secret, request.session.idHash);
  }

  async function audit(request: FastifyRequest, project: ProjectRecord, reads: VersionRead[]): Promise<void> {
    // durable before the page leaves, as for reading pages
    await Promise.all(reads.map((read) =>
      deps.auditReads.append({
        orgId: project.orgId,
        actor: auditActorOf(request.actor),
        action: 'document.read',
        target: { type: 'document', id: `${project.id}:${read.path}`, label: read.path },
        outcome: 'success',
        requestId: request.id,
        ip: request.ip,
        details: { classification: read.classification, commit: read.commit },
      }),
    ));
  }

  app.get<{ Params: PathParams } & PageQuery>('/:org/:project/-/history/*', { config: { access: 'policy' } }, async (request, reply) => {
    const reader = await readerOf(request);
    const path = documentPathOf(request.params['*']);
    const result = await history.documentHistory(reader, path, pageOf(request.query.page));
    const body = renderHistoryBody({
      chrome: chromeOf(reader.project, request, result.currentPath),
      title: result.title,
      path: result.path,
      currentPath: result.currentPath,
      classification: result.classification,
      entries: result.entries,
      page: result.page,
      hasNext: result.hasNext,
      csrfToken: restoreToken(request, reader.project, [result.classification]),
      pick: defaultPick(result.entries),
    });
    return sendPage(request, reply, secret, { title: `History: ${result.title} · ${reader.project.name}`, body });
  });

  // The history list's "Compare selected versions" (a GET form): to the compare page of the two versions picked.
  app.get<{ Params: ProjectParams; Querystring: { path?: string; from?: string; to?: string } }>(
    '/:org/:project/-/compare',
    { config: { access: 'policy' } },
    async (request, reply) => {
      const reader = await readerOf(request);
      const { path: rawPath, from, to } = request.query;
      if (typeof rawPath !== 'string' || typeof from !== 'string' || typeof to !== 'string') throw new NotFoundError();
      const commit = /^[0-9a-f]{7,40}$/;
      if (!commit.test(from) || !commit.test(to)) throw new NotFoundError();
      const path = documentPathOf(rawPath);
      return reply.redirect(compareUrl(reader.project, from, to, path), 303);
    },
  );

  app.get<{ Params: PathParams & { commit: string } }>(
    '/:org/:project/-/blob/:commit/*',
    { config: { access: 'policy' } },
    async (request, reply) => {
      const reader = await readerOf(request);
      const path = documentPathOf(request.params['*']);
      const commit = await history.resolveCommit(reader, request.params.commit);
      const version = await history.version(reader, commit, path);
      await audit(request, reader.project, version.audit);
      const { rendered } = version;
      const body = renderVersionBody({
        ...version,
        chrome: chromeOf(reader.project, request, version.currentPath),
        title: rendered.title,
        classification: rendered.classification,
        toc: rendered.toc,
        html: rendered.html,
        tooLarge: rendered.tooLarge === true,
        head: publisher.snapshotOf(reader.project.id)?.commit ?? null,
        csrfToken: restoreToken(request, reader.project, [rendered.classification, version.currentClassification]),
      });
      return sendPage(request, reply, secret, { title: `${rendered.title} (${version.shortId}) · ${reader.project.name}`, body });
    },
  );

  app.get<{ Params: PathParams & { commit: string } }>('/:org/:project/-/raw/:commit/*', { config: { access: 'policy' } }, async (request, reply) => {
    const reader = await readerOf(request);
    const path = documentPathOf(request.params['*']);
    const commit = await history.resolveCommit(reader, request.params.commit);
    const { source, audit: reads } = await history.versionSource(reader, commit, path);
    await audit(request, reader.project, reads);
    return reply
      .header('content-type', 'text/markdown; charset=utf-8')
      .header('content-disposition', attachmentOf(path, commit))
      .header('cache-control', 'no-store')
      .send(source);
  });

  app.get<{ Params: PathParams & { range: string } }>(
    '/:org/:project/-/compare/:range/*',
    { config: { access: 'policy' } },
    async (request, reply) => {
      const reader = await readerOf(request);
      const path = documentPathOf(request.params['*']);
      const match = /^([0-9a-f]{7,40})\.\.([0-9a-f]{7,40})$/.exec(request.params.range);
      if (!match) throw new NotFoundError();
      const from = await history.resolveCommit(reader, match[1]!);
      const to = await history.resolveCommit(reader, match[2]!);
      const comparison = await history.compare(reader, from, to, path);
      await audit(request, reader.project, comparison.audit);
      const body = renderCompareBody({
        chrome: chromeOf(reader.project, request, comparison.currentPath),
        path: comparison.path,
        title: comparison.title,
        currentPath: comparison.currentPath,
        from: comparison.from,
        to: comparison.to,
        diff: comparison.diff && {
          summary: summaryText(comparison.diff.redline.summary),
          counts: comparison.diff.redline.counts,
          redlineHtml: comparison.diff.redline.html,
          source: comparison.diff.source,
        },
        csrfToken: comparison.from.classification
          ? restoreToken(request, reader.project, [comparison.from.classification, comparison.currentClassification])
          : null,
      });
      return sendPage(request, reply, secret, { title: `Compare: ${comparison.title} · ${reader.project.name}`, body });
    },
  );

  app.get<{ Params: ProjectParams } & PageQuery>('/:org/:project/-/commits', { config: { access: 'policy' } }, async (request, reply) => {
    const reader = await readerOf(request);
    const result = await history.projectHistory(reader, pageOf(request.query.page));
    const body = renderCommitsBody({ chrome: chromeOf(reader.project, request, null), ...result });
    return sendPage(request, reply, secret, { title: `Changes · ${reader.project.name}`, body });
  });

  /** The confirmation page of a restore (with the reason typed so far and what was wrong with it). */
  async function restorePage(request: FastifyRequest<{ Params: PathParams & { commit: string } }>, reason: string, error: string | null, refusedForReview?: string) {
    const reader = await readerOf(request);
    const path = documentPathOf(request.params['*']);
    const commit = await history.resolveCommit(reader, request.params.commit);
    const version = await history.version(reader, commit, path);
    const classifications = [version.rendered.classification, version.currentClassification];
    // who may not edit both versions is refused the policy's way (the page has nothing for them to confirm)
    for (const classification of classifications) {
      authorize(request.actor, 'edit', { kind: 'document', orgId: reader.project.orgId, classification }, 'You may read this document but not change it.');
    }
    const csrfToken = restoreToken(request, reader.project, classifications);
    if (!csrfToken) throw new NotAuthenticatedError();
    await audit(request, reader.project, version.audit);
    // protected main: a version of a document that needs review is proposed (a draft and a change request)
    const review = refusedForReview ?? (await deps.restorer.reviewOf(reader, commit, path));
    const body = renderRestoreBody({
      review,
      ...version,
      chrome: chromeOf(reader.project, request, version.currentPath),
      title: version.rendered.title,
      classification: version.rendered.classification,
      csrfToken,
      reason,
      error,
    });
    return { body, title: `Restore: ${version.rendered.title} · ${reader.project.name}` };
  }

  // Restoring asks first: the version, what will happen, and a reason (commit message and audit event).
  app.get<{ Params: PathParams & { commit: string } }>('/:org/:project/-/restore/:commit/*', { config: { access: 'policy' } }, async (request, reply) => {
    const page = await restorePage(request, '', null);
    return sendPage(request, reply, secret, page);
  });

  app.post<{ Params: PathParams & { commit: string }; Body: { reason?: unknown; propose?: unknown } }>(
    '/:org/:project/-/restore/:commit/*',
    { config: { access: 'policy' } },
    async (request, reply) => {
      const raw = typeof request.body?.reason === 'string' ? request.body.reason : '';
      const propose = request.body?.propose === 'yes';
      const reason = raw.replace(/\r\n?/g, '\n').trim();
      if (reason === '' || reason.length > MAX_RESTORE_REASON) {
        const error = reason === '' ? 'Give a reason for restoring this version.' : `The reason is too long (at most ${MAX_RESTORE_REASON} characters).`;
        const page = await restorePage(request, raw.slice(0, MAX_RESTORE_REASON * 2), error);
        return sendPage(request, reply, secret, { ...page, status: 400 });
      }
      const reader = await readerOf(request);
      const path = documentPathOf(request.params['*']);
      const commit = await history.resolveCommit(reader, request.params.commit);
      try {
        if (propose) {
          const proposed = await deps.restorer.propose(reader, commit, path, reason);
          const title = `Restore ${proposed.path}: ${reason.split('\n', 1)[0]!}`;
          const number = await deps.changeRequests.open(reader.project, reader.actor, { branch: proposed.branch, title: title.slice(0, 200) }, reader.grants);
          return reply.redirect(`${projectUrl(reader.project)}-/changes/${number}?notice=opened`, 303);
        }
        const result = await deps.restorer.restore(reader, commit, path, reason);
        return reply.redirect(documentUrl(reader.project, result.path), 303);
      } catch (error) {
        // protected main, the link gate, the change rules: the confirmation again with why (and "Propose change")
        if (!(error instanceof ReviewRequiredError || error instanceof BrokenLinksRefusedError || error instanceof ChangeRefusedError)) throw error;
        const page = await restorePage(request, raw.slice(0, MAX_RESTORE_REASON * 2), error.message, error instanceof ReviewRequiredError ? (error.documents[0]?.reason ?? 'needs review before it is published') : undefined);
        return sendPage(request, reply, secret, { ...page, status: error.status });
      }
    },
  );
}

/** `attachment` with the file's name and the short commit id: `name-1a2b3c4d.md` (RFC 6266, UTF-8 form too). */
function attachmentOf(path: string, commit: string): string {
  const base = (path.split('/').pop() ?? 'document.md').replace(/\.md$/i, '');
  const name = `${base}-${commit.slice(0, 8)}.md`;
  const ascii = name.replace(/[^A-Za-z0-9._-]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/** `?page=N` (1 when absent); anything else is a 404. */
function pageOf(value: string | undefined): number {
  if (value === undefined) return 1;
  if (!/^[1-9]\d{0,4}$/.test(value)) throw new NotFoundError();
  return Number(value);
}

/** The compare form's first choice: the newest readable version against the one before it. */
function defaultPick(entries: readonly { hidden: boolean; status: string; commit: string }[]): { from: string | null; to: string | null } {
  const readable = entries.filter((e) => !e.hidden && e.status !== 'D');
  return { to: readable[0]?.commit ?? null, from: readable[1]?.commit ?? null };
}
