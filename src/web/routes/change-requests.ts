/**
 * Change request pages: `/{org}/{project}/-/changes` (list, open form), `/-/changes/{n}` (one request) and its
 * plain-HTML forms (approve, request changes, comment, dismiss, merge, close, reopen). Every decision is the
 * service's (changes/change-requests.ts); a request the reader may not see answers 404 like one that does not exist.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { can } from '../../access/policy.ts';
import type { ChangeRequests, ChangeRequestView } from '../../changes/change-requests.ts';
import { diffLines } from '../../changes/conflicts.ts';
import { AppError, NotFoundError } from '../../errors.ts';
import type { ProjectRecord } from '../../projects/projects.ts';
import { sessionCsrfToken } from '../csrf.ts';
import type { ResourceOpener } from '../open-resource.ts';
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
  open: ResourceOpener;
  changeRequests: ChangeRequests;
  grantsFor: GrantLookup;
  secret: Buffer;
}

type ProjectParams = { org: string; project: string };
type ChangeParams = ProjectParams & { n: string };

/** Largest document text (either version) whose line diff is shown on the page (the diff runs on this thread). */
const MAX_DIFF_BYTES = 64 * 1024;
const openForm = z.object({ branch: z.string().max(200).default(''), title: z.string().max(400).default(''), description: z.string().max(40000).default('') });
const reviewForm = z.object({ body: z.string().max(40000).default('') });
const dismissForm = z.object({ reason: z.string().max(1000).default('') });
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
    const query = request.query as { state?: string; notice?: string };
    const state = query.state === 'merged' || query.state === 'closed' ? query.state : 'open';
    const views = await changeRequests.list(ctx.project, ctx.actor, ctx.grants, state);
    const canPropose = can(ctx.actor, 'edit', { kind: 'project', orgId: ctx.project.orgId });
    const view: ChangeRequestListView = {
      project: ctx.view,
      state,
      rows: views.map((cr) => ({
        number: cr.number,
        title: cr.title,
        state: cr.state,
        author: cr.author.name,
        branch: cr.branch,
        createdAt: cr.createdAt.toISOString(),
        documents: cr.documents.length,
        mergeable: cr.verdict.mergeable,
        waitingForMe: cr.state === 'open' && cr.author.id !== ctx.actor.userId && cr.verdict.needsReview && !cr.reviews.some((r) => r.userId === ctx.actor.userId && r.commit === cr.headCommit && r.verdict !== 'comment'),
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
    const sources = await changeRequests.sources(ctx.project, cr);
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
        const text = sources.find((s) => s.path === doc.path);
        const small = text && (text.before ?? '').length <= MAX_DIFF_BYTES && (text.after ?? '').length <= MAX_DIFF_BYTES;
        return { path: doc.path, before: doc.before?.classification ?? null, after: doc.after?.classification ?? null, diff: small ? diffLines(text.before ?? '', text.after ?? '') : null };
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
      const open = (await changeRequests.list(ctx.project, ctx.actor, ctx.grants, 'open')).find((cr) => cr.branch === branch);
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
      const outcome = await changeRequests.merge(ctx.project, ctx.actor, n, ctx.grants);
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
