/**
 * Review cadence (issue #14): when a document must next be reviewed, the record of its reviews, and "Mark
 * reviewed — no changes".
 *
 * A document's front matter sets its cadence: `review_every: 12 months` (the next review is due that long after
 * the last one) and/or `review_by: YYYY-MM-DD` (a fixed date). A review is either a published change of the
 * document (any move of the published branch that changed it: a save, a merged change request, a push; recorded by
 * the branch-move listener `ReviewChanges`) or a "Mark reviewed — no changes": an audit event `document.reviewed`
 * and an empty commit on the published branch with a `Reviewed-by: Name <email>` trailer, made through the
 * branch-move protocol so `git log` shows it too. Both land in `document_reviews` (migration 026), never changed.
 *
 * Who sees it: people who may edit the document (the policy's `edit`), on the document page and in the
 * organization's "Reviews due" list; for everyone else there is nothing (a document they may not read is missing).
 */
import type { UserActor } from '../access/actor.ts';
import { authorize } from '../access/authorize.ts';
import { can } from '../access/policy.ts';
import { auditActorOf } from '../audit/actor.ts';
import type { BranchMoved, BranchMoveListener } from '../changes/branch-moved.ts';
import { moveActorOf, type BranchMoves } from '../changes/branch-moves.ts';
import { isDocumentPath } from '../content/document-path.ts';
import { PUBLISHED_BRANCH, PUBLISHED_REF } from '../content/published-branch.ts';
import { nextReviewDate } from '../content/review-cadence.ts';
import type { Classification, ReviewInterval } from '../content/types.ts';
import { withOrg, type Db } from '../db/connection.ts';
import { NotFoundError } from '../errors.ts';
import { BranchMovedError } from '../git/errors.ts';
import type { ProjectRecord } from '../projects/projects.ts';
import type { RepositoryRegistry } from '../projects/repositories.ts';
import type { Snapshot } from '../projects/snapshot.ts';
import { utcDay } from './utc-day.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Documents due within this many days are listed as due soon (and a review this close to `review_by` meets it). */
export const DUE_SOON_DAYS = 30;
/** Attempts at the empty commit when the branch moves meanwhile. */
const MARK_ATTEMPTS = 3;
/** Rows per insert of the listener (a move listing every document of a large project). */
const INSERT_BATCH = 500;

/** One review of a document. */
export interface ReviewRecord {
  path: string;
  /** The published commit that changed the document, or the empty commit of a "Mark reviewed". */
  commit: string;
  kind: 'change' | 'marked';
  reviewerId: string | null;
  /** The reviewer as the audit log names them (an email). */
  reviewer: string;
  at: Date;
}

/** Where a document stands in its cadence, for someone who may edit it. */
export interface ReviewStatus {
  projectId: string;
  projectSlug: string;
  projectName: string;
  orgSlug: string;
  path: string;
  title: string;
  reviewBy: string | null;
  reviewEvery: ReviewInterval | null;
  lastReviewed: Date | null;
  /** The date (`YYYY-MM-DD`) the next review is due, or null when nothing is due. */
  next: string | null;
  state: 'none' | 'upcoming' | 'due' | 'overdue';
  /** Due within DUE_SOON_DAYS (or due or overdue). */
  dueSoon: boolean;
}

/** The published snapshot of a project (the publisher's). */
export type PublishedSnapshot = (projectId: string) => Snapshot | null;

const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const addDays = (day: string, days: number): string => isoDay(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS);

/**
 * The date the next review is due. `review_every` counts from the last review (a published change or a "Mark
 * reviewed"); `review_by` is a date written in the document, met by a "Mark reviewed" from DUE_SOON_DAYS before it
 * on — a change that keeps the date does not move it (the change that wrote it would otherwise meet it at once); to
 * set the next one, change the date. With both, the earlier unmet one.
 */
export function nextReviewDue(input: {
  reviewBy: string | null;
  reviewEvery: ReviewInterval | null;
  lastReviewed: Date | null;
  lastMarked: Date | null;
}): string | null {
  const last = input.lastReviewed ? isoDay(input.lastReviewed.getTime()) : null;
  const every = input.reviewEvery && last ? nextReviewDate({ reviewEvery: input.reviewEvery, lastReviewed: last }) : null;
  if (!input.reviewBy) return every;
  const marked = input.lastMarked ? isoDay(input.lastMarked.getTime()) : null;
  const met = marked !== null && marked >= addDays(input.reviewBy, -DUE_SOON_DAYS);
  if (met) return every;
  return every !== null && every < input.reviewBy ? every : input.reviewBy;
}

/** The state of a due date on `today`. */
function stateOf(next: string | null, today: string): ReviewStatus['state'] {
  if (next === null) return 'none';
  if (today < next) return 'upcoming';
  return today === next ? 'due' : 'overdue';
}

interface Latest {
  last: Date | null;
  lastMarked: Date | null;
}

/**
 * How long a document's latest review, read for its page, is reused while the published version stays the same.
 * Without it every page view of a document with a cadence cost a transaction (and, for a document with no recorded
 * review, a `git log`): the signed-in page went from ~9,000 to ~500 requests/s. A new publish changes the key at
 * once; a review recorded by the listener a moment after a publish shows within this time.
 */
const LATEST_TTL_MS = 30_000;
const LATEST_CACHE_ENTRIES = 10_000;

/** Reviews of documents: their record, their cadence, and marking one reviewed. */
export class Reviews {
  /** The latest review per document, with the published commit and the time it was read (see LATEST_TTL_MS). */
  readonly #latestCache = new Map<string, { commit: string | null; readAt: number; latest: Latest }>();
  /**
   * The status last computed from a remembered latest review, with everything it was computed from (the day, the
   * document's front matter and project records): a page view of the same document the same day reuses it (the date
   * arithmetic per view showed in the signed-in page's profile).
   */
  readonly #statuses = new WeakMap<Latest, { today: string; meta: CadenceMeta; project: ProjectRecord; path: string; status: ReviewStatus }>();

  constructor(
    private readonly db: Db,
    private readonly repositories: RepositoryRegistry,
    private readonly branchMoves: Pick<BranchMoves, 'commit'>,
    private readonly published: PublishedSnapshot,
    private readonly now: () => number = Date.now,
  ) {}

  /** Today (UTC) on this service's clock. */
  today(): string {
    return utcDay(this.now());
  }

  /** Every review of a document, newest first (for the evidence pack: no access check, callers authorize). */
  async reviewsOf(project: Pick<ProjectRecord, 'id' | 'orgId'>, path: string): Promise<ReviewRecord[]> {
    return (await reviewsOfProject(this.db, project, path)).get(path) ?? [];
  }

  /**
   * The review status of one document of the published snapshot for someone who may edit it; null when the actor
   * may not, the document has no cadence, or it is not there.
   */
  async statusFor(actor: UserActor, project: ProjectRecord, path: string): Promise<ReviewStatus | null> {
    const doc = this.published(project.id)?.documents.get(path);
    if (!doc || !hasCadence(doc.meta) || !mayReview(actor, project, doc.meta.classification)) return null;
    const latest = await this.#latestOf(project, path);
    const today = this.today();
    const known = this.#statuses.get(latest);
    if (known && known.today === today && known.meta === doc.meta && known.project === project && known.path === doc.path) return known.status;
    const status = this.statusOf(project, doc.path, doc.meta, latest, today);
    this.#statuses.set(latest, { today, meta: doc.meta, project, path: doc.path, status });
    return status;
  }

  /** The latest review of one document (cached per published commit for LATEST_TTL_MS). */
  async #latestOf(project: ProjectRecord, path: string): Promise<Latest> {
    const k = key(project.id, path);
    const commit = this.published(project.id)?.commit ?? null;
    const cached = this.#latestCache.get(k);
    const now = this.now();
    if (cached && cached.commit === commit && now - cached.readAt >= 0 && now - cached.readAt < LATEST_TTL_MS) return cached.latest;
    const found = (await this.latest(project.orgId, project.id, path)).get(k) ?? (await this.fromHistory(project, path));
    if (this.#latestCache.size >= LATEST_CACHE_ENTRIES) this.#latestCache.clear();
    this.#latestCache.set(k, { commit, readAt: now, latest: found });
    return found;
  }

  /**
   * The "Reviews due" list of an organization for `actor`: documents with a cadence that they may edit (so read),
   * overdue or due within DUE_SOON_DAYS, most overdue first.
   */
  async dueFor(actor: UserActor, orgId: string, projects: readonly ProjectRecord[]): Promise<ReviewStatus[]> {
    const latest = await this.latest(orgId);
    const result: ReviewStatus[] = [];
    for (const project of projects) {
      if (project.orgId !== orgId) continue;
      const snapshot = this.published(project.id);
      if (!snapshot) continue;
      for (const doc of snapshot.documents.values()) {
        if (!hasCadence(doc.meta) || !mayReview(actor, project, doc.meta.classification)) continue;
        const found = latest.get(key(project.id, doc.path)) ?? (await this.fromHistory(project, doc.path));
        const status = this.statusOf(project, doc.path, doc.meta, found);
        if (status.dueSoon) result.push(status);
      }
    }
    return result.sort((a, b) => (a.next ?? '').localeCompare(b.next ?? '') || a.title.localeCompare(b.title));
  }

  /**
   * "Mark reviewed — no changes": an empty commit on the published branch with a `Reviewed-by:` trailer, its audit
   * event `document.reviewed` and the review row, through the branch-move protocol (one transaction for the event
   * and the row). 404 for a document the actor may not read, 403 when they may read but not edit it.
   */
  async markReviewed(actor: UserActor, project: ProjectRecord, path: string, context: { requestId: string; ip: string }): Promise<{ commit: string }> {
    const doc = this.published(project.id)?.documents.get(path);
    if (!doc || !isDocumentPath(path)) throw new NotFoundError();
    const resource = { kind: 'document', orgId: project.orgId, classification: doc.meta.classification, projectId: project.id, path } as const;
    authorize(actor, 'read', resource);
    // a review is the person's own statement, made signed in: never by an access token (the policy's 'attest')
    authorize(
      actor,
      'attest',
      resource,
      actor.via ? 'Mark documents reviewed in the browser, signed in as yourself.' : 'Only people who may edit this document can mark it reviewed.',
    );
    const repository = await this.repositories.get(project);
    const name = actor.name.trim() || actor.email;
    const message = `${markedSubject(path)}\n\nReviewed-by: ${name} <${actor.email}>`;
    const auditActor = auditActorOf(actor);
    for (let attempt = 1; ; attempt++) {
      const head = await repository.headOf(PUBLISHED_BRANCH);
      if (!head || (await repository.entryAt(head, path)) === null) throw new NotFoundError();
      try {
        const result = await this.branchMoves.commit(
          project,
          repository,
          { branch: PUBLISHED_BRANCH, expectedOld: head, mode: 'patch', changes: [], allowEmpty: true, author: { name, email: actor.email }, message },
          {
            kind: 'review',
            actor: moveActorOf(auditActor),
            events: (commit) => ({
              orgId: project.orgId,
              actor: auditActor,
              action: 'document.reviewed',
              target: { type: 'document', id: `${project.id}:${path}`, label: path },
              outcome: 'success',
              requestId: context.requestId,
              ip: context.ip,
              details: { commit, blob: doc.blobId },
            }),
            rows: async (trx, commit) => {
              await trx
                .insertInto('document_reviews')
                .values({
                  org_id: project.orgId,
                  project_id: project.id,
                  path,
                  commit_id: commit,
                  kind: 'marked',
                  reviewer_id: actor.userId,
                  reviewer_label: actor.email,
                  reviewed_at: new Date(this.now()),
                })
                .execute();
            },
          },
        );
        this.#latestCache.delete(key(project.id, path));
        return { commit: result.commit! };
      } catch (error) {
        if (!(error instanceof BranchMovedError) || attempt >= MARK_ATTEMPTS) throw error;
      }
    }
  }

  private statusOf(project: ProjectRecord, path: string, meta: CadenceMeta, latest: Latest, today = this.today()): ReviewStatus {
    const next = nextReviewDue({ reviewBy: meta.review_by, reviewEvery: meta.review_every ?? null, lastReviewed: latest.last, lastMarked: latest.lastMarked });
    return {
      projectId: project.id,
      projectSlug: project.slug,
      projectName: project.name,
      orgSlug: project.orgSlug,
      path,
      title: meta.title,
      reviewBy: meta.review_by,
      reviewEvery: meta.review_every ?? null,
      lastReviewed: latest.last,
      next,
      state: stateOf(next, today),
      dueSoon: next !== null && next <= addDays(today, DUE_SOON_DAYS),
    };
  }

  /** The latest review and latest "Mark reviewed" per document (`projectId\0path`) of an organization or one document. */
  private async latest(orgId: string, projectId?: string, path?: string): Promise<Map<string, Latest>> {
    const rows = await withOrg(this.db, orgId, (trx) => {
      let query = trx
        .selectFrom('document_reviews')
        .select((eb) => ['project_id', 'path', 'kind', eb.fn.max('reviewed_at').as('at')])
        .where('org_id', '=', orgId)
        .groupBy(['project_id', 'path', 'kind']);
      if (projectId !== undefined && path !== undefined) query = query.where('project_id', '=', projectId).where('path', '=', path);
      return query.execute();
    });
    const result = new Map<string, Latest>();
    for (const row of rows) {
      const k = key(row.project_id, row.path);
      const entry = result.get(k) ?? { last: null, lastMarked: null };
      const at = new Date(row.at);
      if (entry.last === null || at > entry.last) entry.last = at;
      if (row.kind === 'marked') entry.lastMarked = at;
      result.set(k, entry);
    }
    return result;
  }

  /** A document with no recorded review (published before reviews were recorded): its last change in git. */
  private async fromHistory(project: ProjectRecord, path: string): Promise<Latest> {
    try {
      const repository = await this.repositories.get(project);
      const [entry] = await repository.log(PUBLISHED_REF, { path, firstParent: true, limit: 1 });
      return { last: entry ? entry.authorDate : null, lastMarked: null };
    } catch {
      return { last: null, lastMarked: null };
    }
  }
}

/**
 * The recorded reviews of a project's documents (or of one), newest first per path: for the evidence pack, which
 * reads them all at once (no access check: callers authorize).
 */
export async function reviewsOfProject(db: Db, project: Pick<ProjectRecord, 'id' | 'orgId'>, path?: string): Promise<Map<string, ReviewRecord[]>> {
  const rows = await withOrg(db, project.orgId, (trx) => {
    let query = trx
      .selectFrom('document_reviews')
      .select(['path', 'commit_id', 'kind', 'reviewer_id', 'reviewer_label', 'reviewed_at'])
      .where('org_id', '=', project.orgId)
      .where('project_id', '=', project.id);
    if (path !== undefined) query = query.where('path', '=', path);
    return query.orderBy('reviewed_at', 'desc').orderBy('id', 'desc').execute();
  });
  const result = new Map<string, ReviewRecord[]>();
  for (const row of rows) {
    const list = result.get(row.path) ?? [];
    list.push({ path: row.path, commit: row.commit_id, kind: row.kind, reviewerId: row.reviewer_id, reviewer: row.reviewer_label, at: new Date(row.reviewed_at) });
    result.set(row.path, list);
  }
  return result;
}

type CadenceMeta = { title: string; review_by: string | null; review_every?: ReviewInterval };

const key = (projectId: string, path: string) => `${projectId}\0${path}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The subject line of a "Mark reviewed" commit, and its parser (the listener reads the path back after a crash). */
const markedSubject = (path: string) => `Review ${path}: no changes`;
const MARKED_SUBJECT = /^Review (.+): no changes$/;

function hasCadence(meta: CadenceMeta): boolean {
  return meta.review_by !== null || meta.review_every !== undefined;
}

function mayReview(actor: UserActor, project: ProjectRecord, classification: Classification): boolean {
  if (actor.via) return false;
  return can(actor, 'edit', { kind: 'document', orgId: project.orgId, classification });
}

/**
 * The branch-move listener of reviews: every published change of a document counts as a review of it, by whoever
 * moved the branch, at the time the move was recorded. Idempotent (one row per document and commit).
 */
export class ReviewChanges implements BranchMoveListener {
  readonly name = 'review-changes';

  constructor(
    private readonly db: Db,
    private readonly repositories: RepositoryRegistry,
  ) {}

  async handle(event: BranchMoved): Promise<void> {
    // a deleted branch reviews nothing
    if (event.ref !== PUBLISHED_REF || event.newCommit === null) return;
    const project = await withOrg(this.db, event.orgId, (trx) =>
      trx.selectFrom('projects').select(['id', 'repo_dir']).where('org_id', '=', event.orgId).where('id', '=', event.projectId).executeTakeFirst(),
    );
    if (!project) return;
    const repository = await this.repositories.get({ id: project.id, repoDir: project.repo_dir });
    if (event.kind === 'review') {
      // A "Mark reviewed" writes its row with its audit event; after a crash between the ref move and that record,
      // recovery replays the move (kind `review` only DocuCommit makes) and the row is written from its commit.
      const path = MARKED_SUBJECT.exec((await repository.readCommit(event.newCommit)).message.split('\n', 1)[0] ?? '')?.[1];
      if (path === undefined || !isDocumentPath(path)) return;
      await withOrg(this.db, event.orgId, (trx) =>
        trx
          .insertInto('document_reviews')
          .values({
            org_id: event.orgId,
            project_id: event.projectId,
            path,
            commit_id: event.newCommit!,
            kind: 'marked',
            reviewer_id: event.actor.type === 'user' && UUID.test(event.actor.id) ? event.actor.id : null,
            reviewer_label: event.actor.label || event.actor.type,
            reviewed_at: new Date(event.at),
          })
          .onConflict((oc) => oc.columns(['project_id', 'path', 'commit_id']).doNothing())
          .execute(),
      );
      return;
    }
    let paths: string[];
    if (event.pathsTruncated) {
      paths = (await repository.listTree(event.newCommit)).filter((e) => e.type === 'blob' && isDocumentPath(e.path, e.mode)).map((e) => e.path);
    } else {
      paths = [];
      for (const path of event.changedPaths) {
        if (!isDocumentPath(path)) continue;
        const entry = await repository.entryAt(event.newCommit, path);
        if (entry && entry.type === 'blob') paths.push(path); // removed documents are not reviewed
      }
    }
    if (paths.length === 0) return;
    const reviewerId = event.actor.type === 'user' && UUID.test(event.actor.id) ? event.actor.id : null;
    const rows = paths.map((path) => ({
      org_id: event.orgId,
      project_id: event.projectId,
      path,
      commit_id: event.newCommit!,
      kind: 'change' as const,
      reviewer_id: reviewerId,
      reviewer_label: event.actor.label || event.actor.type,
      reviewed_at: new Date(event.at),
    }));
    await withOrg(this.db, event.orgId, async (trx) => {
      for (let start = 0; start < rows.length; start += INSERT_BATCH) {
        await trx
          .insertInto('document_reviews')
          .values(rows.slice(start, start + INSERT_BATCH))
          .onConflict((oc) => oc.columns(['project_id', 'path', 'commit_id']).doNothing())
          .execute();
      }
    });
  }
}
