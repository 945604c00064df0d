import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Repository } from '../git/repository.ts';
import type { ProjectRecord } from './projects.ts';

/** One open Repository (and so one cat-file reader) per project, created on first use. */
export class RepositoryRegistry {
  private readonly open = new Map<string, Repository>();

  constructor(readonly reposDir: string) {}

  /** Path of a project's bare repository. */
  pathOf(project: Pick<ProjectRecord, 'repoDir'>): string {
    return join(this.reposDir, project.repoDir);
  }

  /** The project's repository, initialising the bare repository when it does not exist yet. */
  async get(project: Pick<ProjectRecord, 'id' | 'repoDir'>): Promise<Repository> {
    const known = this.open.get(project.id);
    if (known) return known;
    const path = this.pathOf(project);
    const repository = existsSync(path) ? new Repository(path) : await Repository.create(path);
    this.open.set(project.id, repository);
    return repository;
  }

  /** Stop every repository's background git processes. */
  async closeAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map((r) => r.close()));
  }
}
