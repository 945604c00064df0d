import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { UserActor } from '../access/actor.ts';
import { can } from '../access/policy.ts';
import { recordAuditEvent } from '../audit/audit-log.ts';
import { withOrg, type Db } from '../db/connection.ts';
import { ConflictError, ForbiddenError, InvalidInputError } from '../errors.ts';
import { assertSlug } from '../organizations/organizations.ts';
import { deletedProjectsDir, manifestPath, RETENTION_MS, type DeletedProjectManifest } from './deleted-projects.ts';
import { ensureProject, type ProjectRecord } from './projects.ts';
import { PUBLISHED_BRANCH } from '../content/published-branch.ts';
import type { Publisher } from './publisher.ts';
import type { RepositoryRegistry } from './repositories.ts';
import { starterFiles, type Starter } from './starters.ts';

/** What creating, changing and deleting projects needs. */
export interface ProjectAdminDeps {
  db: Db;
  repositories: RepositoryRegistry;
  publisher: Publisher;
  /** The data directory: deleted repositories are kept under it (deleted-projects.ts). */
  dataDir: string;
}

const NAME_MAX = 100;
const DESCRIPTION_MAX = 500;

function cleanName(name: string): string {
  const value = name.trim().replace(/\s+/g, ' ');
  if (value.length < 1 || value.length > NAME_MAX) throw new InvalidInputError(`Give the project a name of 1 to ${NAME_MAX} characters.`);
  return value;
}

function cleanDescription(description: string): string | null {
  const value = description.trim();
  if (value.length > DESCRIPTION_MAX) throw new InvalidInputError(`Keep the description under ${DESCRIPTION_MAX} characters.`);
  return value === '' ? null : value;
}

const auditActor = (actor: UserActor) => ({ type: 'user' as const, id: actor.userId, label: actor.email });

/**
 * Create a project in the browser: empty (a home page) or from the handbook starter (a home page and a
 * policies section). Admins and owners only. The first commit is authored by the creator.
 */
export async function createProject(
  deps: ProjectAdminDeps,
  actor: UserActor,
  orgId: string,
  input: { slug: string; name: string; description: string; starter: Starter },
): Promise<ProjectRecord> {
  if (!can(actor, 'create', { kind: 'project', orgId })) throw new ForbiddenError('Only admins and owners create projects.');
  const slug = input.slug.trim().toLowerCase();
  assertSlug(slug, 'The address');
  const name = cleanName(input.name);
  const description = cleanDescription(input.description);
  // Without a name: ensureProject renames an existing project to the name it is given, and this one must not.
  const { project: made, created } = await ensureProject(deps.db, { orgId, slug });
  if (!created) throw new ConflictError(`The address "${slug}" is already used by another project. Choose another one.`);
  await withOrg(deps.db, orgId, (trx) => trx.updateTable('projects').set({ name, description }).where('id', '=', made.id).where('org_id', '=', orgId).execute());
  const project: ProjectRecord = { ...made, name, description };
  const repository = await deps.repositories.get(project);
  const files = starterFiles(input.starter, name);
  await repository.commitFiles({
    branch: PUBLISHED_BRANCH,
    expectedOld: null,
    mode: 'replace-all',
    changes: files,
    author: { name: actor.name, email: actor.email },
    message: input.starter === 'handbook' ? 'Start the project from the handbook starter' : 'Start the project with a home page',
  });
  await withOrg(deps.db, orgId, (trx) =>
    recordAuditEvent(trx, {
      orgId,
      actor: auditActor(actor),
      action: 'project.created',
      target: { type: 'project', id: project.id, label: slug },
      outcome: 'success',
      details: { starter: input.starter, name },
    }),
  );
  await deps.publisher.publish(project);
  return project;
}

/** Rename a project or change its description (its address stays). Admins and owners only; each change audited. */
export async function updateProject(
  deps: ProjectAdminDeps,
  actor: UserActor,
  project: ProjectRecord,
  input: { name: string; description: string },
): Promise<{ renamed: boolean; described: boolean }> {
  if (!can(actor, 'manage', { kind: 'project', orgId: project.orgId })) throw new ForbiddenError('Only admins and owners change projects.');
  const name = cleanName(input.name);
  const description = cleanDescription(input.description);
  return withOrg(deps.db, project.orgId, async (trx) => {
    const row = await trx
      .selectFrom('projects')
      .select(['name', 'description'])
      .where('id', '=', project.id)
      .where('org_id', '=', project.orgId)
      .forUpdate()
      .executeTakeFirst();
    if (!row) throw new ConflictError('This project was deleted meanwhile.');
    const renamed = row.name !== name;
    const described = (row.description ?? null) !== description;
    if (!renamed && !described) return { renamed, described };
    await trx.updateTable('projects').set({ name, description }).where('id', '=', project.id).where('org_id', '=', project.orgId).execute();
    const target = { type: 'project', id: project.id, label: project.slug };
    if (renamed) {
      await recordAuditEvent(trx, {
        orgId: project.orgId,
        actor: auditActor(actor),
        action: 'project.renamed',
        target,
        outcome: 'success',
        details: { from: row.name, to: name },
      });
    }
    if (described) {
      await recordAuditEvent(trx, {
        orgId: project.orgId,
        actor: auditActor(actor),
        action: 'project.description_changed',
        target,
        outcome: 'success',
      });
    }
    return { renamed, described };
  });
}

/**
 * Delete a project: the confirmation must be its name, typed. Its row (and with it its access requests, grants
 * and rendered cache rows) goes, and its repository is moved aside under DATA/deleted-projects with a manifest
 * and the deletion date; `docucommit project restore` brings it back within 30 days, after which it is purged.
 */
export async function deleteProject(
  deps: ProjectAdminDeps,
  actor: UserActor,
  project: ProjectRecord,
  confirmation: string,
  now: number = Date.now(),
): Promise<DeletedProjectManifest> {
  if (!can(actor, 'manage', { kind: 'project', orgId: project.orgId })) throw new ForbiddenError('Only admins and owners delete projects.');
  if (confirmation.trim() !== project.name) throw new InvalidInputError(`Type the project's name, ${project.name}, to confirm.`);
  const dir = deletedProjectsDir(deps.dataDir);
  mkdirSync(dir, { recursive: true });
  const manifest: DeletedProjectManifest = {
    id: project.id,
    orgId: project.orgId,
    orgSlug: project.orgSlug,
    slug: project.slug,
    name: project.name,
    description: project.description,
    repoDir: project.repoDir,
    deletedAt: new Date(now).toISOString(),
    deletedBy: actor.email,
  };
  await deps.publisher.forget(project.id);
  await deps.repositories.close(project.id);
  const from = deps.repositories.pathOf(project);
  const to = join(dir, project.repoDir);
  let moved = false;
  try {
    await withOrg(deps.db, project.orgId, async (trx) => {
      const gone = await trx.deleteFrom('projects').where('id', '=', project.id).where('org_id', '=', project.orgId).executeTakeFirst();
      if (gone.numDeletedRows === 0n) throw new ConflictError('This project was deleted meanwhile.');
      await recordAuditEvent(trx, {
        orgId: project.orgId,
        actor: auditActor(actor),
        action: 'project.deleted',
        target: { type: 'project', id: project.id, label: project.slug },
        outcome: 'success',
        details: { name: project.name, kept_until: new Date(now + RETENTION_MS).toISOString() },
      });
      writeFileSync(manifestPath(deps.dataDir, project.id), JSON.stringify(manifest, null, 2) + '\n', { mode: 0o600 });
      renameSync(from, to);
      moved = true;
    });
  } catch (error) {
    // The row is still there (the transaction rolled back): put the repository back where it was.
    if (moved) renameSync(to, from);
    throw error;
  }
  return manifest;
}
