import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { UserActor } from '../../access/actor.ts';
import { authorize } from '../../access/authorize.ts';
import { recordAuditEvent } from '../../audit/audit-log.ts';
import { withOrg } from '../../db/connection.ts';
import { ConflictError, InvalidInputError } from '../../errors.ts';
import { deletedProjectsDir, manifestPath, RETENTION_MS, type DeletedProjectManifest } from '../deleted-projects.ts';
import type { ProjectRecord } from '../projects.ts';
import { auditUser, type ProjectCommandDeps } from './deps.ts';

export interface DeleteProjectInput {
  project: ProjectRecord;
  /** What the person typed to confirm: must be the project's name. */
  confirmation: string;
}

/**
 * Delete a project: the confirmation must be its name, typed. Its row (and with it its access requests, grants
 * and rendered cache rows) goes, and its repository is moved aside under DATA/deleted-projects with a manifest
 * and the deletion date; `docucommit project restore` brings it back within 30 days, after which it is purged.
 */
export async function deleteProject(
  deps: ProjectCommandDeps,
  actor: UserActor,
  input: DeleteProjectInput,
  now: number = Date.now(),
): Promise<DeletedProjectManifest> {
  const { project, confirmation } = input;
  authorize(actor, 'manage', { kind: 'project', orgId: project.orgId }, 'Only admins and owners delete projects.');
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
        actor: auditUser(actor),
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
  await deps.catalog?.forgetAll();
  return manifest;
}
