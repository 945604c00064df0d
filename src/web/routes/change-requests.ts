/**
 * Change request pages: `/{org}/{project}/-/changes` (list, open form), `/-/changes/{n}` (one request) and its
 * plain-HTML forms (approve, request changes, comment, dismiss, merge, close, reopen). Every decision is the
 * service's (changes/change-requests.ts); a request the reader may not see answers 404 like one that does not exist.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { can } from '../../access/policy.ts';
import type { ChangeRequests, ChangeRequestView } from '../../changes/change-requests.ts';
import { AppError, NotAuthenticatedError, NotFoundError } from '../../errors.ts';
import type { ProjectCatalog } from '../../projects/catalog.ts';
import type { ProjectRecord } from '../../projects/projects.ts';
import { sessionCsrfToken } from '../csrf.ts';
import { sendPage } from '../page.ts';
import type { GrantLookup } from '../reading-pages.ts';
import {
  changeUrl,
  renderChangeRequestBody,
  renderChangeRequestListBody,
  type ChangeRequestListView,
  type ChangeRequestPageView,
} from '../views/change-requests.tsx';
import type { ViewProject } from '../views/types.ts';

interface Deps {
  catalog: ProjectCatalog;
  changeRequests: ChangeRequests;
  grantsFor: GrantLookup;
  secret: Buffer;
}

type ProjectParams = { org: string; project: string };
type ChangeParams = ProjectParams & { n: string };

const openForm = z.object({ branch: z.string().max(200).default(''), title: z.string().max(400).default(''), description: z.string().max(40000).default('') });
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
  closed: 'The change request is closed. Its branch is kept.',
  reopened: 'The change request is open again.',
};

export function registerChangeRequestRoutes(app: FastifyInstance, deps: Deps): void {
  const { catalog, changeRequests, secret } = deps;

  async function resolve(request: FastifyRequest<{ Params: ProjectParams }>) {
    const actor = request.actor;
    if (actor.kind !== 'user') throw new NotAuthenticatedError();
    const project = await catalog.find(request.params.org, request.params.project);
    if (!project || !can(actor, 'read', { kind: 'project', orgId: project.orgId })) throw new NotFoundError();
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
    const cr = await changeRequests.get(ctx.project, ctx.actor, numberOf(request), ctx.grants);
    const notice = NOTICES[(request.query as { notice?: string }).notice ?? ''] ?? null;
    const view = await pageView(ctx, cr, notice);
    return sendPage(request, reply, secret, { title: `!${cr.number} ${cr.title} · ${ctx.project.name}`, body: renderChangeRequestBody({ ...view, ...extra }), status });
  }

  async function pageView(ctx: Awaited<ReturnType<typeof resolve>>, cr: ChangeRequestView, notice: string | null): Promise<ChangeRequestPageView> {
    // the line diffs run in the budget worker pool (the service's lineDiffs), not on this thread
    const diffs = await changeRequests.lineDiffs(ctx.project, cr);
    const isAuthor = cr.author.id === ctx.actor.userId;
    const editor = can(ctx.actor, 'edit', { kind: 'project', orgId: ctx.project.orgId });
    const admin = can(ctx.actor, 'manage', { kind: 'project', orgId: ctx.project.orgId });
    return {
      project: ctx.view,
      csrfToken: ctx.csrfToken,
      number: cr.number,
      title: cr.title,
      description: cr.description,
      state: cr.state,
      branch: cr.branch,
      head: cr.headCommit,
      mergeCommit: cr.mergeCommit,
      author: cr.author.name,
      createdAt: cr.createdAt.toISOString(),
      documents: cr.documents.map((doc) => {
        const diff = diffs.find((d) => d.path === doc.path)?.diff ?? null;
        return { path: doc.path, before: doc.before?.classification ?? null, after: doc.after?.classification ?? null, diff };
      }),
      reviews: cr.reviews.map((r) => ({ id: r.id, who: r.name, verdict: r.verdict, body: r.body, at: r.createdAt.toISOString(), commit: r.commit, outdated: r.commit !== cr.headCommit, dismissed: r.dismissed ? { reason: r.dismissed.reason } : null })),
      mergeable: cr.verdict.mergeable,
      needsReview: cr.verdict.needsReview,
      outstanding: cr.verdict.outstanding,
      approvals: cr.verdict.countingApprovals,
      may: { review: editor && !isAuthor, merge: editor, close: isAuthor || admin, dismiss: admin },
      notice,
      error: null,
      conflicts: null,
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
      return sendChange(request, reply, { conflicts: outcome.conflicts }, 409);
    } catch (error) {
      if (error instanceof AppError && [400, 403, 409].includes(error.status)) return sendChange(request, reply, { error: error.message }, error.status);
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
