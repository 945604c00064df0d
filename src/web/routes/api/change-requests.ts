/**
 * REST API: change requests. Every decision is the change-requests service's (changes/change-requests.ts), as
 * for the pages: a request the token's owner may not see is the one 404; opening one with an edit commits it to
 * a new draft branch through the editor (changes/editor.ts `propose`, the branch-move protocol), then opens the
 * request; approving follows the approval rules (the author and roles below member are refused with 403).
 */
import { z } from 'zod';
import { PAGE_SIZE, type ChangeRequestSummary, type ChangeRequestView } from '../../../changes/change-requests.ts';
import { MAX_PROPOSED_DOCUMENTS } from '../../../changes/commands/propose-changes.ts';
import { NotFoundError } from '../../../errors.ts';
import { operation, type ApiOperation } from '../../api/operation.ts';
import { classification, cursor, documentPath, isoTime, limit, listOf, projectParams } from '../../api/schemas.ts';
import { assertMayWrite, onDocument, openProject, type ApiDeps } from './deps.ts';

const changeParams = projectParams.extend({ number: z.string().regex(/^[1-9][0-9]{0,8}$/) });

const summary = z.object({
  number: z.number().int(),
  title: z.string(),
  state: z.enum(['open', 'merged', 'closed']),
  branch: z.string(),
  author: z.object({ name: z.string() }),
  createdAt: isoTime,
  documents: z.number().int().describe('Documents the change touches.'),
  needsReview: z.boolean(),
  mergeable: z.boolean(),
  waitingForMe: z.boolean().describe('Open, not yours, your approval would count, and you have not reviewed its head commit.'),
});

const detail = z.object({
  number: z.number().int(),
  title: z.string(),
  state: z.enum(['open', 'merged', 'closed']),
  branch: z.string(),
  headCommit: z.string(),
  mergeCommit: z.string().nullable(),
  author: z.object({ name: z.string(), email: z.string() }),
  createdAt: isoTime,
  mergeable: z.boolean(),
  description: z.string(),
  documents: z.array(z.object({ path: z.string(), before: classification.nullable(), after: classification.nullable() })),
  needsReview: z.boolean(),
  outstanding: z.array(z.string()).describe('What is still needed before it can be merged, in words.'),
  reviews: z.array(
    z.object({
      id: z.string(),
      reviewer: z.string(),
      verdict: z.enum(['approve', 'request-changes', 'comment']),
      body: z.string(),
      commit: z.string(),
      outdated: z.boolean().describe('Given on an older head commit.'),
      createdAt: isoTime,
      dismissed: z.object({ reason: z.string() }).nullable(),
    }),
  ),
});

const presentSummary = (cr: ChangeRequestSummary) => ({
  number: cr.number,
  title: cr.title,
  state: cr.state,
  branch: cr.branch,
  author: { name: cr.author.name },
  createdAt: cr.createdAt.toISOString(),
  documents: cr.documentCount,
  needsReview: cr.needsReview,
  mergeable: cr.mergeable,
  waitingForMe: cr.waitingForMe,
});

const present = (cr: ChangeRequestView) => ({
  number: cr.number,
  title: cr.title,
  state: cr.state,
  branch: cr.branch,
  headCommit: cr.headCommit,
  mergeCommit: cr.mergeCommit,
  author: { name: cr.author.name, email: cr.author.email },
  createdAt: cr.createdAt.toISOString(),
  mergeable: cr.verdict.mergeable,
});

const presentDetail = (cr: ChangeRequestView) => ({
  ...present(cr),
  description: cr.description,
  documents: cr.documents.map((d) => ({ path: d.path, before: d.before?.classification ?? null, after: d.after?.classification ?? null })),
  needsReview: cr.verdict.needsReview,
  outstanding: cr.verdict.outstanding,
  reviews: cr.reviews.map((r) => ({
    id: r.id,
    reviewer: r.name,
    verdict: r.verdict,
    body: r.body,
    commit: r.commit,
    outdated: r.commit !== cr.headCommit,
    createdAt: r.createdAt.toISOString(),
    dismissed: r.dismissed ? { reason: r.dismissed.reason } : null,
  })),
});

const openBody = z.union([
  z.object({
    title: z.string().min(1).max(200),
    description: z.string().max(20000).optional(),
    branch: z.string().min(1).max(200).describe('An existing draft branch (pushed with git).'),
  }).strict(),
  z.object({
    title: z.string().min(1).max(200),
    description: z.string().max(20000).optional(),
    edit: z
      .object({
        path: documentPath,
        content: z.string().max(512 * 1024).describe('The document’s complete new Markdown text.'),
        base: z.string().regex(/^[0-9a-f]{40}$/).optional().describe('The published commit the edit is based on (default: the published head).'),
        message: z.string().max(2000).optional().describe('The commit message.'),
      })
      .strict()
      .describe('Commits the edit to a new draft branch, then opens the change request for it.'),
  }).strict(),
  z.object({
    title: z.string().min(1).max(200),
    description: z.string().max(20000).optional(),
    edits: z
      .array(
        z
          .object({
            path: documentPath,
            content: z.string().max(512 * 1024).nullable().describe('The document’s complete new Markdown text; null deletes it.'),
          })
          .strict(),
      )
      .min(1)
      .max(MAX_PROPOSED_DOCUMENTS)
      .describe('Several documents (new texts, new documents, deletions) committed together to a new draft branch, for one change request.'),
    base: z.string().regex(/^[0-9a-f]{40}$/).optional().describe('The published commit the edits are based on (default: the published head).'),
    message: z.string().max(2000).optional().describe('The commit message.'),
  }).strict(),
]);

export function changeRequestOperations(deps: ApiDeps): ApiOperation[] {
  const { changeRequests, cursors } = deps;

  return [
    operation({
      id: 'listChangeRequests',
      method: 'GET',
      path: '/projects/{org}/{project}/change-requests',
      summary: 'Change requests of a project you may see, newest first',
      tag: 'change requests',
      scope: 'read',
      params: projectParams,
      query: z.object({
        state: z.enum(['open', 'merged', 'closed']).default('open'),
        filter: z.enum(['review']).optional().describe('`review`: only those waiting for your review.'),
        cursor: cursor.optional(),
        limit: limit(PAGE_SIZE, PAGE_SIZE),
      }),
      response: listOf(summary),
      errors: [404],
      async handle({ request, actor, query }) {
        const { project, grants } = await openProject(deps, request);
        // the service pages by PAGE_SIZE with the visibility rule in its query; a cursor names the next page
        const binding = { operation: 'listChangeRequests', userId: actor.userId, filters: { project: project.id, state: query.state, filter: query.filter ?? '' } };
        const offset = cursors.offset(binding, query.cursor);
        const pageNumber = Math.floor(offset / PAGE_SIZE) + 1;
        const { rows, hasMore } = await changeRequests.list(project, actor, grants, { state: query.state, page: pageNumber, ...(query.filter ? { filter: query.filter } : {}) });
        const start = offset % PAGE_SIZE;
        const items = rows.slice(start, start + query.limit).map(presentSummary);
        const more = rows.length > start + query.limit || hasMore;
        return { items, nextCursor: more && items.length > 0 ? cursors.encode(binding, offset + items.length) : null };
      },
    }),

    operation({
      id: 'getChangeRequest',
      method: 'GET',
      path: '/projects/{org}/{project}/change-requests/{number}',
      summary: 'One change request with its documents, reviews and what it still needs',
      tag: 'change requests',
      scope: 'read',
      params: changeParams,
      response: detail,
      errors: [404],
      async handle({ request, actor, params }) {
        const { project, grants } = await openProject(deps, request);
        return presentDetail(await changeRequests.get(project, actor, Number(params.number), grants));
      },
    }),

    operation({
      id: 'openChangeRequest',
      method: 'POST',
      path: '/projects/{org}/{project}/change-requests',
      summary: 'Open a change request, for a pushed draft branch or with edits of one or several documents',
      tag: 'change requests',
      scope: 'write',
      params: projectParams,
      body: openBody,
      status: 201,
      response: detail,
      errors: [403, 404, 409],
      async handle({ request, actor, body }) {
        const { project, grants } = await openProject(deps, request);
        assertMayWrite(actor, project);
        let branch: string;
        if ('edits' in body) {
          const base = body.base ?? deps.publisher.snapshotOf(project.id)?.commit;
          if (!base) throw new NotFoundError();
          ({ branch } = await deps.editor.proposeMany(project, actor, { base, edits: body.edits, message: body.message ?? '' }, grants));
        } else if ('edit' in body) {
          const base = body.edit.base ?? deps.publisher.snapshotOf(project.id)?.commit;
          if (!base) throw new NotFoundError();
          const edit = { path: body.edit.path, base, content: body.edit.content, message: body.edit.message ?? '' };
          ({ branch } = await onDocument(project, body.edit.path, () => deps.editor.propose(project, actor, edit, grants)));
        } else {
          branch = body.branch;
        }
        const number = await changeRequests.open(project, actor, { branch, title: body.title, description: body.description ?? '' }, grants);
        return presentDetail(await changeRequests.get(project, actor, number, grants));
      },
    }),

    operation({
      id: 'commentOnChangeRequest',
      method: 'POST',
      path: '/projects/{org}/{project}/change-requests/{number}/comments',
      summary: 'Comment on a change request',
      tag: 'change requests',
      scope: 'write',
      params: changeParams,
      body: z.object({ body: z.string().min(1).max(20000) }).strict(),
      status: 201,
      response: detail,
      errors: [403, 404, 409],
      async handle({ request, actor, params, body }) {
        const { project, grants } = await openProject(deps, request);
        const number = Number(params.number);
        await changeRequests.get(project, actor, number, grants);
        assertMayWrite(actor, project);
        await changeRequests.review(project, actor, number, { verdict: 'comment', body: body.body }, grants);
        return presentDetail(await changeRequests.get(project, actor, number, grants));
      },
    }),

    operation({
      id: 'approveChangeRequest',
      method: 'POST',
      path: '/projects/{org}/{project}/change-requests/{number}/approvals',
      summary: 'Approve a change request (members and above, never one’s own)',
      tag: 'change requests',
      scope: 'write',
      params: changeParams,
      body: z.object({ body: z.string().max(20000).optional() }).strict(),
      status: 201,
      response: detail,
      errors: [403, 404, 409],
      async handle({ request, actor, params, body }) {
        const { project, grants } = await openProject(deps, request);
        const number = Number(params.number);
        await changeRequests.get(project, actor, number, grants);
        assertMayWrite(actor, project);
        await changeRequests.review(project, actor, number, { verdict: 'approve', body: body.body ?? '' }, grants);
        return presentDetail(await changeRequests.get(project, actor, number, grants));
      },
    }),
  ];
}
