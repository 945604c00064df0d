/**
 * Organization deletion (issue #17, docs/organization-export-and-deletion.md): what a scheduled deletion looks
 * like, and the purge job that removes an organization once its grace period has passed.
 *
 * The purge of one organization is one database transaction that holds the organization's row
 * (`FOR UPDATE SKIP LOCKED`: another process's purge skips it, so two processes never purge the same one):
 * 1. the files: each project's repository (DATA/repos), rendered pages and HTML packs (DATA/rendered/<project>),
 *    deleted projects kept for restore (DATA/deleted-projects) — removed while the row is held;
 * 2. the rows: the projects and memberships (everything else of the organization goes with them or with the
 *    organization's row, by the schema's cascades: snapshots, rendered documents, search index, change requests,
 *    acknowledgments, access requests and grants, invitations, branch moves, SSO, settings);
 * 3. the organization's own audit chain (audit_purge_organization, migration 038), then the organization's row;
 * 4. the accounts of people who belonged to this organization only (see `purgeOrganization`);
 * 5. one event in the system chain, `organization.purged`, naming the organization by id only, with the removed
 *    chain's length and last hash (no personal data).
 * A crash anywhere rolls the rows back and leaves the organization due: the next run starts again, and removing
 * files already removed is no error — the job is idempotent and resumable.
 */
import { rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { recordAuditEvent } from '../audit/audit-log.ts';
import { subjectHash } from '../auth/throttle.ts';
import type { ProcessBus } from '../cluster/process-bus.ts';
import type { Db } from '../db/connection.ts';
import { DELETION_GRACE_DAYS } from '../db/migrations/038-organization-deletion.ts';
import { listDeletedProjects, deletedProjectsDir, manifestPath } from '../projects/deleted-projects.ts';

export { DELETION_GRACE_DAYS };

/** The grace period between the request and the purge. */
export const DELETION_GRACE_MS = DELETION_GRACE_DAYS * 24 * 60 * 60 * 1000;

/** An organization whose deletion is scheduled. */
export interface ScheduledDeletion {
  orgId: string;
  slug: string;
  name: string;
  requestedAt: Date;
  purgeAfter: Date;
}

/** The scheduled deletion of the organization with this slug, or null (none scheduled, or no such organization). */
export async function scheduledDeletion(db: Db, slug: string): Promise<ScheduledDeletion | null> {
  const row = await db
    .selectFrom('organizations')
    .select(['id', 'slug', 'name', 'deletion_requested_at', 'deletion_purge_after'])
    .where('slug', '=', slug)
    .where('deletion_purge_after', 'is not', null)
    .executeTakeFirst();
  if (!row || !row.deletion_requested_at || !row.deletion_purge_after) return null;
  return { orgId: row.id, slug: row.slug, name: row.name, requestedAt: new Date(row.deletion_requested_at), purgeAfter: new Date(row.deletion_purge_after) };
}

/** What one purge removed (counts only: the organization is gone). */
export interface PurgedOrganization {
  orgId: string;
  projects: number;
  members: number;
  /** Accounts deleted because this was their only organization. */
  accountsDeleted: number;
  auditEvents: number;
}

export interface PurgeDeps {
  db: Db;
  dataDir: string;
  /** The clock of the grace period (tests move it). */
  now?: () => number;
  /** With several processes: each purge tells the others, when it commits, to forget projects and sessions. */
  bus?: ProcessBus;
  /** Told after each purge (the server forgets cached projects and sessions). */
  onPurged?: (purged: PurgedOrganization, memberIds: string[]) => Promise<void> | void;
}

/** Purge every organization whose grace period has passed (by `now`), one at a time. Returns what was purged. */
export async function purgeDueOrganizations(deps: PurgeDeps): Promise<PurgedOrganization[]> {
  const purged: PurgedOrganization[] = [];
  const skipped = new Set<string>();
  for (;;) {
    const result = await purgeNextDue(deps, skipped);
    if (result === null) return purged;
    purged.push(result.purged);
    await deps.onPurged?.(result.purged, result.memberIds);
  }
}

/** Claim and purge one due organization; null when none is due (or every due one is being purged elsewhere). */
async function purgeNextDue(deps: PurgeDeps, skipped: Set<string>): Promise<{ purged: PurgedOrganization; memberIds: string[] } | null> {
  const now = new Date((deps.now ?? Date.now)());
  return deps.db.transaction().execute(async (trx) => {
    let query = trx
      .selectFrom('organizations')
      .select(['id'])
      .where('deletion_purge_after', 'is not', null)
      .where('deletion_purge_after', '<=', now)
      // and due by the database's clock too: audit_purge_organization would refuse it otherwise (after the files went)
      .where('deletion_purge_after', '<=', sql<Date>`now()`)
      .orderBy('deletion_purge_after')
      .limit(1)
      .forUpdate()
      .skipLocked();
    if (skipped.size > 0) query = query.where('id', 'not in', [...skipped]);
    const org = await query.executeTakeFirst();
    if (!org) return null;
    const result = await purgeOrganization(trx, deps.dataDir, org.id);
    // delivered when the purge commits: the other processes forget its projects and its members' sessions
    if (deps.bus?.shared) await deps.bus.send(trx, { t: 'all' });
    return result;
  });
}

/**
 * Remove one organization (its row is locked by the caller's transaction). Accounts: a person who was a member
 * of this organization and of no other has no reason left to have an account here (the DPA's deletion after
 * termination), so the account goes too — its sessions, second factor, recovery codes and access tokens with it.
 * People who are members elsewhere keep their accounts; only their membership here goes.
 */
async function purgeOrganization(trx: Db, dataDir: string, orgId: string): Promise<{ purged: PurgedOrganization; memberIds: string[] }> {
  await sql`select set_config('app.org_id', ${orgId}, true)`.execute(trx);
  const projects = await trx.selectFrom('projects').select(['id', 'repo_dir']).where('org_id', '=', orgId).execute();
  const memberIds = (await trx.selectFrom('memberships').select('user_id').where('org_id', '=', orgId).execute()).map((m) => m.user_id);

  // 1. files (an id or directory name from our own rows; anything odd is refused rather than joined into a path)
  for (const project of projects) {
    assertSafeName(project.id);
    assertSafeName(project.repo_dir);
    await rm(join(dataDir, 'repos', project.repo_dir), { recursive: true, force: true });
    await rm(join(dataDir, 'rendered', project.id), { recursive: true, force: true });
  }
  for (const kept of listDeletedProjects(dataDir).filter((m) => m.orgId === orgId)) {
    assertSafeName(kept.repoDir);
    assertSafeName(kept.id);
    await rm(join(deletedProjectsDir(dataDir), kept.repoDir), { recursive: true, force: true });
    await rm(join(dataDir, 'rendered', kept.id), { recursive: true, force: true });
    await rm(manifestPath(dataDir, kept.id), { force: true });
  }

  // 2. rows: the projects (and all that hangs off them) and the memberships; the rest cascades from the row
  await trx.deleteFrom('projects').where('org_id', '=', orgId).execute();
  await trx.deleteFrom('memberships').where('org_id', '=', orgId).execute();

  // 3. the organization's audit chain, then the organization itself
  const chain = (
    await sql<{ removed: string | number; last_seq: string | number | null; last_hash: string | null }>`select removed, last_seq, last_hash from audit_purge_organization(${orgId}::uuid)`.execute(trx)
  ).rows[0]!;
  await trx.deleteFrom('organizations').where('id', '=', orgId).execute();

  // 4. accounts of people who belonged to this organization only
  let accountsDeleted = 0;
  for (const userId of memberIds) {
    // memberships are visible per organization or per user: ask as the user
    await sql`select set_config('app.user_id', ${userId}, true)`.execute(trx);
    const remaining = await trx.selectFrom('memberships').select('org_id').where('user_id', '=', userId).limit(1).executeTakeFirst();
    await sql`select set_config('app.user_id', '', true)`.execute(trx);
    if (remaining) continue;
    await deleteAccount(trx, userId);
    accountsDeleted++;
  }

  // 5. the record that outlives the organization: ids and counts only
  await sql`select set_config('app.org_id', '', true)`.execute(trx);
  const purged: PurgedOrganization = {
    orgId,
    projects: projects.length,
    members: memberIds.length,
    accountsDeleted,
    auditEvents: Number(chain.removed),
  };
  await recordAuditEvent(trx, {
    orgId: null,
    actor: { type: 'system', id: null, label: 'organization deletion' },
    action: 'organization.purged',
    target: { type: 'organization', id: orgId, label: null },
    outcome: 'success',
    details: {
      projects: purged.projects,
      members: purged.members,
      accounts_deleted: accountsDeleted,
      audit_events: purged.auditEvents,
      chain_last_seq: chain.last_seq === null ? null : String(chain.last_seq),
      chain_last_hash: chain.last_hash,
    },
  });
  return { purged, memberIds };
}

/**
 * Delete an account that belongs to no organization any more. Its sessions, second factor, recovery codes and
 * access tokens go by cascade; rows elsewhere that name it as a past actor keep the fact without the person
 * (SET NULL). A row that still refers to the account without a cascade (a change request the person authored in
 * an organization they had left) keeps the account, disabled and emptied of personal data instead.
 */
async function deleteAccount(trx: Db, userId: string): Promise<void> {
  const account = await trx.selectFrom('users').select('email').where('id', '=', userId).executeTakeFirst();
  if (!account) return;
  // the sign-in throttle's counters name the address and the id only hashed (auth/throttle.ts); they go too
  await trx
    .deleteFrom('auth_failures')
    .where((eb) => eb.or([eb.and([eb('scope', '=', 'account'), eb('subject_hash', '=', subjectHash('account', account.email))]), eb.and([eb('scope', '=', 'mfa'), eb('subject_hash', '=', subjectHash('mfa', userId))])]))
    .execute();
  try {
    await sql`savepoint delete_account`.execute(trx);
    await trx.deleteFrom('users').where('id', '=', userId).execute();
    await sql`release savepoint delete_account`.execute(trx);
  } catch {
    await sql`rollback to savepoint delete_account`.execute(trx);
    await trx.deleteFrom('sessions').where('user_id', '=', userId).execute();
    await trx.deleteFrom('personal_access_tokens').where('user_id', '=', userId).execute();
    await trx.deleteFrom('user_mfa').where('user_id', '=', userId).execute();
    await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
    await trx
      .updateTable('users')
      .set({ email: `deleted-${userId}@invalid`, name: 'Deleted account', password_hash: null, disabled_at: new Date() })
      .where('id', '=', userId)
      .execute();
  }
}



const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function assertSafeName(name: string): void {
  if (!SAFE_NAME.test(name) || name.includes('..')) throw new Error(`unexpected name ${JSON.stringify(name)} in the data directory`);
}

/** Whether anything of these projects is left under the data directory (for tests and `docucommit check`-like tools). */
export function projectFilesLeft(dataDir: string, projects: { id: string; repoDir: string }[]): string[] {
  const left: string[] = [];
  for (const project of projects) {
    for (const path of [join(dataDir, 'repos', project.repoDir), join(dataDir, 'rendered', project.id), join(deletedProjectsDir(dataDir), project.repoDir), manifestPath(dataDir, project.id)]) {
      if (existsSync(path)) left.push(path);
    }
  }
  return left;
}

