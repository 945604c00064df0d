import type { Kysely } from 'kysely';
import { recordAuditEvent } from '../audit/audit-log.ts';
import type { Classification } from '../content/types.ts';
import type { Db } from '../db/connection.ts';
import { withOrg } from '../db/connection.ts';
import type { AccessRequestStatus, Database } from '../db/schema.ts';
import { AppError, ConflictError, InvalidInputError } from '../errors.ts';
import type { UserActor } from './actor.ts';
import { can } from './policy.ts';
import { clearanceCovers } from './roles.ts';

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
  return /\.md$/i.test(value) ? value : `${value}.md`;
}

/** The classification an approval works with: a path with no document counts as restricted (admins decide). */
export const effectiveClassification = (c: Classification | null): Classification => c ?? 'restricted';
/** Approvals a request needs: two different people for a restricted document, else one. */
export const approvalsNeeded = (c: Classification): number => (c === 'restricted' ? RESTRICTED_APPROVALS : 1);

/**
 * Access requests (seed 001, "Access requests"): a member asks to read one confidential or restricted document,
 * with a reason and an optional ticket; a manager or above (restricted: two different admins or owners), never
 * the requester, approves within 24 hours; the approval creates a grant of at most 24 hours.
 *
 * This service reads them (a requester's own, an approver's queue) and expires overdue ones; filing, approving
 * and denying are commands (commands/create-access-request.ts, approve-access-request.ts, deny-access-request.ts).
 */
export class AccessRequests {
  constructor(
    private readonly db: Db,
    private readonly lookup: DocumentLookup,
    private readonly now: () => number = Date.now,
  ) {}

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
        await recordAccessRequestEvent(trx, { orgId, actor: null, action: 'access_request.expired', requestId: row.id, path: row.path, outcome: 'success' });
      }
      return expired.length;
    });
  }

}

export interface AccessAuditEvent {
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
export async function recordAccessRequestEvent(trx: Kysely<Database>, event: AccessAuditEvent): Promise<void> {
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
