import { sql } from 'kysely';
import type { Db } from '../db/connection.ts';
import { withOrg } from '../db/connection.ts';
import type { DocumentLookup } from './access-requests.ts';
import type { UserActor } from './actor.ts';
import { can } from './policy.ts';

/** How long a user's count is trusted from memory: the top bar asks on every page. */
const TTL_MS = 20_000;
/** More than this many waiting requests shows as this number and a plus. */
export const WAITING_CAP = 99;

/** Access requests waiting for one user's decision, for the top bar. */
export interface WaitingRequests {
  count: number;
  /** The slug of the organization whose list to open (the first one with waiting requests). */
  orgSlug: string | null;
}

/**
 * Counts, for the top bar, the pending access requests a user may decide and has not yet approved (the same
 * rule as the approvers' list: never their own, only documents they may read, not expired). Only organizations
 * where the user may approve anything (manager and above) are asked: one query on the pending-requests index per
 * such organization, at most once per TTL per user.
 */
export class WaitingRequestCounts {
  private readonly cache = new Map<string, { value: WaitingRequests; at: number }>();

  constructor(
    private readonly db: Db,
    private readonly lookup: DocumentLookup,
    private readonly now: () => number = Date.now,
  ) {}

  /** The user's waiting requests (from memory for a few seconds). */
  async countFor(actor: UserActor): Promise<WaitingRequests> {
    const now = this.now();
    const cached = this.cache.get(actor.userId);
    if (cached && now - cached.at < TTL_MS) return cached.value;
    let count = 0;
    let orgId: string | null = null;
    for (const org of [...actor.memberships.keys()].sort()) {
      if (!can(actor, 'approve', { kind: 'access_request', orgId: org, classification: 'confidential', requesterId: '' })) continue;
      const rows = await withOrg(this.db, org, (trx) =>
        trx
          .selectFrom('access_requests as r')
          .select(['r.project_id', 'r.path', 'r.requester_id'])
          .where('r.org_id', '=', org)
          .where('r.status', '=', 'pending')
          .where('r.expires_at', '>', new Date(now))
          .where('r.requester_id', '<>', actor.userId)
          .where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom('access_request_approvals as a')
                  .select(sql`1`.as('one'))
                  .whereRef('a.request_id', '=', 'r.id')
                  .where('a.approver_id', '=', actor.userId),
              ),
            ),
          )
          .limit(WAITING_CAP + 1)
          .execute(),
      );
      const mine = rows.filter((r) => {
        const classification = this.lookup(r.project_id, r.path)?.classification ?? 'restricted';
        return can(actor, 'approve', { kind: 'access_request', orgId: org, classification, requesterId: r.requester_id });
      }).length;
      if (mine > 0 && orgId === null) orgId = org;
      count += mine;
    }
    const slug = orgId === null ? undefined : await this.db.selectFrom('organizations').select('slug').where('id', '=', orgId).executeTakeFirst();
    const value = { count, orgSlug: slug?.slug ?? null };
    this.cache.set(actor.userId, { value, at: now });
    return value;
  }

  /** Forget a user's count (they just decided a request), or everyone's (a new request was filed). */
  forget(userId?: string): void {
    if (userId === undefined) this.cache.clear();
    else this.cache.delete(userId);
  }
}
