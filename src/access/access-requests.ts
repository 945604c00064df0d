import type { Kysely } from 'kysely';
import { recordAuditEvent } from '../audit/audit-log.ts';
import { documentPathFromUrl } from '../content/document-path.ts';
import type { Classification } from '../content/types.ts';
import type { Db } from '../db/connection.ts';
import { withOrg } from '../db/connection.ts';
import type { AccessRequestStatus, Database, Role } from '../db/schema.ts';
import { AppError, ConflictError, ForbiddenError, InvalidInputError, NotFoundError } from '../errors.ts';
import type { UserActor } from './actor.ts';
import { insertGrant } from './grants.ts';
import { can } from './policy.ts';
import { clearanceCovers } from '../content/classification.ts';

/** A request must be decided within 24 hours of being made. */
export const REQUEST_LIFETIME_MS = 24 * 60 * 60 * 1000;
/** Approvals a restricted document's request needs, each by a different person. */
export const RESTRICTED_APPROVALS = 2;
/** Pending requests one member may have open in an organization at a time (keeps approvers' queues usable). */
export const MAX_OPEN_REQUESTS = 10;
/** Pending requests shown to an approver per page, oldest (closest to expiring) first. */
export const PENDING_PAGE_SIZE = 50;

/** The request's own deadline passed before it was approved (HTTP 410). */
export class RequestExpiredError extends AppError {
  constructor(message = 'This access request expired before it was approved. Ask the requester to make a new one.') {
    super(message, 410, 'gone');
  }
}

/** What approvers need to know about the document at a path in the published snapshot, or null if none. */
export type DocumentLookup = (projectId: string, path: string) => { title: string; classification: Classification } | null;

export interface NewAccessRequest {
  /** A document URL or repository path inside the project; need not exist (existence is never revealed). */
  path: string;
  reason: string;
  ticket?: string | null;
}

/** An access request as the requester sees it: only what they typed and the outcome. */
export interface OwnAccessRequest {
  id: string;
  projectSlug: string;
  projectName: string;
  path: string;
  reason: string;
  ticket: string | null;
  status: AccessRequestStatus;
  createdAt: Date;
  /** When an approved request's grant ends (or ended). */
  grantExpiresAt: Date | null;
  grantLive: boolean;
}

/** A pending request as an approver sees it (they may read the document, so its title is shown). */
export interface PendingAccessRequest {
  id: string;
  projectSlug: string;
  projectName: string;
  path: string;
  title: string | null;
  classification: Classification | null;
  requesterName: string;
  requesterEmail: string;
  reason: string;
  ticket: string | null;
  createdAt: Date;
  expiresAt: Date;
  approvals: number;
  approvalsNeeded: number;
  approvedByActor: boolean;
}

/** One page of the requests an approver may decide. */
export interface PendingPage {
  requests: PendingAccessRequest[];
  /** 1-based; clamped to the last page. */
  page: number;
  pageCount: number;
  total: number;
}

/** The member already has the most open requests allowed (HTTP 409): a decision or an expiry frees a place. */
export class TooManyOpenRequestsError extends ConflictError {
  constructor() {
    super(`You already have ${MAX_OPEN_REQUESTS} open access requests in this organization. Wait until some are decided or expire.`);
  }
}

export type ApprovalOutcome = { status: 'approved'; grantExpiresAt: Date } | { status: 'pending'; approvals: number; approvalsNeeded: number };

const MAX_PATH = 500;

/**
 * Turn what a requester typed (a page URL, a path with or without `.md`, a folder) into a repository path.
 * Throws InvalidInputError for anything that cannot be a document path.
 */
export function normalizeRequestPath(input: string, project: { orgSlug: string; slug: string }): string {
  let value = input.trim();
  if (/^https?:\/\//i.test(value)) {
    try {
      value = new URL(value).pathname;
    } catch {
      throw new InvalidInputError('Enter the address or path of the document.');
    }
  }
  value = value.split(/[?#]/)[0]!;
  try {
    value = decodeURIComponent(value);
  } catch {
    throw new InvalidInputError('Enter the address or path of the document.');
  }
  const prefix = `/${project.orgSlug}/${project.slug}/`;
  if (value.startsWith(prefix)) value = value.slice(prefix.length);
  const folder = value.endsWith('/');
  value = value.replace(/^\/+|\/+$/g, '');
  const segments = value.split('/');
  if (
    value.length > MAX_PATH ||
    /[\0-\x1f\\]/.test(value) ||
    (value !== '' && segments.some((s) => s === '' || s === '.' || s === '..' || s === '-'))
  ) {
    throw new InvalidInputError('Enter the address or path of the document.');
  }
  if (value === '' || folder) return value === '' ? 'index.md' : `${value}/index.md`;
  return documentPathFromUrl(value);
}

/** The classification an approval works with: a path with no document counts as restricted (admins decide). */
const effectiveClassification = (c: Classification | null): Classification => c ?? 'restricted';
const approvalsNeeded = (c: Classification): number => (c === 'restricted' ? RESTRICTED_APPROVALS : 1);

/**
 * Access requests (seed 001, "Access requests"): a member asks to read one confidential or restricted document,
 * with a reason and an optional ticket; a manager or above (restricted: two different admins or owners), never
 * the requester, approves within 24 hours; the approval creates a grant of at most 24 hours.
 */
export class AccessRequests {
  constructor(
    private readonly db: Db,
    private readonly lookup: DocumentLookup,
    private readonly now: () => number = Date.now,
  ) {}

  /** File a request. Stored whether or not a document exists at the path, so the answer reveals nothing. */
  async create(
    actor: UserActor,
    project: { id: string; orgId: string; orgSlug: string; slug: string },
    input: NewAccessRequest,
  ): Promise<string> {
    if (!can(actor, 'create', { kind: 'access_request', orgId: project.orgId })) throw new NotFoundError();
    const path = normalizeRequestPath(input.path, project);
    const reason = input.reason.trim();
    const ticket = input.ticket?.trim() || null;
    if (reason.length < 5 || reason.length > 2000) throw new InvalidInputError('Give a reason of 5 to 2000 characters.');
    if (ticket !== null && ticket.length > 200) throw new InvalidInputError('The ticket reference is too long.');
    const now = this.now();
    return withOrg(this.db, project.orgId, async (trx) => {
      // The member's row is locked so that requests sent at once are counted one after another.
      const member = await trx
        .selectFrom('memberships')
        .select('user_id')
        .where('org_id', '=', project.orgId)
        .where('user_id', '=', actor.userId)
        .forUpdate()
        .executeTakeFirst();
      if (!member) throw new NotFoundError();
      const open = await trx
        .selectFrom('access_requests')
        .select((e) => e.fn.countAll<string>().as('n'))
        .where('org_id', '=', project.orgId)
        .where('requester_id', '=', actor.userId)
        .where('status', '=', 'pending')
        .where('expires_at', '>', new Date(now))
        .executeTakeFirstOrThrow();
      if (Number(open.n) >= MAX_OPEN_REQUESTS) throw new TooManyOpenRequestsError();
      const row = await trx
        .insertInto('access_requests')
        .values({
          org_id: project.orgId,
          project_id: project.id,
          path,
          requester_id: actor.userId,
          reason,
          ticket,
          created_at: new Date(now),
          expires_at: new Date(now + REQUEST_LIFETIME_MS),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await audit(trx, {
        orgId: project.orgId,
        actor,
        action: 'access_request.created',
        requestId: row.id,
        path,
        reason,
        outcome: 'success',
        details: { ticket },
      });
      return row.id;
    });
  }

  /** The actor's own requests in an organization, newest first, with their outcomes. */
  async own(actor: UserActor, orgId: string): Promise<OwnAccessRequest[]> {
    const now = this.now();
    const rows = await withOrg(this.db, orgId, (trx) =>
      trx
        .selectFrom('access_requests as r')
        .innerJoin('projects as p', (j) => j.onRef('p.id', '=', 'r.project_id').onRef('p.org_id', '=', 'r.org_id'))
        .leftJoin('access_grants as g', 'g.request_id', 'r.id')
        .select([
          'r.id',
          'p.slug as project_slug',
          'p.name as project_name',
          'r.path',
          'r.reason',
          'r.ticket',
          'r.status',
          'r.created_at',
          'r.expires_at',
          'g.expires_at as grant_expires_at',
          'g.classification as grant_classification',
          'r.project_id',
        ])
        .where('r.org_id', '=', orgId)
        .where('r.requester_id', '=', actor.userId)
        .orderBy('r.created_at', 'desc')
        .limit(100)
        .execute(),
    );
    return rows.map((r) => {
      const grantExpiresAt = r.grant_expires_at ? new Date(r.grant_expires_at) : null;
      // A grant ends early when its document became stricter than the classification it was approved for.
      const current = r.grant_classification ? this.lookup(r.project_id, r.path)?.classification : undefined;
      const outgrown = current !== undefined && r.grant_classification !== null && !clearanceCovers(r.grant_classification, current);
      const overdue = r.status === 'pending' && new Date(r.expires_at).getTime() <= now;
      return {
        id: r.id,
        projectSlug: r.project_slug,
        projectName: r.project_name,
        path: r.path,
        reason: r.reason,
        ticket: r.ticket,
        status: overdue ? 'expired' : r.status,
        createdAt: new Date(r.created_at),
        grantExpiresAt,
        grantLive: grantExpiresAt !== null && grantExpiresAt.getTime() > now && !outgrown,
      };
    });
  }

  /**
   * One page of the pending requests the actor may decide: documents they may read, never their own, not yet
   * expired, oldest first. Which ones an approver may decide depends on each document's classification in the
   * published snapshot, so all pending rows are read and paged after that filter (their number is bounded by
   * MAX_OPEN_REQUESTS per member).
   */
  async pendingFor(actor: UserActor, orgId: string, page = 1): Promise<PendingPage> {
    const role = actor.memberships.get(orgId);
    if (!role || !can(actor, 'approve', { kind: 'access_request', orgId, classification: 'confidential', requesterId: '' })) {
      return { requests: [], page: 1, pageCount: 1, total: 0 };
    }
    const now = this.now();
    await this.expireOverdue(orgId);
    const rows = await withOrg(this.db, orgId, (trx) =>
      trx
        .selectFrom('access_requests as r')
        .innerJoin('projects as p', (j) => j.onRef('p.id', '=', 'r.project_id').onRef('p.org_id', '=', 'r.org_id'))
        .innerJoin('users as u', 'u.id', 'r.requester_id')
        .select((eb) => [
          'r.id',
          'r.project_id',
          'p.slug as project_slug',
          'p.name as project_name',
          'r.path',
          'r.requester_id',
          'u.name as requester_name',
          'u.email as requester_email',
          'r.reason',
          'r.ticket',
          'r.created_at',
          'r.expires_at',
          eb
            .selectFrom('access_request_approvals as a')
            .select((e) => e.fn.countAll<string>().as('n'))
            .whereRef('a.request_id', '=', 'r.id')
            .as('approvals'),
          eb
            .selectFrom('access_request_approvals as a')
            .select('a.approver_id')
            .whereRef('a.request_id', '=', 'r.id')
            .where('a.approver_id', '=', actor.userId)
            .as('mine'),
        ])
        .where('r.org_id', '=', orgId)
        .where('r.status', '=', 'pending')
        .where('r.expires_at', '>', new Date(now))
        .orderBy('r.created_at', 'asc')
        .orderBy('r.id', 'asc')
        .execute(),
    );
    const visible: PendingAccessRequest[] = [];
    for (const r of rows) {
      const doc = this.lookup(r.project_id, r.path);
      const classification = effectiveClassification(doc?.classification ?? null);
      if (!can(actor, 'approve', { kind: 'access_request', orgId, classification, requesterId: r.requester_id })) continue;
      visible.push({
        id: r.id,
        projectSlug: r.project_slug,
        projectName: r.project_name,
        path: r.path,
        title: doc?.title ?? null,
        classification: doc?.classification ?? null,
        requesterName: r.requester_name,
        requesterEmail: r.requester_email,
        reason: r.reason,
        ticket: r.ticket,
        createdAt: new Date(r.created_at),
        expiresAt: new Date(r.expires_at),
        approvals: Number(r.approvals ?? 0),
        approvalsNeeded: approvalsNeeded(classification),
        approvedByActor: r.mine !== null && r.mine !== undefined,
      });
    }
    const pageCount = Math.max(1, Math.ceil(visible.length / PENDING_PAGE_SIZE));
    const current = Math.min(Math.max(1, Math.floor(page) || 1), pageCount);
    return {
      requests: visible.slice((current - 1) * PENDING_PAGE_SIZE, current * PENDING_PAGE_SIZE),
      page: current,
      pageCount,
      total: visible.length,
    };
  }

  /**
   * Approve a request. Runs in one transaction holding the request's row lock, re-reading the approver's role
   * from the database (a role lost since sign-in counts), so two concurrent approvals give exactly one grant.
   */
  async approve(actor: UserActor, orgId: string, requestId: string): Promise<ApprovalOutcome> {
    const now = this.now();
    const result = await withOrg(this.db, orgId, async (trx) => {
      const { request, fresh } = await this.lockForDecision(trx, actor, orgId, requestId);
      const doc = this.lookup(request.project_id, request.path);
      const classification = effectiveClassification(doc?.classification ?? null);
      this.assertMayDecide(fresh, orgId, classification, request.requester_id);
      if (request.status === 'expired') return 'expired' as const;
      if (request.status !== 'pending') throw new ConflictError(`This request is already ${request.status}.`);
      if (new Date(request.expires_at).getTime() < now) {
        await this.markExpired(trx, orgId, request.id, now);
        return 'expired' as const;
      }
      if (doc === null || (doc.classification !== 'confidential' && doc.classification !== 'restricted')) {
        throw new ConflictError('There is no confidential or restricted document at this path. Deny the request instead.');
      }
      const inserted = await trx
        .insertInto('access_request_approvals')
        .values({ org_id: orgId, request_id: request.id, approver_id: actor.userId, created_at: new Date(now) })
        .onConflict((oc) => oc.columns(['request_id', 'approver_id']).doNothing())
        .returning('approver_id')
        .executeTakeFirst();
      if (!inserted) {
        throw new ConflictError('You have already approved this request. A second person must approve it.');
      }
      // Only approvals by people who still hold the needed role count.
      const needed: Role[] = classification === 'restricted' ? ['admin', 'owner'] : ['manager', 'admin', 'owner'];
      const counted = await trx
        .selectFrom('access_request_approvals as a')
        .innerJoin('memberships as m', (j) => j.onRef('m.user_id', '=', 'a.approver_id').onRef('m.org_id', '=', 'a.org_id'))
        .select((e) => e.fn.countAll<string>().as('n'))
        .where('a.request_id', '=', request.id)
        .where('m.role', 'in', needed)
        .executeTakeFirstOrThrow();
      const approvals = Number(counted.n);
      const required = approvalsNeeded(classification);
      if (approvals < required) {
        await audit(trx, {
          orgId,
          actor,
          action: 'access_request.approved',
          requestId: request.id,
          path: request.path,
          outcome: 'success',
          details: { approvals, approvals_needed: required, granted: false },
        });
        return { status: 'pending' as const, approvals, approvalsNeeded: required };
      }
      await trx
        .updateTable('access_requests')
        .set({ status: 'approved', decided_at: new Date(now), decided_by: actor.userId })
        .where('id', '=', request.id)
        .where('org_id', '=', orgId)
        .execute();
      const grantExpiresAt = await insertGrant(
        trx,
        {
          orgId,
          projectId: request.project_id,
          path: request.path,
          userId: request.requester_id,
          requestId: request.id,
          classification: doc.classification,
        },
        now,
      );
      await audit(trx, {
        orgId,
        actor,
        action: 'access_request.approved',
        requestId: request.id,
        path: request.path,
        outcome: 'success',
        details: { approvals, approvals_needed: required, granted: true, grant_expires_at: grantExpiresAt.toISOString() },
      });
      return { status: 'approved' as const, grantExpiresAt };
    });
    if (result === 'expired') throw new RequestExpiredError();
    return result;
  }

  /** Deny a request (any eligible approver). */
  async deny(actor: UserActor, orgId: string, requestId: string): Promise<void> {
    const now = this.now();
    await withOrg(this.db, orgId, async (trx) => {
      const { request, fresh } = await this.lockForDecision(trx, actor, orgId, requestId);
      const doc = this.lookup(request.project_id, request.path);
      this.assertMayDecide(fresh, orgId, effectiveClassification(doc?.classification ?? null), request.requester_id);
      if (request.status !== 'pending') throw new ConflictError(`This request is already ${request.status}.`);
      await trx
        .updateTable('access_requests')
        .set({ status: 'denied', decided_at: new Date(now), decided_by: actor.userId })
        .where('id', '=', request.id)
        .where('org_id', '=', orgId)
        .execute();
      await audit(trx, { orgId, actor, action: 'access_request.denied', requestId: request.id, path: request.path, outcome: 'success' });
    });
  }

  /** Mark pending requests past their deadline as expired (and record each expiry). */
  async expireOverdue(orgId: string): Promise<number> {
    const now = this.now();
    return withOrg(this.db, orgId, async (trx) => {
      const expired = await trx
        .updateTable('access_requests')
        .set({ status: 'expired', decided_at: new Date(now) })
        .where('org_id', '=', orgId)
        .where('status', '=', 'pending')
        .where('expires_at', '<', new Date(now))
        .returning(['id', 'path'])
        .execute();
      for (const row of expired) {
        await audit(trx, { orgId, actor: null, action: 'access_request.expired', requestId: row.id, path: row.path, outcome: 'success' });
      }
      return expired.length;
    });
  }

  private async lockForDecision(trx: Kysely<Database>, actor: UserActor, orgId: string, requestId: string) {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(requestId)) throw new NotFoundError();
    // The approver's role as it is now, not as their session remembers it.
    const membership = await trx
      .selectFrom('memberships')
      .select('role')
      .where('org_id', '=', orgId)
      .where('user_id', '=', actor.userId)
      .forShare()
      .executeTakeFirst();
    if (!membership) throw new NotFoundError();
    const request = await trx
      .selectFrom('access_requests')
      .selectAll()
      .where('id', '=', requestId)
      .where('org_id', '=', orgId)
      .forUpdate()
      .executeTakeFirst();
    if (!request) throw new NotFoundError();
    const fresh: UserActor = { ...actor, memberships: new Map([[orgId, membership.role]]) };
    return { request, fresh };
  }

  private assertMayDecide(fresh: UserActor, orgId: string, classification: Classification, requesterId: string): void {
    if (fresh.userId === requesterId) throw new ForbiddenError('You cannot decide your own access request.');
    if (!can(fresh, 'approve', { kind: 'access_request', orgId, classification, requesterId })) {
      throw new ForbiddenError('Your role does not allow you to decide this request.');
    }
  }

  private async markExpired(trx: Kysely<Database>, orgId: string, requestId: string, now: number): Promise<void> {
    const row = await trx
      .updateTable('access_requests')
      .set({ status: 'expired', decided_at: new Date(now) })
      .where('id', '=', requestId)
      .where('org_id', '=', orgId)
      .returning('path')
      .executeTakeFirstOrThrow();
    await audit(trx, { orgId, actor: null, action: 'access_request.expired', requestId, path: row.path, outcome: 'success' });
  }
}

interface AccessAuditEvent {
  orgId: string;
  actor: UserActor | null;
  action: string;
  requestId: string;
  path: string;
  reason?: string;
  outcome: 'success' | 'failure' | 'denied';
  details?: Record<string, string | number | boolean | null>;
}

/** Record an access-request event in the caller's transaction (the audit log keeps no document text). */
async function audit(trx: Kysely<Database>, event: AccessAuditEvent): Promise<void> {
  await recordAuditEvent(trx, {
    orgId: event.orgId,
    actor: event.actor
      ? { type: 'user', id: event.actor.userId, label: event.actor.email }
      : { type: 'system', id: null, label: 'deadline' },
    action: event.action,
    target: { type: 'access_request', id: event.requestId, label: event.path },
    reason: event.reason ?? null,
    outcome: event.outcome,
    details: event.details,
  });
}
