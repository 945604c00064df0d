import type { Writable } from 'node:stream';
import type { Actor, UserActor } from '../access/actor.ts';
import { authorize } from '../access/authorize.ts';
import { can } from '../access/policy.ts';
import { ShortLivedCache } from '../caching/short-lived-cache.ts';
import { withOrg, type Db } from '../db/connection.ts';
import type { RepositoryRegistry } from '../projects/repositories.ts';
import { freshActor } from './commands/membership-lock.ts';
import { scheduledDeletion, type ScheduledDeletion } from './deletion.ts';
import { startOrganizationExport, type OrganizationExportSummary } from './export.ts';

/** How long a process trusts what it read about an organization's scheduled deletion (other processes may change it). */
const SCHEDULE_TTL_MS = 3_000;
/** How long the value read last still answers while one refresh runs (caching/short-lived-cache.ts). */
const SCHEDULE_MAX_STALE_MS = 10_000;
const MAX_REMEMBERED = 10_000;

/**
 * The "Export and deletion" page's service (owners): the export download, the state of a scheduled deletion, and
 * the question every organization route asks first — is this organization scheduled for deletion?
 */
export class OrganizationData {
  readonly #schedules = new ShortLivedCache<ScheduledDeletion | null>({ ttlMs: SCHEDULE_TTL_MS, maxStaleMs: SCHEDULE_MAX_STALE_MS, maxEntries: MAX_REMEMBERED });

  constructor(private readonly deps: { db: Db; repositories: RepositoryRegistry; now?: () => number }) {}

  /** The scheduled deletion of `/:org`, or null (remembered for a few seconds; `forget` after a change here). */
  scheduledBySlug(slug: string): Promise<ScheduledDeletion | null> {
    return this.#schedules.get(slug, () => scheduledDeletion(this.deps.db, slug));
  }

  /** As `scheduledBySlug`, but a remembered answer is returned as it is (no promise): for the hook of every request. */
  scheduledBySlugNow(slug: string): ScheduledDeletion | null | Promise<ScheduledDeletion | null> {
    return this.#schedules.getNow(slug, () => scheduledDeletion(this.deps.db, slug));
  }

  /** Forget what this process remembers about scheduled deletions (after a schedule or cancellation here). */
  forget(): void {
    this.#schedules.forget();
  }

  /**
   * Whether the actor may manage the organization's data (its owners, as the database holds the role now: a
   * session leaves an organization scheduled for deletion out of its memberships).
   */
  async mayManage(actor: Actor, orgId: string): Promise<boolean> {
    if (actor.kind !== 'user') return false;
    const fresh = await withOrg(this.deps.db, orgId, (trx) => freshActor(trx, actor, orgId));
    return can(fresh, 'delete', { kind: 'organization-data', orgId });
  }

  /** The page's facts for an owner (everyone else: the one 404), with the scheduled deletion if any. */
  async overview(actor: UserActor, org: { id: string; slug: string }): Promise<{ scheduled: ScheduledDeletion | null }> {
    const fresh = await withOrg(this.deps.db, org.id, (trx) => freshActor(trx, actor, org.id));
    authorize(fresh, 'read', { kind: 'organization-data', orgId: org.id }, { hidden: true });
    return { scheduled: await scheduledDeletion(this.deps.db, org.slug) };
  }

  /** Check and record an export (owners); the returned function streams the archive into `out`. */
  async startExport(
    actor: UserActor,
    org: { id: string; slug: string; name: string },
    context: { requestId: string; ip: string },
  ): Promise<(out: Writable) => Promise<OrganizationExportSummary>> {
    const started = await startOrganizationExport(this.deps, { org, reader: actor, ...context });
    return (out) => started.write(out);
  }
}
