import type { UserActor } from '../access/actor.ts';
import { ShortLivedCache } from '../caching/short-lived-cache.ts';
import { authorize } from '../access/authorize.ts';
import { liveGrantKeysByUser } from '../access/grants.ts';
import { can, type Grants } from '../access/policy.ts';
import { stricter } from '../content/classification.ts';
import { recordAuditEvent } from '../audit/audit-log.ts';
import { auditActorOf } from '../audit/actor.ts';
import type { Classification } from '../content/types.ts';
import { withOrg, type Db } from '../db/connection.ts';
import type { Role } from '../db/schema.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import type { ProjectRecord } from '../projects/projects.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** The top bar's count is trusted from memory this long (an acknowledgment made here forgets it at once). */
const COUNT_TTL_MS = 10_000;
/** How long the last count still shows while one refresh runs (the count is a hint; acknowledging here resets it). */
const COUNT_MAX_STALE_MS = 60_000;
/** More open tasks than this shows as this number and a plus. */
export const OPEN_TASKS_CAP = 99;

/** What readers see of a document now (the published snapshot), when it is there. */
export type PublishedLookup = (projectId: string, path: string) => { title: string; classification: Classification; blobId: string } | null;

/** One person's task for one document: acknowledge its current version, or done. */
export interface AcknowledgmentTask {
  orgSlug: string;
  projectId: string;
  projectSlug: string;
  projectName: string;
  path: string;
  title: string;
  status: 'open' | 'done';
  /** When the version that must be acknowledged is due (its publication plus the organization's days). */
  dueAt: Date;
  overdue: boolean;
  /** The version to acknowledge now. */
  currentCommit: string;
  currentBlob: string;
  /** Their latest acknowledgment of this document, of whichever version. */
  lastAcknowledged: { at: Date; commit: string; blob: string } | null;
}

/** One member's state for a document, in the managers' table. */
export interface AcknowledgmentStatusRow {
  userId: string;
  name: string;
  email: string;
  role: Role;
  status: 'done' | 'open' | 'overdue';
  acknowledgedAt: Date | null;
}

/** A document that asks for acknowledgment, with its counts, for managers. */
export interface AcknowledgmentDocumentSummary {
  projectSlug: string;
  projectName: string;
  path: string;
  title: string;
  dueAt: Date;
  done: number;
  open: number;
  overdue: number;
}

/** One person's acknowledgment of a document that is past its due date (see Acknowledgments.overdue). */
export interface OverdueAcknowledgment {
  projectId: string;
  projectSlug: string;
  projectName: string;
  orgSlug: string;
  path: string;
  title: string;
  /** Who may read it (the stricter of what readers see and the version says): filter before showing it to anyone. */
  classification: Classification;
  /** The version they must acknowledge. */
  currentCommit: string;
  currentBlob: string;
  dueAt: Date;
  userId: string;
  name: string;
  email: string;
  role: Role;
  /** Their latest acknowledgment of an earlier version, if any. */
  lastAcknowledgedAt: Date | null;
}

interface DocumentRow {
  projectId: string;
  projectSlug: string;
  projectName: string;
  orgSlug: string;
  path: string;
  title: string;
  classification: Classification;
  audience: string[];
  requiredVersion: bigint;
  currentVersion: string;
  currentCommit: string;
  currentBlob: string;
  dueAt: Date;
}

interface AckRow {
  projectId: string;
  path: string;
  userId: string;
  versionId: bigint;
  commit: string;
  blob: string;
  at: Date;
}


/** A member as the policy sees them in one organization (to ask whether they may read a document). */
const memberActor = (orgId: string, userId: string, role: Role): UserActor => ({
  kind: 'user',
  userId,
  email: '',
  name: '',
  memberships: new Map([[orgId, role]]),
});

/**
 * Acknowledgments: who must read and acknowledge which document, and the record that they did.
 *
 * A person has a task for a document when the document asks for acknowledgment (its versions are recorded by
 * AcknowledgmentVersions), their role is in its audience, and they may read it (the policy: at their role, or with
 * a live access grant for that document — while the grant lasts). Everything else about that document is missing for them: no task,
 * no count, no row in a manager's table, and acknowledging it answers 404 like a document that does not exist.
 * The task is done when they acknowledged the version that last required it, or a later one.
 */
export class Acknowledgments {
  /**
   * Open counts by user, for the top bar. Shared by the requests of one moment and refreshed behind the last value
   * (each count is a few transactions per organization; every signed-in page asks, and when 32 requests of one
   * user found it expired together, each ran them in turn on the database while the others waited).
   */
  private readonly counts: ShortLivedCache<{ count: number; orgSlug: string | null }>;

  constructor(
    private readonly db: Db,
    private readonly published: PublishedLookup,
    private readonly now: () => number = Date.now,
  ) {
    this.counts = new ShortLivedCache({ ttlMs: COUNT_TTL_MS, maxStaleMs: COUNT_MAX_STALE_MS, maxEntries: 10_000, now });
  }

  /** The actor's tasks in an organization, open ones first (by due date), then done ones. */
  async tasksFor(actor: UserActor, orgId: string): Promise<AcknowledgmentTask[]> {
    const role = actor.memberships.get(orgId);
    if (!role) return [];
    const grants = await this.liveGrants(orgId, actor.userId);
    const documents = (await this.documents(orgId)).filter((doc) => this.concerns(orgId, doc, actor.userId, role, grants));
    const acks = await this.acknowledgmentsOf(orgId, actor.userId);
    const now = this.now();
    const tasks = documents.map((doc) => taskOf(doc, latest(acks, doc.projectId, doc.path, actor.userId), now));
    return tasks.sort((a, b) =>
      a.status !== b.status ? (a.status === 'open' ? -1 : 1) : a.dueAt.getTime() - b.dueAt.getTime() || a.title.localeCompare(b.title),
    );
  }

  /** The actor's task for one document of a project, or null when it asks nothing of them. */
  async taskFor(actor: UserActor, project: ProjectRecord, path: string): Promise<AcknowledgmentTask | null> {
    const role = actor.memberships.get(project.orgId);
    if (!role) return null;
    const doc = (await this.documents(project.orgId, project.id, path))[0];
    if (!doc || !this.concerns(project.orgId, doc, actor.userId, role, await this.liveGrants(project.orgId, actor.userId))) return null;
    const acks = await this.acknowledgmentsOf(project.orgId, actor.userId, project.id, path);
    return taskOf(doc, latest(acks, doc.projectId, doc.path, actor.userId), this.now());
  }

  /** Open tasks across the actor's organizations, for the top bar (from memory for a few seconds). */
  openCount(actor: UserActor): Promise<{ count: number; orgSlug: string | null }> {
    return this.counts.get(actor.userId, () => this.countOpen(actor));
  }

  private async countOpen(actor: UserActor): Promise<{ count: number; orgSlug: string | null }> {
    let count = 0;
    let orgSlug: string | null = null;
    for (const orgId of [...actor.memberships.keys()].sort()) {
      const open = (await this.tasksFor(actor, orgId)).filter((task) => task.status === 'open');
      if (open.length > 0 && orgSlug === null) orgSlug = open[0]!.orgSlug;
      count += open.length;
    }
    return { count, orgSlug };
  }

  /**
   * Record that the actor read and understood exactly the version `blobId` of a document: it must be the current
   * version (a page read before a newer version was published answers 409, so nobody acknowledges text they did
   * not see). Acknowledging again the same version changes nothing. Audited as `acknowledgment.recorded`.
   */
  async acknowledge(
    actor: UserActor,
    project: ProjectRecord,
    path: string,
    blobId: string,
    context: { requestId: string; ip: string },
  ): Promise<{ recorded: boolean }> {
    const task = await this.taskFor(actor, project, path);
    if (!task) throw new NotFoundError();
    const result = await withOrg(this.db, project.orgId, async (trx) => {
      const doc = await trx
        .selectFrom('ack_documents')
        .innerJoin('ack_versions', 'ack_versions.id', 'ack_documents.current_version')
        .select(['ack_versions.id', 'ack_versions.blob_id', 'ack_versions.commit_id', 'ack_documents.active'])
        .where('ack_documents.project_id', '=', project.id)
        .where('ack_documents.path', '=', path)
        // a new version being recorded waits for this, and this for it: never an acknowledgment of a replaced version
        .forShare()
        .executeTakeFirst();
      if (!doc || !doc.active) throw new NotFoundError();
      if (doc.blob_id !== blobId) {
        throw new ConflictError('A newer version of this document was published since you opened it. Read the current version, then acknowledge it.');
      }
      const inserted = await trx
        .insertInto('acknowledgments')
        .values({
          org_id: project.orgId,
          user_id: actor.userId,
          project_id: project.id,
          path,
          version_id: String(doc.id),
          blob_id: doc.blob_id,
          commit_id: doc.commit_id,
          acknowledged_at: new Date(this.now()),
        })
        .onConflict((oc) => oc.columns(['user_id', 'version_id']).doNothing())
        .returning('id')
        .executeTakeFirst();
      if (!inserted) return { recorded: false };
      await recordAuditEvent(trx, {
        orgId: project.orgId,
        actor: auditActorOf(actor),
        action: 'acknowledgment.recorded',
        target: { type: 'document', id: `${project.id}:${path}`, label: path },
        outcome: 'success',
        requestId: context.requestId,
        ip: context.ip,
        details: { blob: doc.blob_id, commit: doc.commit_id },
      });
      return { recorded: true };
    });
    this.counts.delete(actor.userId);
    return result;
  }

  /** May the actor see who has acknowledged what (manager and above)? */
  mayTrack(actor: UserActor, orgId: string): boolean {
    return can(actor, 'read', { kind: 'acknowledgment-status', orgId });
  }

  /** For managers and above: every document asking for acknowledgment that they may read, with counts. */
  async documentSummaries(actor: UserActor, orgId: string): Promise<AcknowledgmentDocumentSummary[]> {
    authorize(actor, 'read', { kind: 'acknowledgment-status', orgId }, { hidden: true });
    const documents = (await this.documents(orgId)).filter((doc) => this.readable(orgId, doc, actor));
    const members = await this.members(orgId);
    const acks = await this.acknowledgmentsOf(orgId, null);
    const grants = await this.liveGrants(orgId, null);
    const now = this.now();
    return documents.map((doc) => {
      const rows = this.statusRows(orgId, doc, members, acks, grants, now);
      return {
        projectSlug: doc.projectSlug,
        projectName: doc.projectName,
        path: doc.path,
        title: doc.title,
        dueAt: doc.dueAt,
        done: rows.filter((r) => r.status === 'done').length,
        open: rows.filter((r) => r.status === 'open').length,
        overdue: rows.filter((r) => r.status === 'overdue').length,
      };
    });
  }

  /**
   * Every overdue acknowledgment of an organization at this service's clock: each person asked to acknowledge a
   * document (audience, and may read it: role or live grant) whose task is still open after its due date, most
   * overdue first. The one computation of "overdue" for the managers' CSV, webhooks ("acknowledgment overdue")
   * and digests. No access check: it names documents of every classification — a caller showing it to someone
   * filters it (`overdueFor`), and never puts a title into a message for someone who may not read it.
   */
  async overdue(orgId: string): Promise<OverdueAcknowledgment[]> {
    const now = this.now();
    const documents = (await this.documents(orgId)).filter((doc) => now > doc.dueAt.getTime());
    if (documents.length === 0) return [];
    const members = await this.members(orgId);
    const acks = await this.acknowledgmentsOf(orgId, null);
    const grants = await this.liveGrants(orgId, null);
    const result: OverdueAcknowledgment[] = [];
    for (const doc of documents) {
      for (const member of members) {
        if (!this.concerns(orgId, doc, member.userId, member.role, grants.get(member.userId))) continue;
        const task = taskOf(doc, latest(acks, doc.projectId, doc.path, member.userId), now);
        if (!task.overdue) continue;
        result.push({
          projectId: doc.projectId,
          projectSlug: doc.projectSlug,
          projectName: doc.projectName,
          orgSlug: doc.orgSlug,
          path: doc.path,
          title: doc.title,
          classification: doc.classification,
          currentCommit: doc.currentCommit,
          currentBlob: doc.currentBlob,
          dueAt: doc.dueAt,
          userId: member.userId,
          name: member.name,
          email: member.email,
          role: member.role,
          lastAcknowledgedAt: task.lastAcknowledged?.at ?? null,
        });
      }
    }
    return result.sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime() || a.title.localeCompare(b.title) || a.email.localeCompare(b.email));
  }

  /** For managers and above: the organization's overdue acknowledgments of the documents they may read. */
  async overdueFor(actor: UserActor, orgId: string): Promise<OverdueAcknowledgment[]> {
    authorize(actor, 'read', { kind: 'acknowledgment-status', orgId }, { hidden: true });
    return (await this.overdue(orgId)).filter((row) => can(actor, 'read', { kind: 'document', orgId, classification: row.classification }));
  }

  /** For managers and above: each member the document asks, and whether they acknowledged its current requirement. */
  async documentStatus(
    actor: UserActor,
    project: ProjectRecord,
    path: string,
  ): Promise<{ title: string; path: string; dueAt: Date; currentCommit: string; rows: AcknowledgmentStatusRow[] }> {
    authorize(actor, 'read', { kind: 'acknowledgment-status', orgId: project.orgId }, { hidden: true });
    const doc = (await this.documents(project.orgId, project.id, path))[0];
    // a document the manager may not read does not exist for them (the policy's 404, audited)
    if (!doc) throw new NotFoundError();
    authorize(actor, 'read', { kind: 'document', orgId: project.orgId, classification: doc.classification, projectId: project.id, path: doc.path });
    const members = await this.members(project.orgId);
    const acks = await this.acknowledgmentsOf(project.orgId, null, project.id, path);
    const rows = this.statusRows(project.orgId, doc, members, acks, await this.liveGrants(project.orgId, null), this.now());
    const order = { overdue: 0, open: 1, done: 2 } as const;
    rows.sort((a, b) => order[a.status] - order[b.status] || a.name.localeCompare(b.name) || a.email.localeCompare(b.email));
    return { title: doc.title, path: doc.path, dueAt: doc.dueAt, currentCommit: doc.currentCommit, rows };
  }

  private statusRows(
    orgId: string,
    doc: DocumentRow,
    members: { userId: string; name: string; email: string; role: Role }[],
    acks: AckRow[],
    grants: ReadonlyMap<string, Grants>,
    now: number,
  ): AcknowledgmentStatusRow[] {
    return members
      .filter((m) => this.concerns(orgId, doc, m.userId, m.role, grants.get(m.userId)))
      .map((m) => {
        const task = taskOf(doc, latest(acks, doc.projectId, doc.path, m.userId), now);
        return {
          userId: m.userId,
          name: m.name,
          email: m.email,
          role: m.role,
          status: task.status === 'done' ? 'done' : task.overdue ? 'overdue' : 'open',
          acknowledgedAt: task.status === 'done' ? (task.lastAcknowledged?.at ?? null) : null,
        };
      });
  }

  /**
   * Is the document asking this member: in its audience, and may they read it — at their role, or with a live
   * access grant for it (issue #14: "everyone in the audience who may read the document gets a task")?
   */
  private concerns(orgId: string, doc: DocumentRow, userId: string, role: Role, grants: Grants | undefined): boolean {
    if (!doc.audience.includes('everyone') && !doc.audience.includes(role)) return false;
    return this.readable(orgId, doc, memberActor(orgId, userId, role), grants);
  }

  private readable(orgId: string, doc: DocumentRow, actor: UserActor, grants?: Grants): boolean {
    return can(actor, 'read', { kind: 'document', orgId, classification: doc.classification, projectId: doc.projectId, path: doc.path, grants });
  }

  /** Live access grants in the organization as policy keys, per user (one user's with `userId`). */
  private async liveGrants(orgId: string, userId: string): Promise<Grants>;
  private async liveGrants(orgId: string, userId: null): Promise<Map<string, Grants>>;
  private async liveGrants(orgId: string, userId: string | null): Promise<Grants | Map<string, Grants>> {
    const byUser = await liveGrantKeysByUser(this.db, orgId, userId, this.now());
    return userId === null ? byUser : (byUser.get(userId) ?? new Set<string>());
  }

  /** Active documents asking for acknowledgment (one, with `projectId` and `path`). */
  private async documents(orgId: string, projectId?: string, path?: string): Promise<DocumentRow[]> {
    const rows = await withOrg(this.db, orgId, (trx) => {
      let query = trx
        .selectFrom('ack_documents as d')
        .innerJoin('ack_versions as cv', 'cv.id', 'd.current_version')
        .innerJoin('ack_versions as rv', 'rv.id', 'd.required_version')
        .innerJoin('projects as p', 'p.id', 'd.project_id')
        .innerJoin('organizations as o', 'o.id', 'd.org_id')
        .select([
          'd.project_id',
          'd.path',
          'd.title',
          'd.classification',
          'd.audience',
          'd.required_version',
          'd.current_version',
          'cv.commit_id',
          'cv.blob_id',
          'rv.published_at',
          'p.slug as project_slug',
          'p.name as project_name',
          'o.slug as org_slug',
          'o.ack_due_days',
        ])
        .where('d.org_id', '=', orgId)
        .where('d.active', '=', true);
      if (projectId !== undefined && path !== undefined) query = query.where('d.project_id', '=', projectId).where('d.path', '=', path);
      return query.execute();
    });
    return rows.map((row) => {
      const published = this.published(row.project_id, row.path);
      return {
        projectId: row.project_id,
        projectSlug: row.project_slug,
        projectName: row.project_name,
        orgSlug: row.org_slug,
        path: row.path,
        title: published?.title ?? row.title,
        // what readers see now and what the version says: the stricter decides (never wider than either)
        classification: published ? stricter(published.classification, row.classification) : row.classification,
        audience: row.audience,
        requiredVersion: BigInt(row.required_version),
        currentVersion: String(row.current_version),
        currentCommit: row.commit_id,
        currentBlob: row.blob_id,
        dueAt: new Date(new Date(row.published_at).getTime() + row.ack_due_days * DAY_MS),
      };
    });
  }

  /** Acknowledgments in an organization: one user's (or everyone's, `userId` null), of one document or all. */
  private async acknowledgmentsOf(orgId: string, userId: string | null, projectId?: string, path?: string): Promise<AckRow[]> {
    const rows = await withOrg(this.db, orgId, (trx) => {
      let query = trx
        .selectFrom('acknowledgments')
        .select(['project_id', 'path', 'user_id', 'version_id', 'commit_id', 'blob_id', 'acknowledged_at'])
        .where('org_id', '=', orgId);
      if (userId !== null) query = query.where('user_id', '=', userId);
      if (projectId !== undefined && path !== undefined) query = query.where('project_id', '=', projectId).where('path', '=', path);
      return query.execute();
    });
    return rows.map((row) => ({
      projectId: row.project_id,
      path: row.path,
      userId: row.user_id,
      versionId: BigInt(row.version_id),
      commit: row.commit_id,
      blob: row.blob_id,
      at: new Date(row.acknowledged_at),
    }));
  }

  private async members(orgId: string): Promise<{ userId: string; name: string; email: string; role: Role }[]> {
    const rows = await withOrg(this.db, orgId, (trx) =>
      trx
        .selectFrom('memberships as m')
        .innerJoin('users as u', 'u.id', 'm.user_id')
        .select(['u.id', 'u.name', 'u.email', 'm.role'])
        .where('m.org_id', '=', orgId)
        .where('u.disabled_at', 'is', null)
        .execute(),
    );
    return rows.map((row) => ({ userId: row.id, name: row.name, email: row.email, role: row.role }));
  }
}

function latest(acks: AckRow[], projectId: string, path: string, userId: string): AckRow | null {
  let found: AckRow | null = null;
  for (const ack of acks) {
    if (ack.projectId !== projectId || ack.path !== path || ack.userId !== userId) continue;
    if (!found || ack.versionId > found.versionId) found = ack;
  }
  return found;
}

function taskOf(doc: DocumentRow, last: AckRow | null, now: number): AcknowledgmentTask {
  const done = last !== null && last.versionId >= doc.requiredVersion;
  return {
    orgSlug: doc.orgSlug,
    projectId: doc.projectId,
    projectSlug: doc.projectSlug,
    projectName: doc.projectName,
    path: doc.path,
    title: doc.title,
    status: done ? 'done' : 'open',
    dueAt: doc.dueAt,
    overdue: !done && now > doc.dueAt.getTime(),
    currentCommit: doc.currentCommit,
    currentBlob: doc.currentBlob,
    lastAcknowledged: last ? { at: last.at, commit: last.commit, blob: last.blob } : null,
  };
}
