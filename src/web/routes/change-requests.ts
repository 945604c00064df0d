/**
 * Change request pages: `/{org}/{project}/-/changes` (list, open form), `/-/changes/{n}` (one request: its
 * documents' redlines and source diffs, conflicts with main, the conversation), `/-/changes/{n}/preview/{page}`
 * (a page of the draft as it would read after the merge) and the plain-HTML forms (approve, request changes,
 * comment, dismiss, merge, close, reopen). Every decision is the services' (changes/change-requests.ts,
 * changes/change-request-pages.ts); a request or page the reader may not see answers 404 like a missing one.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { can } from '../../access/policy.ts';
import { auditActorOf } from '../../audit/actor.ts';
import type { AuditGroupCommit } from '../../audit/group-commit.ts';
import type { ChangeRequestPage, ChangeRequestPages } from '../../changes/change-request-pages.ts';
import type { ChangeRequests } from '../../changes/change-requests.ts';
import { AppError, NotFoundError } from '../../errors.ts';
import type { ProjectRecord } from '../../projects/projects.ts';
import { sessionCsrfToken } from '../csrf.ts';
import type { ResourceOpener } from '../open-resource.ts';
import { sendPage } from '../page.ts';
import type { GrantLookup } from '../reading-pages.ts';
import { projectUrl } from '../urls.ts';
import {
  changeUrl,
  previewUrl,
  renderChangeRequestBody,
  renderChangeRequestListBody,
  renderDraftPreviewBody,
  renderResolveBody,
  type ResolveView,
  type ChangeRequestListView,
  type ChangeRequestPageView,
} from '../views/change-requests.tsx';
import { draftEditUrl } from '../views/editor.tsx';
import type { ViewProject } from '../views/types.ts';

interface Deps {
  open: ResourceOpener;
  changeRequests: ChangeRequests;
  /** Redlines, rendered texts, conflicts and previews of a request. */
  pages: ChangeRequestPages;
  /** Audit events of confidential and restricted reads (previews). */
  auditReads: AuditGroupCommit;
  grantsFor: GrantLookup;
  secret: Buffer;
}

type ProjectParams = { org: string; project: string };
type ChangeParams = ProjectParams & { n: string };

const openForm = z.object({ branch: z.string().max(200).default(''), title: z.string().max(400).default(''), description: z.string().max(40000).default('') });
/** The resolution editor's form: the bases, then `path-i` / `content-i` for each conflicting document. */
const RESOLVE_BODY_LIMIT = 8 * 1024 * 1024;
const MAX_RESOLVED_FILES = 50;
function resolveForm(body: unknown): { head: string; main: string; files: { path: string; content: string }[] } {
  const fields = (body ?? {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' ? value : '');
  const files: { path: string; content: string }[] = [];
  for (let i = 0; i < MAX_RESOLVED_FILES && typeof fields[`path-${i}`] === 'string'; i++) files.push({ path: text(fields[`path-${i}`]), content: text(fields[`content-${i}`]) });
  return { head: text(fields.head).slice(0, 100), main: text(fields.main).slice(0, 100), files };
}
const reviewForm = z.object({ body: z.string().max(40000).default('') });
const dismissForm = z.object({ reason: z.string().max(1000).default('') });
const mergeForm = z.object({ editorial: z.literal('yes').optional() });
const NOTICES: Record<string, string> = {
  opened: 'The change request is open. Reviewers see it in the list.',
  approve: 'You approved this change.',
  'request-changes': 'You requested changes: the change cannot be merged until you approve or an admin dismisses your review.',
  comment: 'Your comment was added.',
  dismissed: 'The review was dismissed.',
  merged: 'Merged: the change is published.',
  updated: 'Saved to the draft: the change request shows the new version. Approvals given before need to be given again.',
  resolved: 'The conflicts are resolved: main is merged into the draft. Approvals given before need to be given again.',
  closed: 'The change request is closed. Its branch is kept.',
  reopened: 'The change request is open again.',
};

export function registerChangeRequestRoutes(app: FastifyInstance, deps: Deps): void {
  const { open, changeRequests, secret } = deps;

  async function resolve(request: FastifyRequest<{ Params: ProjectParams }>) {
    const { actor, project } = await open.project(request, 'read', { browserOnly: true });
    return { actor, project, grants: await deps.grantsFor(actor, project), view: viewProject(project), csrfToken: sessionCsrfToken(secret, request.session!.idHash) };
  }

  const numberOf = (request: FastifyRequest<{ Params: ChangeParams }>): number => {
    if (!/^[1-9][0-9]{0,8}$/.test(request.params.n)) throw new NotFoundError();
    return Number(request.params.n);
  };

  async function sendList(request: FastifyRequest<{ Params: ProjectParams }>, reply: FastifyReply, extra: Partial<ChangeRequestListView> = {}, status = 200) {
    const ctx = await resolve(request);
    const query = request.query as { state?: string; filter?: string; page?: string };
    const filter = query.filter === 'review' ? 'review' : null;
    const state = filter ? 'open' : query.state === 'merged' || query.state === 'closed' ? query.state : 'open';
    const page = query.page === undefined ? 1 : /^[1-9][0-9]{0,4}$/.test(query.page) ? Number(query.page) : null;
    if (page === null) throw new NotFoundError();
    const listed = await changeRequests.list(ctx.project, ctx.actor, ctx.grants, { state, page, ...(filter ? { filter } : {}) });
    const canPropose = can(ctx.actor, 'edit', { kind: 'project', orgId: ctx.project.orgId });
    const view: ChangeRequestListView = {
      project: ctx.view,
      state,
      filter,
      page,
      hasMore: listed.hasMore,
      rows: listed.rows.map((cr) => ({
        number: cr.number,
        title: cr.title,
        state: cr.state,
        author: cr.author.name,
        branch: cr.branch,
        createdAt: cr.createdAt.toISOString(),
        documents: cr.documentCount,
        mergeable: cr.mergeable,
        waitingForMe: cr.waitingForMe,
      })),
      drafts: canPropose ? await changeRequests.drafts(ctx.project, ctx.actor) : [],
      canPropose,
      csrfToken: ctx.csrfToken,
      notice: null,
      error: null,
      form: { branch: '', title: '', description: '' },
      ...extra,
    };
    return sendPage(request, reply, secret, { title: `Change requests · ${ctx.project.name}`, body: renderChangeRequestListBody(view), status });
  }

  async function sendChange(request: FastifyRequest<{ Params: ChangeParams }>, reply: FastifyReply, extra: Partial<ChangeRequestPageView> = {}, status = 200) {
    const ctx = await resolve(request);
    const page = await deps.pages.page(ctx.project, ctx.actor, numberOf(request), ctx.grants, projectUrl(ctx.view));
    const cr = page.request;
    const notice = NOTICES[(request.query as { notice?: string }).notice ?? ''] ?? null;
    const view = pageView(ctx, page, notice);
    return sendPage(request, reply, secret, { title: `!${cr.number} ${cr.title} · ${ctx.project.name}`, body: renderChangeRequestBody({ ...view, ...extra }), status });
  }

  function pageView(ctx: Awaited<ReturnType<typeof resolve>>, page: ChangeRequestPage, notice: string | null): ChangeRequestPageView {
    const { request: cr, diffs, texts, conflicts, commits, timeline } = page;
    const isAuthor = cr.author.id === ctx.actor.userId;
    const editor = can(ctx.actor, 'edit', { kind: 'project', orgId: ctx.project.orgId });
    const admin = can(ctx.actor, 'manage', { kind: 'project', orgId: ctx.project.orgId });
    const mayEditDraft = can(ctx.actor, 'edit', { kind: 'change_request', orgId: ctx.project.orgId, authorId: cr.author.id });
    return {
      project: ctx.view,
      csrfToken: ctx.csrfToken,
      number: cr.number,
      title: cr.title,
      description: cr.description,
      descriptionHtml: texts.description,
      state: cr.state,
      branch: cr.branch,
      head: cr.headCommit,
      mergeCommit: cr.mergeCommit,
      author: cr.author.name,
      createdAt: cr.createdAt.toISOString(),
      documents: cr.documents.map((doc, i) => ({
        path: doc.path,
        before: doc.before?.classification ?? null,
        after: doc.after?.classification ?? null,
        diff: diffs[i]!,
        previewHref: doc.after && /\.md$/i.test(doc.path) ? previewUrl(ctx.view, cr.number, doc.path) : null,
        editHref: cr.state === 'open' && mayEditDraft && doc.after && /\.md$/i.test(doc.path) ? draftEditUrl(ctx.view, cr.number, doc.path) : null,
      })),
      commits: commits.commits.map((c) => ({
        oid: c.oid,
        author: c.author,
        at: c.date.toISOString(),
        subject: c.subject,
        href: c.documents[0] ? `${previewUrl(ctx.view, cr.number, c.documents[0])}?at=${c.oid}` : null,
      })),
      moreCommits: commits.more,
      reviews: cr.reviews.map((r, i) => ({
        id: r.id,
        who: r.name,
        verdict: r.verdict,
        body: r.body,
        bodyHtml: texts.reviews[i] ?? null,
        at: r.createdAt.toISOString(),
        commit: r.commit,
        outdated: r.commit !== cr.headCommit,
        dismissed: r.dismissed ? { reason: r.dismissed.reason, by: r.dismissed.by ?? null } : null,
      })),
      steps: timeline.steps.map((step) => ({ kind: step.kind, who: step.who, from: step.from, to: step.to, at: step.at.toISOString() })),
      earlierSteps: timeline.earlier,
      mergeable: cr.verdict.mergeable,
      needsReview: cr.verdict.needsReview,
      outstanding: cr.verdict.outstanding,
      approvals: cr.verdict.countingApprovals,
      may: { review: editor && !isAuthor, merge: editor, close: isAuthor || admin, dismiss: admin, resolve: editor, editDraft: mayEditDraft },
      notice,
      error: null,
      mergeRefused: false,
      conflicts,
    };
  }

  /** Runs a form's action; a refusal the person can fix (409, 400, 403) is shown on the page, anything else is thrown. */
  async function act(request: FastifyRequest<{ Params: ChangeParams }>, reply: FastifyReply, action: (ctx: Awaited<ReturnType<typeof resolve>>, n: number) => Promise<string>) {
    const ctx = await resolve(request);
    const n = numberOf(request);
    try {
      const notice = await action(ctx, n);
      return reply.redirect(`${changeUrl(ctx.view, n)}?notice=${notice}`, 303);
    } catch (error) {
      if (error instanceof AppError && [400, 403, 409].includes(error.status)) {
        // the request must still be visible to this person: `get` inside sendChange answers 404 otherwise
        return sendChange(request, reply, { error: error.message }, error.status);
      }
      throw error;
    }
  }

  app.get<{ Params: ProjectParams; Querystring: { branch?: string } }>('/:org/:project/-/changes', { config: { access: 'policy' } }, async (request, reply) => {
    // `?branch=`: where a push with `-o change.open` points: the branch's open change request, when it may be seen
    const branch = typeof request.query.branch === 'string' ? request.query.branch.slice(0, 200) : '';
    if (branch) {
      const ctx = await resolve(request);
      const open = (await changeRequests.list(ctx.project, ctx.actor, ctx.grants, { state: 'open', branch })).rows[0];
      if (open) return reply.redirect(changeUrl(ctx.view, open.number), 303);
    }
    return sendList(request, reply);
  });

  app.post<{ Params: ProjectParams }>('/:org/:project/-/changes', { config: { access: 'policy' } }, async (request, reply) => {
    const ctx = await resolve(request);
    const form = parse(openForm, request.body);
    try {
      const n = await changeRequests.open(ctx.project, ctx.actor, form, ctx.grants);
      return reply.redirect(`${changeUrl(ctx.view, n)}?notice=opened`, 303);
    } catch (error) {
      if (error instanceof AppError && [400, 409].includes(error.status)) return sendList(request, reply, { error: error.message, form }, error.status);
      throw error;
    }
  });

  app.get<{ Params: ChangeParams }>('/:org/:project/-/changes/:n', { config: { access: 'policy' } }, (request, reply) => sendChange(request, reply));

  for (const verdict of ['approve', 'request-changes', 'comment'] as const) {
    app.post<{ Params: ChangeParams }>(`/:org/:project/-/changes/:n/${verdict}`, { config: { access: 'policy' } }, (request, reply) =>
      act(request, reply, async (ctx, n) => {
        await changeRequests.review(ctx.project, ctx.actor, n, { verdict, body: parse(reviewForm, request.body).body }, ctx.grants);
        return verdict;
      }),
    );
  }

  app.post<{ Params: ChangeParams & { id: string } }>('/:org/:project/-/changes/:n/reviews/:id/dismiss', { config: { access: 'policy' } }, (request, reply) =>
    act(request, reply, async (ctx, n) => {
      if (!/^[0-9]{1,18}$/.test(request.params.id)) throw new NotFoundError();
      await changeRequests.dismiss(ctx.project, ctx.actor, n, request.params.id, parse(dismissForm, request.body).reason, ctx.grants);
      return 'dismissed';
    }),
  );

  app.post<{ Params: ChangeParams }>('/:org/:project/-/changes/:n/merge', { config: { access: 'policy' } }, async (request, reply) => {
    const ctx = await resolve(request);
    const n = numberOf(request);
    try {
      const outcome = await changeRequests.merge(ctx.project, ctx.actor, n, ctx.grants, { editorial: parse(mergeForm, request.body).editorial === 'yes' });
      if (outcome.merged) return reply.redirect(`${changeUrl(ctx.view, n)}?notice=merged`, 303);
      // the conflicts themselves are on the page (those the reader may see): the merge's own list is not shown
      return sendChange(request, reply, { mergeRefused: true }, 409);
    } catch (error) {
      if (error instanceof AppError && [400, 403, 409].includes(error.status)) return sendChange(request, reply, { error: error.message }, error.status);
      throw error;
    }
  });

  // a page of the draft as it would read after the merge; `*` is its page address (`policies/x`, `policies/`)
  app.get<{ Params: ChangeParams & { '*': string } }>('/:org/:project/-/changes/:n/preview/*', { config: { access: 'policy' } }, async (request, reply) => {
    const ctx = await resolve(request);
    const address = request.params['*'];
    if (/\.[A-Za-z0-9]{1,10}$/.test(address) && !/\.md$/i.test(address)) {
      // a file a previewed page links to (an image): the preview has no files of its own, the published site does
      return reply.redirect(projectUrl(ctx.view) + address.split('/').map(encodeURIComponent).join('/'), 303);
    }
    // `?at=`: the page as one of the draft's commits left it (the commits list links there)
    const at = (request.query as { at?: unknown }).at;
    if (at !== undefined && (typeof at !== 'string' || !/^[0-9a-f]{40}$/.test(at))) throw new NotFoundError();
    const preview = await deps.pages.preview(ctx.project, ctx.actor, numberOf(request), address, ctx.grants, at);
    if (preview.audited) {
      // durable before the page leaves, as for reading pages
      await deps.auditReads.append({
        orgId: ctx.project.orgId,
        actor: auditActorOf(request.actor),
        action: 'document.read',
        target: { type: 'document', id: `${ctx.project.id}:${preview.audited.path}`, label: preview.audited.path },
        outcome: 'success',
        requestId: request.id,
        ip: request.ip,
        details: { classification: preview.audited.classification, commit: preview.audited.commit, change_request: preview.request.number },
      });
    }
    const body = renderDraftPreviewBody({
      project: ctx.view,
      number: preview.request.number,
      title: preview.request.title,
      state: preview.request.state,
      path: preview.path,
      basis: preview.basis,
      commit: preview.commit ?? null,
      changed: preview.changed,
      document: { title: preview.rendered.title, classification: preview.rendered.classification, html: preview.rendered.html, toc: preview.rendered.toc, tooLarge: preview.rendered.tooLarge === true },
      documents: preview.documents.map((d) => ({ ...d, href: previewUrl(ctx.view, preview.request.number, d.path) })),
    });
    return sendPage(request, reply, secret, { title: `Preview: ${preview.rendered.title} · !${preview.request.number} · ${ctx.project.name}`, body });
  });

  // "Resolve in the editor": the conflicting documents' merged text (git's conflict markers and all) in a form
  async function sendResolve(request: FastifyRequest<{ Params: ChangeParams }>, reply: FastifyReply, extra: Partial<ResolveView> = {}, status = 200) {
    const ctx = await resolve(request);
    const opened = await deps.pages.conflictResolution(ctx.project, ctx.actor, numberOf(request), ctx.grants);
    const view: ResolveView = {
      project: ctx.view,
      csrfToken: ctx.csrfToken,
      number: opened.request.number,
      title: opened.request.title,
      branch: opened.request.branch,
      head: opened.head,
      main: opened.main,
      documents: opened.documents,
      error: null,
      ...extra,
    };
    return sendPage(request, reply, secret, { title: `Resolve conflicts: !${view.number} ${view.title} · ${ctx.project.name}`, body: renderResolveBody(view), status });
  }

  app.get<{ Params: ChangeParams }>('/:org/:project/-/changes/:n/resolve', { config: { access: 'policy' } }, (request, reply) => sendResolve(request, reply));

  app.post<{ Params: ChangeParams }>('/:org/:project/-/changes/:n/resolve', { config: { access: 'policy' }, bodyLimit: RESOLVE_BODY_LIMIT }, async (request, reply) => {
    const ctx = await resolve(request);
    const n = numberOf(request);
    const form = resolveForm(request.body);
    try {
      await deps.pages.resolve(ctx.project, ctx.actor, n, form, ctx.grants);
      return reply.redirect(`${changeUrl(ctx.view, n)}?notice=resolved`, 303);
    } catch (error) {
      // the author keeps their text, with what is wrong with it; a draft or main that moved gets the editor anew
      if (error instanceof AppError && [400, 403].includes(error.status)) {
        const typed = new Map(form.files.map((f) => [f.path, f.content]));
        const opened = await deps.pages.conflictResolution(ctx.project, ctx.actor, n, ctx.grants);
        const documents = opened.documents.map((d) => ({ path: d.path, text: typed.get(d.path) ?? d.text }));
        return sendResolve(request, reply, { documents, error: error.message }, error.status);
      }
      if (error instanceof AppError && error.status === 409) return sendResolve(request, reply, { error: error.message }, 409);
      throw error;
    }
  });

  for (const [verb, open] of [['close', false], ['reopen', true]] as const) {
    app.post<{ Params: ChangeParams }>(`/:org/:project/-/changes/:n/${verb}`, { config: { access: 'policy' } }, (request, reply) =>
      act(request, reply, async (ctx, n) => {
        await changeRequests.setOpen(ctx.project, ctx.actor, n, open, ctx.grants);
        return open ? 'reopened' : 'closed';
      }),
    );
  }

}

function parse<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) throw new AppError('The form could not be read. Reload the page and try again.', 400, 'invalid_input');
  return parsed.data;
}

function viewProject(project: ProjectRecord): ViewProject {
  return { orgSlug: project.orgSlug, orgName: project.orgName, slug: project.slug, name: project.name };
}
