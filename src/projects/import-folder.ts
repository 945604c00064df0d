import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { Db } from '../db/connection.ts';
import { InvalidInputError } from '../errors.ts';
import { ensureOrganization } from '../organizations/organizations.ts';
import { ensureProject, type ProjectRecord } from './projects.ts';
import { PUBLISHED_BRANCH, type Publisher } from './publisher.ts';
import type { RepositoryRegistry } from './repositories.ts';

/** Largest file an import accepts; policies are text, not media libraries. */
export const MAX_IMPORT_FILE_BYTES = 5 * 1024 * 1024;

export interface ImportOptions {
  folder: string;
  orgSlug: string;
  projectSlug: string;
  projectName?: string;
  author: { name: string; email: string };
  message?: string;
}

export interface ImportResult {
  project: ProjectRecord;
  commit: string | null;
  /** False when the folder matched the branch already: no commit was made. */
  changed: boolean;
  files: number;
  skipped: string[];
}

/**
 * Commit a folder's files as the whole content of a project's main branch (one commit; files missing from the
 * folder are deleted), creating the organization and project when needed, then publish the new snapshot.
 * Symlinks and dot-directories are skipped, never followed.
 */
export async function importFolder(
  deps: { db: Db; repositories: RepositoryRegistry; publisher: Publisher },
  options: ImportOptions,
): Promise<ImportResult> {
  const { files, skipped } = await readFolder(options.folder);
  const org = await ensureOrganization(deps.db, options.orgSlug);
  const { project } = await ensureProject(deps.db, {
    orgId: org.id,
    slug: options.projectSlug,
    ...(options.projectName ? { name: options.projectName } : {}),
  });
  const repository = await deps.repositories.get(project);
  const head = await repository.resolveCommit(`refs/heads/${PUBLISHED_BRANCH}`);
  const result = await repository.commitFiles({
    branch: PUBLISHED_BRANCH,
    expectedOld: head,
    mode: 'replace-all',
    changes: files,
    author: options.author,
    message: options.message ?? `Import ${files.length} files`,
  });
  await deps.publisher.publish(project);
  return { project, commit: result.commit, changed: result.changed, files: files.length, skipped };
}

async function readFolder(folder: string): Promise<{ files: { path: string; content: Buffer }[]; skipped: string[] }> {
  const root = await lstat(folder).catch(() => null);
  if (!root?.isDirectory()) throw new InvalidInputError(`${folder} is not a folder`);
  const files: { path: string; content: Buffer }[] = [];
  const skipped: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      const full = join(dir, entry.name);
      const path = relative(folder, full).split(sep).join('/');
      if (entry.name.startsWith('.')) {
        skipped.push(`${path} (hidden)`);
      } else if (entry.isSymbolicLink()) {
        skipped.push(`${path} (symlink, not followed)`);
      } else if (entry.isDirectory()) {
        await walk(full);
      } else if (entry.isFile()) {
        const info = await lstat(full);
        if (info.size > MAX_IMPORT_FILE_BYTES) skipped.push(`${path} (larger than ${MAX_IMPORT_FILE_BYTES} bytes)`);
        else files.push({ path, content: await readFile(full) });
      }
    }
  };
  await walk(folder);
  return { files, skipped };
}
