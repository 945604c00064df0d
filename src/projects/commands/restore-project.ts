import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { recordAuditEvent } from '../../audit/audit-log.ts';
import { withOrg, type Db } from '../../db/connection.ts';
import { ConflictError, NotFoundError } from '../../errors.ts';
import type { ProjectCatalog } from '../catalog.ts';
import { deletedProjectsDir, listDeletedProjects, manifestPath, RETENTION_MS, type DeletedProjectManifest } from '../deleted-projects.ts';

export interface RestoreProjectDeps {
  db: Db;
  dataDir: string;
  reposDir: string;
  catalog?: Pick<ProjectCatalog, 'forgetAll'>;
}

export interface RestoreProjectInput {
  orgSlug: string;
  slug: string;
}

/**
 * Bring a deleted project back (CLI, by an operator: no role check, the server's files are theirs): its row with the same id, name and address, and its repository back under
 * repos/. Refused when the address is taken meanwhile (409) or the retention has passed (404). The snapshot is
 * published by the server on its next start (every project is reconciled then). The row and `project.restored` commit together,
 * with the repository moved back inside the transaction (and moved out again if it rolls back).
 */
export async function restoreProject(
  deps: RestoreProjectDeps,
  operator: { label: string },
  input: RestoreProjectInput,
  now: number = Date.now(),
): Promise<DeletedProjectManifest> {
  const { orgSlug, slug } = input;
  const manifest = listDeletedProjects(deps.dataDir).find((m) => m.orgSlug === orgSlug && m.slug === slug);
  if (!manifest || now - Date.parse(manifest.deletedAt) > RETENTION_MS) {
    throw new NotFoundError(`No deleted project ${orgSlug}/${slug} is kept (deleted projects are kept for 30 days).`);
  }
  const from = join(deletedProjectsDir(deps.dataDir), manifest.repoDir);
  const to = join(deps.reposDir, manifest.repoDir);
  if (!existsSync(from)) throw new NotFoundError(`The repository of ${orgSlug}/${slug} is missing from ${deletedProjectsDir(deps.dataDir)}.`);
  if (existsSync(to)) throw new ConflictError(`${to} exists already.`);
  let moved = false;
  try {
    await withOrg(deps.db, manifest.orgId, async (trx) => {
      const taken = await trx.selectFrom('projects').select('id').where('org_id', '=', manifest.orgId).where('slug', '=', manifest.slug).executeTakeFirst();
      if (taken) throw new ConflictError(`${orgSlug}/${slug} is in use by another project now. Rename or delete that one first.`);
      await trx
        .insertInto('projects')
        .values({
          id: manifest.id,
          org_id: manifest.orgId,
          slug: manifest.slug,
          name: manifest.name,
          description: manifest.description,
          repo_dir: manifest.repoDir,
        })
        .execute();
      await recordAuditEvent(trx, {
        orgId: manifest.orgId,
        actor: { type: 'system', id: null, label: operator.label },
        action: 'project.restored',
        target: { type: 'project', id: manifest.id, label: manifest.slug },
        outcome: 'success',
        details: { deleted_at: manifest.deletedAt },
      });
      renameSync(from, to);
      moved = true;
    });
  } catch (error) {
    if (moved) renameSync(to, from);
    throw error;
  }
  rmSync(manifestPath(deps.dataDir, manifest.id), { force: true });
  await deps.catalog?.forgetAll();
  return manifest;
}

