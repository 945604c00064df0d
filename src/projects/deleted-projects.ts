import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { recordAuditEvent } from '../audit/audit-log.ts';
import { withOrg, type Db } from '../db/connection.ts';

/** How long a deleted project's repository is kept before it is purged. */
export const RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

/** What is kept beside a deleted project's repository: enough to give it its row back. */
export interface DeletedProjectManifest {
  id: string;
  orgId: string;
  orgSlug: string;
  slug: string;
  name: string;
  description: string | null;
  repoDir: string;
  deletedAt: string;
  deletedBy: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const REPO_DIR = /^[0-9a-f-]{36}\.git$/;

/** DATA/deleted-projects: each deleted repository, `<id>.git`, with its manifest `<id>.json`. */
export const deletedProjectsDir = (dataDir: string): string => join(dataDir, 'deleted-projects');
export const manifestPath = (dataDir: string, projectId: string): string => join(deletedProjectsDir(dataDir), `${projectId}.json`);

/** Every deleted project still kept, newest deletion first. Manifests that do not parse are skipped. */
export function listDeletedProjects(dataDir: string): DeletedProjectManifest[] {
  const dir = deletedProjectsDir(dataDir);
  if (!existsSync(dir)) return [];
  const found: DeletedProjectManifest[] = [];
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.json') || !UUID.test(name.slice(0, -5))) continue;
    try {
      const manifest = JSON.parse(readFileSync(join(dir, name), 'utf8')) as DeletedProjectManifest;
      if (manifest.id === name.slice(0, -5) && REPO_DIR.test(manifest.repoDir)) found.push(manifest);
    } catch {
      // a manifest cut short: left for an operator to look at
    }
  }
  return found.sort((a, b) => b.deletedAt.localeCompare(a.deletedAt));
}

/**
 * Remove the repositories (and rendered HTML) of projects deleted more than 30 days ago, each purge audited.
 * Runs when the server starts and once a day while it runs. Returns what was purged.
 */
export async function purgeDeletedProjects(db: Db, dataDir: string, now: number = Date.now()): Promise<DeletedProjectManifest[]> {
  const purged: DeletedProjectManifest[] = [];
  for (const manifest of listDeletedProjects(dataDir)) {
    if (now - Date.parse(manifest.deletedAt) <= RETENTION_MS) continue;
    await withOrg(db, manifest.orgId, (trx) =>
      recordAuditEvent(trx, {
        orgId: manifest.orgId,
        actor: { type: 'system', id: null, label: 'retention' },
        action: 'project.purged',
        target: { type: 'project', id: manifest.id, label: manifest.slug },
        outcome: 'success',
        details: { deleted_at: manifest.deletedAt },
      }),
    );
    rmSync(join(deletedProjectsDir(dataDir), manifest.repoDir), { recursive: true, force: true });
    rmSync(join(dataDir, 'rendered', manifest.id), { recursive: true, force: true });
    rmSync(manifestPath(dataDir, manifest.id), { force: true });
    purged.push(manifest);
  }
  return purged;
}
