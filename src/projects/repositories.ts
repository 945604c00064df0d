import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Repository } from '../git/repository.ts';
import { ensureRepositorySetup } from '../git/repository-setup.ts';
import type { ProjectRecord } from './projects.ts';

/**
 * One open Repository (and so one cat-file reader) per project, created on first use. The first open of an
 * existing repository in a process checks its settings and hooks and repairs them (repositories created by an
 * older version get the current ones before anything reads or pushes).
 */
export class RepositoryRegistry {
  private readonly open = new Map<string, Promise<Repository>>();

  constructor(readonly reposDir: string) {}

  /** Path of a project's bare repository. */
  pathOf(project: Pick<ProjectRecord, 'repoDir'>): string {
    return join(this.reposDir, project.repoDir);
  }

  /** The project's repository, initialising the bare repository when it does not exist yet. */
  get(project: Pick<ProjectRecord, 'id' | 'repoDir'>): Promise<Repository> {
    const known = this.open.get(project.id);
    if (known) return known;
    const path = this.pathOf(project);
    const opening = (async () => {
      if (!existsSync(path)) return Repository.create(path);
      await ensureRepositorySetup(path);
      return new Repository(path);
    })();
    this.open.set(project.id, opening);
    // a failed open is not remembered: the next call tries again
    opening.catch(() => {
      if (this.open.get(project.id) === opening) this.open.delete(project.id);
    });
    return opening;
  }

  /** Stop one repository's background git processes and forget it (before its directory is moved). */
  async close(projectId: string): Promise<void> {
    const opening = this.open.get(projectId);
    this.open.delete(projectId);
    const repository = await opening?.catch(() => null);
    await repository?.close();
  }

  /** Stop every repository's background git processes. */
  async closeAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    const repositories = await Promise.all(all.map((r) => r.catch(() => null)));
    await Promise.all(repositories.map(async (r) => r?.close()));
  }
}
