/**
 * Change requests (issue #13): a draft branch of a project proposed for the published branch, reviewed under
 * the approval rules (approval-rules.ts) and merged with a merge commit through the branch-move protocol.
 *
 * - Who sees one: a member who may read every document it touches, in the published version and in the draft.
 *   To anyone else it does not exist (404, absent from lists and counts).
 * - Reviews are pinned to the head commit they were given on: a new commit on the draft dismisses approvals
 *   (they stop counting; the timeline still shows them).
 * - The merge commit's message carries `Change-Request: n` and one `Approved-by:` trailer per counting approval,
 *   so the approval record lives in the repository. The request is marked merged in the transaction of the
 *   merge's audit events; a draft merged any other way (a push of main containing it) is marked by the listener.
 * - Every step is audited (opened, updated, approved, changes requested, commented, dismissed, merged, closed,
 *   reopened), naming the request by number, never by its title.
 */
import { sql, type Transaction } from 'kysely';
import type { UserActor } from '../access/actor.ts';
import { authorize } from '../access/authorize.ts';
import { can, clearanceFor, type Grants, type Resource } from '../access/policy.ts';
import { isRole, roleAtLeast, ROLES } from '../access/roles.ts';
import { clearanceCovers, CLASSIFICATION_ORDER } from '../content/classification.ts';
import { withEditorialTrailer } from '../evidence/editorial-trailer.ts';
import { roleIn } from '../access/actor.ts';
import { recordAuditEvent, type AuditEventInput } from '../audit/audit-log.ts';
import { parseFrontMatter } from '../content/front-matter.ts';
import type { Classification } from '../content/types.ts';
import { withOrg, type Db } from '../db/connection.ts';
import { enqueueChangeRequestEvent, webhookActorOf } from '../webhooks/domain-events.ts';
import type { WebhookActor } from '../webhooks/events.ts';
import type { Database, Role } from '../db/schema.ts';
import { ConflictError, InvalidInputError, NotFoundError } from '../errors.ts';
import { BranchMovedError } from '../git/errors.ts';
import { refNameProblem } from '../git/refs.ts';
import type { Repository } from '../git/repository.ts';
import type { ProjectRecord } from '../projects/projects.ts';
import { PUBLISHED_BRANCH } from '../content/published-branch.ts';
import type { RepositoryRegistry } from '../projects/repositories.ts';
import { judge, needsReview, requirementOf, type Requirement, type Review, type ReviewSettings, type TouchedDocument, type Verdict } from './approval-rules.ts';
import type { BranchMoveListener, BranchMoved } from './branch-moved.ts';
import type { BranchMoves } from './branch-moves.ts';
import { CommitMemo } from '../caching/commit-memo.ts';
import { assertTreePublishable, type PublishGateDeps } from './publish-gate.ts';
import { moveRequestHead, noteStep, stepActorOf, timelineOf, type TimelineStep } from './change-request-timeline.ts';

export type ChangeRequestState = 'open' | 'merged' | 'closed';
export type ReviewVerdict = 'approve' | 'request-changes' | 'comment';

export interface ChangeRequestDeps extends PublishGateDeps {
  db: Db;
  repositories: RepositoryRegistry;
  branchMoves: BranchMoves;
}

/** One document the change touches, with its version on the published branch and in the draft. */
export interface ChangedDocument {
  path: string;
  before: { blob: string; classification: Classification; approvers?: string[] } | null;
  after: { blob: string; classification: Classification; approvers?: string[] } | null;
}

export interface ReviewRecord {
  id: string;
  userId: string;
  email: string;
  name: string;
  role: Role | null;
  verdict: ReviewVerdict;
  commit: string;
  body: string;
  createdAt: Date;
  /** `by`: the admin's name (read for one request's page; null in lists). */
  dismissed: { at: Date; reason: string; by?: string | null } | null;
}

export interface ChangeRequestView {
  id: string;
  number: number;
  title: string;
  description: string;
  state: ChangeRequestState;
  branch: string;
  headCommit: string;
  /** The published branch's head now (the merge's base). */
  mainCommit: string | null;
  author: { id: string; email: string; name: string };
  createdAt: Date;
  mergeCommit: string | null;
  documents: ChangedDocument[];
  reviews: ReviewRecord[];
  verdict: Verdict;
}

/** A change request as the list shows it: no document path or text, only what the summary stored. */
export interface ChangeRequestSummary {
  number: number;
  title: string;
  state: ChangeRequestState;
  branch: string;
  author: { id: string; name: string };
  createdAt: Date;
  documentCount: number;
  needsReview: boolean;
  mergeable: boolean;
  /** Open, not the reader's own, their approval would count, and they have not reviewed its head yet. */
  waitingForMe: boolean;
}

export interface ListOptions {
  state?: ChangeRequestState;
  /** 'review': only "waiting for my review". */
  filter?: 'review';
  /** Only the request of this branch. */
  branch?: string;
  /** 1-based page of PAGE_SIZE rows. */
  page?: number;
}

/**
 * One commit of a draft as its change request's page lists it. `subject` (the message's first line, never its body
 * or trailers) is null when the commit touches a path the reader may not read, in either version: a message may
 * name anything, and only a commit wholly within what the reader may read is trusted to name nothing hidden.
 */
export interface DraftCommit {
  oid: string;
  author: string;
  date: Date;
  subject: string | null;
  /** The documents the commit changes that exist after it (when `subject` is shown), for links to those versions. */
  documents: string[];
}

/** What `commits` knows of a draft's commits before it asks what one reader may read. */
interface DraftCommitFacts {
  /** Each commit without its message's body (never shown, and of any size), with the versions of what it touches. */
  commits: { oid: string; author: string; date: Date; subject: string; touched: ChangedDocument[] | null }[];
  more: boolean;
}

/** Commits a change request's page lists (the newest; a longer draft says how many more there are). */
export const MAX_LISTED_COMMITS = 100;
/** A commit touching more paths than this is not read path by path: its subject is not shown. */
const MAX_COMMIT_PATHS = 500;

/** Documents whose front-matter facts are remembered (a few hundred bytes each). */
const DOCUMENT_FACTS_LIMIT = 20_000;
/** Pairs of commits whose changed documents, and drafts whose commits, are remembered (each memo at most). */
const CHANGE_MEMO_LIMIT = 256;
/**
 * Document versions each of those memos remembers at most (a path and its two classifications, ~200 bytes each:
 * ~10 MB). A draft's commits list up to 100 commits of up to 500 paths each, so a few large drafts fill it.
 */
const CHANGE_MEMO_WEIGHT = 50_000;

type EntryReader = ReturnType<Repository['entryReader']>;

/** Rows per page of the list. */
export const PAGE_SIZE = 50;
/** Stale summaries the list brings up to date per request before answering (each reads git). */
const MAX_REFRESH_PER_LIST = 50;
const MAX_DOCUMENTS = 500;
/** A change request as audit events name it: by number, never by title. */
export const changeRequestAuditTarget = (project: ProjectRecord, number: number) => ({ type: 'change_request', id: `${project.id}#${number}`, label: `${project.orgSlug}/${project.slug}!${number}` });
const auditTarget = changeRequestAuditTarget;

export class ChangeRequests {
  constructor(private readonly deps: ChangeRequestDeps) {}

  /** Opens a change request for an existing draft branch; returns its number. */
  async open(
    project: ProjectRecord,
    actor: UserActor,
    input: { branch: string; title: string; description?: string; /** Handed out earlier by `numberForPush`. */ reserved?: number },
    grants: Grants,
  ): Promise<number> {
    authorize(actor, 'edit', { kind: 'project', orgId: project.orgId }, 'Your role can read documents but not propose changes.');
    const branch = input.branch.trim();
    if (refNameProblem(`refs/heads/${branch}`) !== null || branch === PUBLISHED_BRANCH) throw new InvalidInputError('Choose a draft branch other than main.');
    const title = input.title.trim();
    if (!title || title.length > 200) throw new InvalidInputError('A title of 1 to 200 characters is required.');
    const description = (input.description ?? '').trim();
    if (description.length > 20000) throw new InvalidInputError('The description is too long.');
    const repository = await this.deps.repositories.get(project);
    const head = await repository.headOf(branch);
    if (!head) throw new InvalidInputError(`There is no branch ${JSON.stringify(branch)}: push it first.`);
    const documents = await this.#changedDocuments(repository, head);
    if (documents.length === 0) throw new InvalidInputError('The draft changes nothing compared with main.');
    this.#assertMaySee(actor, project, documents, grants);
    const settings = await this.deps.branchMoves.reviewSettings(project.orgId);
    return withOrg(this.deps.db, project.orgId, async (trx) => {
      const open = await openRequestOf(trx, project, branch);
      if (open) throw new ConflictError(`The branch already has an open change request (!${open.number}).`);
      const number = input.reserved ?? (await nextNumber(trx, project));
      const inserted = await trx
        .insertInto('change_requests')
        .values({ org_id: project.orgId, project_id: project.id, number, title, description, author_id: actor.userId, branch, head_commit: head })
        .returning('id')
        .executeTakeFirstOrThrow();
      await writeSummary(trx, project, inserted.id, { head, main: await repository.headOf(PUBLISHED_BRANCH) }, documents, settings);
      await recordAuditEvent(trx, this.#event(project, actor, number, 'change_request.opened', { branch, head }));
      await enqueueChangeRequestEvent(trx, 'change_request.opened', { orgId: project.orgId, changeRequestId: inserted.id, actor: webhookActorOf(actor) });
      return number;
    });
  }

  /**
   * The number the change request of a draft being pushed with `-o change.open` has or will have, so that the push's
   * `remote:` lines can print its address before the branch exists (the request is opened once the ref moved):
   * the open request of the branch, or a number handed out now. A push that then fails to open one leaves a gap
   * in the numbers, as a number is never handed out twice.
   */
  async numberForPush(project: ProjectRecord, branch: string): Promise<{ number: number; open: boolean }> {
    return withOrg(this.deps.db, project.orgId, async (trx) => {
      const open = await openRequestOf(trx, project, branch);
      return open ? { number: open.number, open: true } : { number: await nextNumber(trx, project), open: false };
    });
  }

  /**
   * The change requests of a project the actor may see, newest first, one page at a time: one query, with the
   * visibility rule (every touched document, before and after, readable by the actor) in SQL over the stored
   * summaries. A request the actor may not see is missing — not counted, not titled. `hasMore`: a next page exists.
   */
  async list(project: ProjectRecord, actor: UserActor, grants: Grants, options: ListOptions = {}): Promise<{ rows: ChangeRequestSummary[]; hasMore: boolean }> {
    authorize(actor, 'read', { kind: 'project', orgId: project.orgId });
    const role = roleIn(actor, project.orgId);
    if (role === null) return { rows: [], hasMore: false };
    const reviewer = can(actor, 'edit', { kind: 'project', orgId: project.orgId });
    if (options.filter === 'review' && !reviewer) return { rows: [], hasMore: false };
    await this.#refreshStale(project);
    const clearance = clearanceFor(actor, project.orgId);
    const readable = CLASSIFICATION_ORDER.filter((c) => clearanceCovers(clearance, c));
    const grantKeys = [...grants];
    const page = Math.max(1, Math.floor(options.page ?? 1));
    const email = actor.email.toLowerCase();
    const rows = await withOrg(this.deps.db, project.orgId, (trx) => {
      let query = trx
        .selectFrom('change_requests as cr')
        .innerJoin('users as u', 'u.id', 'cr.author_id')
        .select(['cr.id', 'cr.number', 'cr.title', 'cr.state', 'cr.branch', 'cr.author_id', 'u.name', 'u.email', 'cr.created_at', 'cr.document_count', 'cr.requirement', 'cr.head_commit', 'cr.approver_roles', 'cr.approver_emails'])
        .where('cr.project_id', '=', project.id)
        .where('cr.summary_head', 'is not', null)
        // hidden is missing: no touched document version the actor may not read (by clearance or a live grant)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('change_request_documents as d')
                .select(sql<number>`1`.as('one'))
                .whereRef('d.change_request_id', '=', 'cr.id')
                .where('d.classification', 'not in', readable)
                .$if(grantKeys.length > 0, (q) => q.where(sql<string>`d.classification || ':' || ${project.id}::text || ':' || d.path`, 'not in', grantKeys)),
            ),
          ),
        );
      if (options.state) query = query.where('cr.state', '=', options.state);
      if (options.branch !== undefined) query = query.where('cr.branch', '=', options.branch);
      if (options.filter === 'review') {
        query = query
          .where('cr.state', '=', 'open')
          .where('cr.author_id', '<>', actor.userId)
          .where(sql<boolean>`(${role} = ANY(cr.approver_roles) OR ${email} = ANY(cr.approver_emails))`)
          .where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom('change_request_reviews as r')
                  .select(sql<number>`1`.as('one'))
                  .whereRef('r.change_request_id', '=', 'cr.id')
                  .whereRef('r.commit', '=', 'cr.head_commit')
                  .where('r.user_id', '=', actor.userId)
                  .where('r.verdict', 'in', ['approve', 'request-changes'])
                  .where('r.dismissed_at', 'is', null),
              ),
            ),
          );
      }
      return query.orderBy('cr.number', 'desc').limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE).execute();
    });
    const shown = rows.slice(0, PAGE_SIZE);
    const reviews = await this.#reviewsOf(project, shown.map((r) => r.id));
    return {
      hasMore: rows.length > PAGE_SIZE,
      rows: shown.map((row) => {
        const requirement = parseRequirement(row.requirement);
        const given = (reviews.get(row.id) ?? []).filter((r) => r.verdict !== 'comment');
        const verdict = judge(requirement, given.map(asRuleReview), row.author_id, row.head_commit);
        const reviewedHead = given.some((r) => r.userId === actor.userId && r.commit === row.head_commit && r.dismissed === null);
        const counts = row.approver_roles.includes(role) || row.approver_emails.includes(email);
        return {
          number: row.number,
          title: row.title,
          state: row.state,
          branch: row.branch,
          author: { id: row.author_id, name: row.name || row.email },
          createdAt: new Date(row.created_at),
          documentCount: row.document_count ?? 0,
          needsReview: verdict.needsReview,
          mergeable: verdict.mergeable,
          waitingForMe: row.state === 'open' && reviewer && row.author_id !== actor.userId && counts && !reviewedHead,
        };
      }),
    };
  }

  /** One change request with its documents, reviews and verdict; 404 for anyone who may not see it. */
  async get(project: ProjectRecord, actor: UserActor, number: number, grants: Grants): Promise<ChangeRequestView> {
    authorize(actor, 'read', { kind: 'project', orgId: project.orgId });
    const row = await this.#row(project, number);
    const repository = await this.deps.repositories.get(project);
    const mainCommit = await repository.headOf(PUBLISHED_BRANCH);
    // a merged request shows what it merged; an open or closed one what its draft would change now
    const documents = row.state === 'merged' && row.merge_commit ? await this.#mergedDocuments(repository, row.merge_commit) : await this.#changedDocuments(repository, row.head_commit);
    const settings = await this.deps.branchMoves.reviewSettings(project.orgId);
    const summaryKey = row.state === 'merged' && row.merge_commit ? { head: row.merge_commit, main: null } : { head: row.head_commit, main: mainCommit };
    // the list's summary follows what is shown here (normally kept by the listener; this catches up a late one)
    if (row.summary_head !== summaryKey.head || row.summary_main !== summaryKey.main) await this.#storeSummary(project, row.id, summaryKey, documents, settings);
    this.#assertMaySee(actor, project, documents, grants);
    const reviews = await this.#reviews(project, row.id);
    const verdict = judge(requirementOf(documents.map(touched), settings), reviews.filter((r) => r.verdict !== 'comment').map(asRuleReview), row.author_id, row.head_commit);
    const author = await withOrg(this.deps.db, project.orgId, (trx) => trx.selectFrom('users').select(['id', 'email', 'name']).where('id', '=', row.author_id).executeTakeFirstOrThrow());
    return {
      id: row.id,
      number: row.number,
      title: row.title,
      description: row.description,
      state: row.state,
      branch: row.branch,
      headCommit: row.head_commit,
      mainCommit,
      author: { id: author.id, email: author.email, name: author.name ?? author.email },
      createdAt: new Date(row.created_at),
      mergeCommit: row.merge_commit,
      documents,
      reviews,
      verdict,
    };
  }

  /** The timeline's steps other than reviews (new heads, merged, closed, reopened) of a request `get` returned. */
  timeline(project: ProjectRecord, view: ChangeRequestView): Promise<{ steps: TimelineStep[]; earlier: number }> {
    return timelineOf(this.deps.db, project.orgId, view.id);
  }

  /** Approve, request changes, or comment. The author may comment but not approve or block their own change. */
  async review(project: ProjectRecord, actor: UserActor, number: number, input: { verdict: ReviewVerdict; body?: string }, grants: Grants): Promise<void> {
    const view = await this.get(project, actor, number, grants);
    if (view.state !== 'open') throw new ConflictError('This change request is not open.');
    const body = (input.body ?? '').trim();
    if (body.length > 20000) throw new InvalidInputError('The comment is too long.');
    if (input.verdict === 'comment' && !body) throw new InvalidInputError('Write a comment first.');
    if (input.verdict !== 'comment') {
      authorize(actor, 'approve', { kind: 'change_request', orgId: project.orgId, authorId: view.author.id }, 'You cannot review your own change request.');
      authorize(actor, 'edit', { kind: 'project', orgId: project.orgId }, 'Your role can comment but not review.');
    }
    const action = { approve: 'change_request.approved', 'request-changes': 'change_request.changes_requested', comment: 'change_request.commented' }[input.verdict];
    await withOrg(this.deps.db, project.orgId, async (trx) => {
      await trx.insertInto('change_request_reviews').values({ org_id: project.orgId, change_request_id: view.id, user_id: actor.userId, verdict: input.verdict, commit: view.headCommit, body }).execute();
      await recordAuditEvent(trx, this.#event(project, actor, number, action, { commit: view.headCommit }));
      if (input.verdict === 'approve') {
        await enqueueChangeRequestEvent(trx, 'change_request.approved', { orgId: project.orgId, changeRequestId: view.id, actor: webhookActorOf(actor), extra: { approved_commit: view.headCommit } });
      }
    });
  }

  /** An admin dismisses a review (a standing request for changes, usually) with a reason. */
  async dismiss(project: ProjectRecord, actor: UserActor, number: number, reviewId: string, reason: string, grants: Grants): Promise<void> {
    const view = await this.get(project, actor, number, grants);
    authorize(actor, 'manage', { kind: 'project', orgId: project.orgId }, 'Only admins and owners dismiss reviews.');
    const text = reason.trim();
    if (!text) throw new InvalidInputError('Give a reason for dismissing the review.');
    const review = view.reviews.find((r) => r.id === reviewId && r.verdict !== 'comment' && r.dismissed === null);
    if (!review) throw new NotFoundError();
    await withOrg(this.deps.db, project.orgId, async (trx) => {
      await trx.updateTable('change_request_reviews').set({ dismissed_at: new Date(), dismissed_by: actor.userId, dismiss_reason: text.slice(0, 500) }).where('id', '=', reviewId).execute();
      await recordAuditEvent(trx, this.#event(project, actor, number, 'change_request.dismissed', { review: reviewId, reviewer: review.email }));
    });
  }

  /**
   * Merges when the rules are met: a merge commit on main (git merge-tree, no work tree) carrying the approval
   * trailers, through the branch-move protocol. Conflicts come back by path and nothing moves.
   */
  async merge(
    project: ProjectRecord,
    actor: UserActor,
    number: number,
    grants: Grants,
    options: { /** No re-acknowledgment: the merge commit carries the editorial trailer (evidence/editorial-trailer.ts). */ editorial?: boolean } = {},
  ): Promise<{ merged: true; commit: string } | { merged: false; conflicts: string[] }> {
    const view = await this.get(project, actor, number, grants);
    if (view.state !== 'open') throw new ConflictError('This change request is not open.');
    authorize(actor, 'edit', { kind: 'project', orgId: project.orgId }, 'Your role cannot merge changes.');
    if (!view.verdict.mergeable) throw new ConflictError(`The change cannot be merged yet: ${view.verdict.outstanding.join('; ')}.`);
    if (!view.mainCommit) throw new ConflictError('The project has no published branch to merge into.');
    const repository = await this.deps.repositories.get(project);
    const merged = await repository.tryMerge(view.mainCommit, view.headCommit);
    if (!merged.clean) return { merged: false, conflicts: merged.conflicts };
    // the rules every change obeys on its way to main, for the person merging, as for a save or a push: files,
    // documents and links of the merged tree against main (publish-gate.ts)
    await assertTreePublishable(this.deps, project, repository, actor, grants, { base: view.mainCommit, tree: merged.tree });
    const approvers = view.reviews.filter((r) => view.verdict.countingApprovals.includes(r.email) && r.verdict === 'approve' && r.commit === view.headCommit);
    const trailers = [`Change-Request: ${number}`, ...unique(approvers.map((r) => `Approved-by: ${r.name || r.email} <${r.email}>`))];
    // an editorial merge: the trailer that spares re-acknowledgment joins the trailer block (acknowledgment-versions.ts)
    const written = `Merge change request !${number}\n\n${trailers.join('\n')}`;
    const message = options.editorial ? withEditorialTrailer(written).replace(/\n\n(Acknowledgment: not-required)$/, '\n$1') : written;
    const auditActor = { type: 'user' as const, id: actor.userId, label: actor.email };
    try {
      const outcome = await this.deps.branchMoves.merge(
        project,
        repository,
        { branch: PUBLISHED_BRANCH, expectedOld: view.mainCommit, theirs: view.headCommit, tree: merged.tree, author: { name: actor.name.trim() || actor.email, email: actor.email }, message },
        {
          actor: auditActor,
          events: (commit) => [
            this.#event(project, actor, number, 'change_request.merged', { commit, head: view.headCommit, approvals: approvers.length, ...(options.editorial ? { editorial: 'yes' } : {}) }),
            // a classification changed by the merge is recorded as such, as for a save (document.classification_changed)
            ...view.documents
              .filter((d) => d.before && d.after && d.before.classification !== d.after.classification && /\.md$/i.test(d.path))
              .map((d) => ({
                orgId: project.orgId,
                actor: auditActor,
                action: 'document.classification_changed',
                target: { type: 'document', id: `${project.id}:${d.path}`, label: d.path },
                outcome: 'success' as const,
                details: { commit, from: d.before!.classification, to: d.after!.classification, change_request: number },
              })),
          ],
          rows: async (trx, commit) => {
            await markMerged(trx, view.id, commit, actor.userId, webhookActorOf(actor));
          },
        },
      );
      if (!outcome.merged) return { merged: false, conflicts: outcome.conflicts };
      await this.#storeSummary(project, view.id, { head: outcome.commit, main: null }, await this.#mergedDocuments(repository, outcome.commit), await this.deps.branchMoves.reviewSettings(project.orgId)).catch(() => {});
      return { merged: true, commit: outcome.commit };
    } catch (error) {
      if (error instanceof BranchMovedError) throw new ConflictError('Main changed while merging. Nothing was merged: reload the page and try again.');
      throw error;
    }
  }

  /** Closes (keeping the branch and every review) or reopens a change request: its author, or an admin. */
  async setOpen(project: ProjectRecord, actor: UserActor, number: number, open: boolean, grants: Grants): Promise<void> {
    const view = await this.get(project, actor, number, grants);
    if (actor.userId !== view.author.id) authorize(actor, 'manage', { kind: 'project', orgId: project.orgId }, 'Only the author or an admin closes a change request.');
    if (view.state === 'merged' || view.state === (open ? 'open' : 'closed')) throw new ConflictError(`This change request is already ${view.state}.`);
    await withOrg(this.deps.db, project.orgId, async (trx) => {
      await trx.updateTable('change_requests').set({ state: open ? 'open' : 'closed', closed_at: open ? null : new Date(), updated_at: new Date() }).where('id', '=', view.id).execute();
      await noteStep(trx, { orgId: project.orgId, requestId: view.id, kind: open ? 'reopened' : 'closed', actor: { userId: actor.userId, label: actor.email } });
      await recordAuditEvent(trx, this.#event(project, actor, number, open ? 'change_request.reopened' : 'change_request.closed', {}));
      if (!open) await enqueueChangeRequestEvent(trx, 'change_request.closed', { orgId: project.orgId, changeRequestId: view.id, actor: webhookActorOf(actor) });
    });
  }

  /**
   * The listener that keeps open change requests in step with their branches: a new commit on a draft updates
   * its head (approvals of the old head stop counting) and is audited; a move of main that contains a draft's
   * head (merged by a push, or a merge replayed by recovery) marks the request merged.
   */
  listener(projectOf: (event: BranchMoved) => Promise<ProjectRecord | null>): BranchMoveListener {
    return {
      name: 'change-requests',
      handle: async (event) => {
        if (!event.ref.startsWith('refs/heads/')) return;
        const branch = event.ref.slice('refs/heads/'.length);
        const project = await projectOf(event);
        if (!project) return;
        if (branch === PUBLISHED_BRANCH) {
          await this.#markContained(project, event);
          // main moved: what each open draft changes against it (its "before" versions) may have changed too
          return this.#refreshOpen(project);
        }
        if (!event.newCommit) return;
        // only a move that is still the branch's head is followed: events of one branch may be handled out of order
        // (by several processes), and an older one must neither undo a newer one nor take the credit for it. Asked
        // again once the request's row is locked: a save to the draft moves the branch, then the row, under that lock.
        const repository = await this.deps.repositories.get(project);
        const isHead = async () => (await repository.headOf(branch)) === event.newCommit;
        if (!(await isHead())) return;
        await withOrg(this.deps.db, project.orgId, async (trx) => {
          const open = await trx.selectFrom('change_requests').select(['id', 'number']).where('project_id', '=', project.id).where('branch', '=', branch).where('state', '=', 'open').executeTakeFirst();
          if (!open) return;
          const old = await moveRequestHead(trx, { orgId: project.orgId, id: open.id }, { to: event.newCommit!, actor: await stepActorOf(trx, event.actor), stillCurrent: isHead });
          if (old === null) return;
          await recordAuditEvent(trx, {
            orgId: project.orgId,
            actor: { type: event.actor.type, id: event.actor.id || null, label: event.actor.label },
            action: 'change_request.updated',
            target: auditTarget(project, open.number),
            outcome: 'success',
            details: { old, head: event.newCommit, move: event.id },
          });
        });
        await this.#refreshOpen(project, branch);
      },
    };
  }

  /** Brings the stored summaries of open requests (of one branch, or all) up to date with their head and main. */
  async #refreshOpen(project: ProjectRecord, branch?: string): Promise<void> {
    const repository = await this.deps.repositories.get(project);
    const main = await repository.headOf(PUBLISHED_BRANCH);
    const open = await withOrg(this.deps.db, project.orgId, (trx) => {
      let query = trx.selectFrom('change_requests').select(['id', 'head_commit', 'summary_head', 'summary_main']).where('project_id', '=', project.id).where('state', '=', 'open');
      if (branch !== undefined) query = query.where('branch', '=', branch);
      return query.execute();
    });
    await this.#catchUp(project, repository, open, main);
  }

  /** Before a list: summaries missing (requests of an older version) or behind their head or main are brought up to date. */
  async #refreshStale(project: ProjectRecord): Promise<void> {
    const repository = await this.deps.repositories.get(project);
    const main = await repository.headOf(PUBLISHED_BRANCH);
    const stale = await withOrg(this.deps.db, project.orgId, (trx) =>
      trx
        .selectFrom('change_requests')
        .select(['id', 'state', 'head_commit', 'merge_commit', 'summary_head', 'summary_main'])
        .where('project_id', '=', project.id)
        .where((eb) =>
          eb.or([
            eb('summary_head', 'is', null),
            eb.and([eb('state', '<>', 'merged'), eb.or([eb('summary_head', '<>', eb.ref('head_commit')), main === null ? eb('summary_main', 'is not', null) : eb('summary_main', 'is distinct from', main)])]),
          ]),
        )
        .limit(MAX_REFRESH_PER_LIST)
        .execute(),
    );
    if (stale.length === 0) return;
    await this.#catchUp(project, repository, stale, main);
  }

  /**
   * Brings summaries up to date with their head and main. A summary whose head is current and whose main only
   * moved without touching any path of the request (the usual case: main moved elsewhere) keeps its rows — the
   * versions it names are the same — and takes the new main in one statement; the others are computed again from
   * git. So a move of main costs the list one tree diff, not a git read per open request.
   */
  async #catchUp(
    project: ProjectRecord,
    repository: Repository,
    rows: readonly { id: string; head_commit: string; state?: ChangeRequestState; merge_commit?: string | null; summary_head: string | null; summary_main: string | null }[],
    main: string | null,
  ): Promise<void> {
    // the list's own test of staleness (#refreshStale): a merged request's summary is kept once written
    const behind = rows.filter((row) => row.summary_head === null || (row.state !== 'merged' && (row.summary_head !== row.head_commit || row.summary_main !== main)));
    if (behind.length === 0) return;
    const untouched = new Set<string>();
    if (main !== null) {
      const onlyMainMoved = behind.filter((row) => row.state !== 'merged' && row.summary_head === row.head_commit && row.summary_main !== null);
      const mainChanges = new Map<string, Set<string> | null>();
      for (const from of new Set(onlyMainMoved.map((row) => row.summary_main!))) {
        mainChanges.set(from, await repository.diffTrees(from, main).then((changes) => new Set(changes.map((c) => c.path))).catch(() => null));
      }
      const ids = onlyMainMoved.filter((row) => mainChanges.get(row.summary_main!) != null).map((row) => row.id);
      if (ids.length > 0) {
        const paths = await withOrg(this.deps.db, project.orgId, (trx) => trx.selectFrom('change_request_documents').select(['change_request_id', 'path']).where('change_request_id', 'in', ids).execute());
        const touched = new Map<string, string[]>();
        for (const p of paths) touched.set(p.change_request_id, [...(touched.get(p.change_request_id) ?? []), p.path]);
        for (const row of onlyMainMoved) {
          const changed = mainChanges.get(row.summary_main!);
          if (changed && !(touched.get(row.id) ?? []).some((path) => changed.has(path))) untouched.add(row.id);
        }
      }
      // per old main, and only where the summary is still the one read (a writer meanwhile wins; a row left behind is caught up next time)
      for (const from of mainChanges.keys()) {
        const ids = onlyMainMoved.filter((row) => row.summary_main === from && untouched.has(row.id)).map((row) => row.id);
        if (ids.length === 0) continue;
        await withOrg(this.deps.db, project.orgId, (trx) =>
          trx
            .updateTable('change_requests')
            .set({ summary_main: main })
            .where('id', 'in', ids)
            .where('summary_main', '=', from)
            .whereRef('summary_head', '=', 'head_commit')
            .where('state', '<>', 'merged')
            .execute(),
        );
      }
    }
    const settings = await this.deps.branchMoves.reviewSettings(project.orgId);
    for (const row of behind) if (!untouched.has(row.id)) await this.#summarize(project, repository, row, main, settings);
  }

  /** Computes and stores one request's summary (a request whose draft can no longer be read stays hidden from lists). */
  async #summarize(
    project: ProjectRecord,
    repository: Repository,
    row: { id: string; head_commit: string; state?: ChangeRequestState; merge_commit?: string | null },
    main: string | null,
    settings: ReviewSettings,
  ): Promise<void> {
    try {
      if (row.state === 'merged' && row.merge_commit) {
        await this.#storeSummary(project, row.id, { head: row.merge_commit, main: null }, await this.#mergedDocuments(repository, row.merge_commit), settings);
      } else {
        await this.#storeSummary(project, row.id, { head: row.head_commit, main }, await this.#changedDocuments(repository, row.head_commit), settings);
      }
    } catch {
      // too many files, or commits gone: the summary stays as it was (a request without one is not listed)
    }
  }

  async #storeSummary(project: ProjectRecord, id: string, key: { head: string; main: string | null }, documents: readonly ChangedDocument[], settings: ReviewSettings): Promise<void> {
    await withOrg(this.deps.db, project.orgId, (trx) => writeSummary(trx, project, id, key, documents, settings));
  }

  /** Reviews of several requests in one query, by request id. */
  async #reviewsOf(project: ProjectRecord, ids: readonly string[]): Promise<Map<string, ReviewRecord[]>> {
    const byRequest = new Map<string, ReviewRecord[]>();
    if (ids.length === 0) return byRequest;
    const rows = await withOrg(this.deps.db, project.orgId, (trx) =>
      trx
        .selectFrom('change_request_reviews as r')
        .innerJoin('users as u', 'u.id', 'r.user_id')
        .leftJoin('memberships as m', (join) => join.onRef('m.user_id', '=', 'r.user_id').on('m.org_id', '=', project.orgId))
        .select(['r.id', 'r.change_request_id', 'r.user_id', 'u.email', 'u.name', 'm.role', 'r.verdict', 'r.commit', 'r.body', 'r.created_at', 'r.dismissed_at', 'r.dismiss_reason'])
        .where('r.change_request_id', 'in', ids)
        .orderBy('r.id')
        .execute(),
    );
    for (const r of rows) {
      const list = byRequest.get(r.change_request_id) ?? [];
      list.push(reviewRecord(r));
      byRequest.set(r.change_request_id, list);
    }
    return byRequest;
  }

  async #markContained(project: ProjectRecord, event: BranchMoved): Promise<void> {
    if (!event.newCommit) return;
    const repository = await this.deps.repositories.get(project);
    const open = await withOrg(this.deps.db, project.orgId, (trx) =>
      trx.selectFrom('change_requests').select(['id', 'number', 'head_commit']).where('project_id', '=', project.id).where('state', '=', 'open').execute(),
    );
    // a merge by the Merge button recorded its request's `change_request.merged` with the move (also when crash
    // recovery replayed it from the journal): that request is only marked here, not recorded twice
    const mergedByButton = event.kind === 'merge' ? changeRequestOf((await repository.readCommit(event.newCommit)).message) : null;
    for (const request of open) {
      if ((await repository.mergeBase(request.head_commit, event.newCommit)) !== request.head_commit) continue;
      await withOrg(this.deps.db, project.orgId, async (trx) => {
        const marked = await markMerged(trx, request.id, event.newCommit!, event.actor.type === 'user' ? event.actor.id : null, { type: event.actor.type, id: event.actor.id || null, label: event.actor.label || null });
        if (!marked || mergedByButton === request.number) return;
        await recordAuditEvent(trx, {
          orgId: project.orgId,
          actor: { type: event.actor.type, id: event.actor.id || null, label: event.actor.label },
          action: 'change_request.merged',
          target: auditTarget(project, request.number),
          outcome: 'success',
          details: { commit: event.newCommit, head: request.head_commit, by: event.kind },
        });
      });
    }
  }

  /** The number of the open or closed change request whose draft `branch` is (it must stay), or null. */
  async keeperOf(project: ProjectRecord, branch: string): Promise<number | null> {
    const row = await withOrg(this.deps.db, project.orgId, (trx) =>
      trx.selectFrom('change_requests').select('number').where('project_id', '=', project.id).where('branch', '=', branch).where('state', '<>', 'merged').orderBy('number', 'desc').executeTakeFirst(),
    );
    return row?.number ?? null;
  }

  /** Draft branches of the project without an open change request (offered when opening one). */
  async drafts(project: ProjectRecord, actor: UserActor): Promise<string[]> {
    authorize(actor, 'edit', { kind: 'project', orgId: project.orgId });
    const repository = await this.deps.repositories.get(project);
    const open = await withOrg(this.deps.db, project.orgId, (trx) =>
      trx.selectFrom('change_requests').select('branch').where('project_id', '=', project.id).where('state', '=', 'open').execute(),
    );
    const taken = new Set(open.map((r) => r.branch));
    return (await repository.listBranches()).filter((branch) => branch !== PUBLISHED_BRANCH && !taken.has(branch));
  }

  /**
   * The draft's own commits, newest first (those not on main when it was opened or, once merged, those the merge
   * brought in), at most MAX_LISTED_COMMITS (`more`: there are others), for a view already authorized by `get`.
   * The rule for subjects is DraftCommit's (docs/change-requests.md, "The commits").
   */
  async commits(project: ProjectRecord, actor: UserActor, view: ChangeRequestView, grants: Grants): Promise<{ commits: DraftCommit[]; more: boolean }> {
    const repository = await this.deps.repositories.get(project);
    let tip = view.headCommit;
    let exclude = view.mainCommit;
    if (view.state === 'merged' && view.mergeCommit) {
      const parents = (await repository.readCommit(view.mergeCommit)).parents;
      // the merge's second parent is the draft as merged; its first, main before the merge
      if (parents.length < 2) return { commits: [], more: false };
      tip = parents[1]!;
      exclude = parents[0]!;
    }
    const facts = await this.#commitsMemo.get(`${exclude ?? ''}..${tip}`, () => this.#readCommitFacts(repository, tip, exclude));
    const mayRead = (path: string, version: ChangedDocument['before']) =>
      version === null || can(actor, 'read', { kind: 'document', orgId: project.orgId, classification: version.classification, projectId: project.id, path, grants });
    const commits = facts.commits.map(({ oid, author, date, subject, touched }): DraftCommit => {
      const readable = touched !== null && touched.every((t) => mayRead(t.path, t.before) && mayRead(t.path, t.after));
      const documents = readable ? touched.filter((t) => t.after && /\.md$/i.test(t.path)).map((t) => t.path) : [];
      return { oid, author, date, subject: readable ? subject : null, documents };
    });
    return { commits, more: facts.more };
  }

  /** The commits `commits` lists, each with the versions of every path it touches (null: more than MAX_COMMIT_PATHS). */
  async #readCommitFacts(repository: Repository, tip: string, exclude: string | null): Promise<DraftCommitFacts> {
    const entries = await repository.log(tip, { limit: MAX_LISTED_COMMITS + 1, ...(exclude ? { exclude } : {}) });
    const entryAt = repository.entryReader();
    const commits: DraftCommitFacts['commits'] = [];
    for (const entry of entries.slice(0, MAX_LISTED_COMMITS)) {
      const parent = entry.parents[0] ?? null;
      const changes = await repository.diffTrees(parent, entry.oid);
      const shown = { oid: entry.oid, author: entry.author.name || entry.author.email, date: entry.authorDate, subject: entry.subject };
      if (changes.length > MAX_COMMIT_PATHS) {
        commits.push({ ...shown, touched: null });
        continue;
      }
      const touched = [];
      for (const change of changes) {
        touched.push({ path: change.path, before: parent ? await this.#version(repository, entryAt, parent, change.path) : null, after: await this.#version(repository, entryAt, entry.oid, change.path) });
      }
      commits.push({ ...shown, touched });
    }
    return { commits, more: entries.length > MAX_LISTED_COMMITS };
  }

  /** The text of each changed document, published and draft version, for a view already authorized by `get`. */
  async sources(project: ProjectRecord, view: ChangeRequestView): Promise<{ path: string; before: string | null; after: string | null }[]> {
    return this.#documentChanges(await this.deps.repositories.get(project), view);
  }

  async #row(project: ProjectRecord, number: number) {
    if (!Number.isSafeInteger(number) || number < 1) throw new NotFoundError();
    const row = await withOrg(this.deps.db, project.orgId, (trx) =>
      trx.selectFrom('change_requests').selectAll().where('project_id', '=', project.id).where('number', '=', number).executeTakeFirst(),
    );
    if (!row) throw new NotFoundError();
    return row;
  }

  async #reviews(project: ProjectRecord, requestId: string): Promise<ReviewRecord[]> {
    const rows = await withOrg(this.deps.db, project.orgId, (trx) =>
      trx
        .selectFrom('change_request_reviews as r')
        .innerJoin('users as u', 'u.id', 'r.user_id')
        .leftJoin('memberships as m', (join) => join.onRef('m.user_id', '=', 'r.user_id').on('m.org_id', '=', project.orgId))
        .leftJoin('users as d', 'd.id', 'r.dismissed_by')
        .select(['r.id', 'r.user_id', 'u.email', 'u.name', 'm.role', 'r.verdict', 'r.commit', 'r.body', 'r.created_at', 'r.dismissed_at', 'r.dismiss_reason', 'd.name as dismissed_by_name'])
        .where('r.change_request_id', '=', requestId)
        .orderBy('r.id')
        .execute(),
    );
    return rows.map(reviewRecord);
  }

  /** Documents the draft at `head` changes against main, since they diverged (three-dot, as a merge would). */
  async #changedDocuments(repository: Repository, head: string): Promise<ChangedDocument[]> {
    const main = await repository.headOf(PUBLISHED_BRANCH);
    // a pair of commits always changes the same documents: a page read again does not walk the trees again
    return this.#changedMemo.get(`${main ?? ''}..${head}`, () => this.#readChangedDocuments(repository, main, head));
  }

  async #readChangedDocuments(repository: Repository, main: string | null, head: string): Promise<ChangedDocument[]> {
    const base = main ? await repository.mergeBase(main, head) : null;
    const changes = await repository.diffTrees(base, head);
    if (changes.length > MAX_DOCUMENTS) throw new InvalidInputError(`The draft changes more than ${MAX_DOCUMENTS} files; split it into smaller change requests.`);
    const entryAt = repository.entryReader();
    const documents: ChangedDocument[] = [];
    for (const change of changes) {
      documents.push({ path: change.path, before: main ? await this.#version(repository, entryAt, main, change.path) : null, after: await this.#version(repository, entryAt, head, change.path) });
    }
    return documents;
  }

  /** Documents a merge commit changed on main (against its first parent). */
  async #mergedDocuments(repository: Repository, merge: string): Promise<ChangedDocument[]> {
    const parent = (await repository.readCommit(merge)).parents[0] ?? null;
    const changes = await repository.diffTrees(parent, merge);
    const entryAt = repository.entryReader();
    const documents: ChangedDocument[] = [];
    for (const change of changes.slice(0, MAX_DOCUMENTS)) {
      documents.push({ path: change.path, before: parent ? await this.#version(repository, entryAt, parent, change.path) : null, after: await this.#version(repository, entryAt, merge, change.path) });
    }
    return documents;
  }

  /** The version of `path` at `commit` (looked up through the operation's `entryAt`), with what the rules need of it. */
  async #version(repository: Repository, entryAt: EntryReader, commit: string, path: string): Promise<ChangedDocument['before']> {
    const entry = await entryAt(commit, path);
    if (!entry || entry.type !== 'blob') return null;
    // files that are not documents (images, attachments) count as internal content of the project
    if (!/\.md$/i.test(path)) return { blob: entry.oid, classification: 'internal' };
    const facts = await this.#documentFacts.get(entry.oid, async () => {
      const data = parseFrontMatter(path, (await repository.readBlob(entry.oid)).toString('utf8')).data;
      // invalid front matter fails closed, as everywhere: treated as restricted
      return { classification: data?.classification ?? 'restricted', ...(data?.approvers ? { approvers: data.approvers } : {}) };
    });
    return { blob: entry.oid, ...facts };
  }

  /**
   * What the rules read of a document's text (classification, approvers), by blob id: a blob's text never changes,
   * so a page read again, the list's summaries and the commits list parse each version's front matter once.
   */
  readonly #documentFacts = new CommitMemo<Omit<NonNullable<ChangedDocument['before']>, 'blob'>>({ maxEntries: DOCUMENT_FACTS_LIMIT });
  /** What a draft changes against main, by the two commits (see `#changedDocuments`), weighed by documents. */
  readonly #changedMemo = new CommitMemo<ChangedDocument[]>({ maxEntries: CHANGE_MEMO_LIMIT, weigh: (documents) => 1 + documents.length, maxWeight: CHANGE_MEMO_WEIGHT });
  /** The commits of a draft with the versions each touches, by its tip and what it excludes (see `commits`). */
  readonly #commitsMemo = new CommitMemo<DraftCommitFacts>({
    maxEntries: CHANGE_MEMO_LIMIT,
    weigh: (facts) => facts.commits.reduce((sum, commit) => sum + 1 + (commit.touched?.length ?? 0), 0),
    maxWeight: CHANGE_MEMO_WEIGHT,
  });

  async #documentChanges(repository: Repository, view: ChangeRequestView) {
    return Promise.all(
      view.documents.map(async (d) => ({
        path: d.path,
        before: d.before ? (await repository.readBlob(d.before.blob)).toString('utf8') : null,
        after: d.after ? (await repository.readBlob(d.after.blob)).toString('utf8') : null,
      })),
    );
  }

  /** A member who may read every touched document (published and draft version) sees the request; others get 404. */
  #assertMaySee(actor: UserActor, project: ProjectRecord, documents: readonly ChangedDocument[], grants: Grants): void {
    authorize(actor, 'read', { kind: 'project', orgId: project.orgId });
    for (const document of documents) {
      for (const version of [document.before, document.after]) {
        if (!version) continue;
        const resource: Resource = { kind: 'document', orgId: project.orgId, classification: version.classification, projectId: project.id, path: document.path, grants };
        authorize(actor, 'read', resource);
      }
    }
  }

  #event(project: ProjectRecord, actor: UserActor, number: number, action: string, details: Record<string, string | number>): AuditEventInput {
    return { orgId: project.orgId, actor: { type: 'user', id: actor.userId, label: actor.email }, action, target: auditTarget(project, number), outcome: 'success', details };
  }
}

/** The open change request of a draft branch (there is at most one), or nothing. */
function openRequestOf(trx: Transaction<Database>, project: ProjectRecord, branch: string) {
  return trx.selectFrom('change_requests').select('number').where('project_id', '=', project.id).where('branch', '=', branch).where('state', '=', 'open').executeTakeFirst();
}

/** Hands out the project's next change-request number (atomically: the counter row is locked until commit). */
async function nextNumber(trx: Transaction<Database>, project: ProjectRecord): Promise<number> {
  const counter = await trx
    .updateTable('projects')
    .set((eb) => ({ change_requests_opened: eb('change_requests_opened', '+', 1) }))
    .where('id', '=', project.id)
    .returning('change_requests_opened')
    .executeTakeFirstOrThrow();
  return counter.change_requests_opened;
}

/** The number in a merge commit's `Change-Request: n` trailer (the Merge button writes it), or null. */
function changeRequestOf(message: string): number | null {
  const found = /^Change-Request: ([1-9][0-9]{0,8})$/m.exec(message);
  return found ? Number(found[1]) : null;
}

/** Marks an open request merged (its step and webhook event with it); false when it was not open. */
async function markMerged(trx: Transaction<Database>, id: string, commit: string, by: string | null, actor: WebhookActor | null): Promise<boolean> {
  const merged = await trx
    .updateTable('change_requests')
    .set({ state: 'merged', merge_commit: commit, merged_by: by, updated_at: new Date(), closed_at: new Date() })
    .where('id', '=', id)
    .where('state', '=', 'open')
    .returning('org_id')
    .executeTakeFirst();
  if (!merged) return false;
  await noteStep(trx, { orgId: merged.org_id, requestId: id, kind: 'merged', actor: actor ? await stepActorOf(trx, actor) : { userId: by, label: '' }, to: commit });
  // the webhook event commits with the merge (once: a request already merged is not updated again)
  await enqueueChangeRequestEvent(trx, 'change_request.merged', { orgId: merged.org_id, changeRequestId: id, actor });
  return true;
}

type ReviewRow = {
  id: string | number;
  user_id: string;
  email: string;
  name: string | null;
  role: Role | null;
  verdict: ReviewVerdict;
  commit: string;
  body: string;
  created_at: Date | string;
  dismissed_at: Date | null;
  dismiss_reason: string | null;
  dismissed_by_name?: string | null;
};

function reviewRecord(r: ReviewRow): ReviewRecord {
  return {
    id: String(r.id),
    userId: r.user_id,
    email: r.email,
    name: r.name ?? r.email,
    role: r.role ?? null,
    verdict: r.verdict,
    commit: r.commit,
    body: r.body,
    createdAt: new Date(r.created_at),
    dismissed: r.dismissed_at ? { at: new Date(r.dismissed_at), reason: r.dismiss_reason ?? '', by: r.dismissed_by_name ?? null } : null,
  };
}

/**
 * Stores what the list needs of one request, as of `key` (its head and main, or its merge commit): each touched
 * path with the classification of each version, how many documents, the requirement of the approval rules, and
 * the roles and emails whose approval counts toward it (for "waiting for my review").
 */
async function writeSummary(
  trx: Transaction<Database>,
  project: ProjectRecord,
  id: string,
  key: { head: string; main: string | null },
  documents: readonly ChangedDocument[],
  settings: ReviewSettings,
): Promise<void> {
  const requirement = requirementOf(documents.map(touched), settings);
  const approvers = approversOf(requirement);
  const versions = new Map<string, { path: string; classification: Classification }>();
  for (const document of documents) {
    for (const version of [document.before, document.after]) {
      if (version) versions.set(`${version.classification}:${document.path}`, { path: document.path, classification: version.classification });
    }
  }
  // one writer at a time per request (the listener and a page may catch up the same one)
  await trx.selectFrom('change_requests').select('id').where('id', '=', id).forUpdate().execute();
  await trx.deleteFrom('change_request_documents').where('change_request_id', '=', id).execute();
  const rows = [...versions.values()].map((v) => ({ org_id: project.orgId, change_request_id: id, path: v.path, classification: v.classification }));
  for (let at = 0; at < rows.length; at += 500) {
    await trx.insertInto('change_request_documents').values(rows.slice(at, at + 500)).onConflict((oc) => oc.doNothing()).execute();
  }
  await trx
    .updateTable('change_requests')
    .set({ summary_head: key.head, summary_main: key.main, document_count: documents.length, requirement: JSON.stringify(requirement), approver_roles: approvers.roles, approver_emails: approvers.emails })
    .where('id', '=', id)
    .execute();
}

/** The roles and (lower-cased) emails whose approval counts toward a requirement; none when it needs no review. */
export function approversOf(requirement: Requirement): { roles: string[]; emails: string[] } {
  if (!needsReview(requirement)) return { roles: [], emails: [] };
  const roles = new Set<string>();
  const emails = new Set<string>();
  const addRolesFrom = (minimum: Role) => ROLES.filter((r) => roleAtLeast(r, minimum)).forEach((r) => roles.add(r));
  if (requirement.approvals > 0) addRolesFrom(requirement.minimumRole);
  for (const list of requirement.approverLists) {
    for (const entry of list.approvers) {
      const value = entry.trim().toLowerCase();
      if (isRole(value)) addRolesFrom(value);
      else if (value) emails.add(value);
    }
  }
  roles.delete('viewer');
  return { roles: [...roles], emails: [...emails] };
}

function parseRequirement(text: string | null): Requirement {
  try {
    const parsed = JSON.parse(text ?? '') as Requirement;
    if (typeof parsed.approvals === 'number' && Array.isArray(parsed.approverLists)) return parsed;
  } catch {
    // fall through: an unreadable requirement is the strictest
  }
  return { approvals: 2, minimumRole: 'admin', approverLists: [] };
}

function touched(document: ChangedDocument): TouchedDocument {
  return { path: document.path, before: document.before, after: document.after };
}

/** A review as the rules judge it (comments are not reviews for the rules; callers leave them out). */
function asRuleReview(review: ReviewRecord): Review {
  return { userId: review.userId, email: review.email, role: review.role, verdict: review.verdict === 'request-changes' ? 'request-changes' : 'approve', commit: review.commit, dismissed: review.dismissed !== null };
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
