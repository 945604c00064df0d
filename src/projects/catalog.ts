import type { Db } from '../db/connection.ts';
import { findProject, listAllProjects, listOrganizationProjects, type ProjectRecord } from './projects.ts';

/** How long a looked-up project is trusted from memory (other processes may rename or add projects). */
const TTL_MS = 10_000;

/** Projects by `org/project` slug, kept in memory so serving a page needs no database query. */
export class ProjectCatalog {
  private readonly bySlug = new Map<string, { project: ProjectRecord; loadedAt: number }>();

  constructor(private readonly db: Db) {}

  /** The project at `/{org}/{project}`, or null. */
  async find(orgSlug: string, projectSlug: string): Promise<ProjectRecord | null> {
    const key = `${orgSlug}/${projectSlug}`;
    const cached = this.bySlug.get(key);
    if (cached && Date.now() - cached.loadedAt < TTL_MS) return cached.project;
    const project = await findProject(this.db, orgSlug, projectSlug);
    if (project) this.bySlug.set(key, { project, loadedAt: Date.now() });
    else this.bySlug.delete(key);
    return project;
  }

  /** Forget every remembered project (created, renamed, deleted or restored here, or by a command run inside the server). */
  forgetAll(): void {
    this.bySlug.clear();
  }

  /** Every project (for the project list). */
  async all(): Promise<ProjectRecord[]> {
    const projects = await listAllProjects(this.db);
    for (const project of projects) {
      this.bySlug.set(`${project.orgSlug}/${project.slug}`, { project, loadedAt: Date.now() });
    }
    return projects;
  }

  /** The projects of these organizations (a member's search covers theirs only). */
  async inOrganizations(orgIds: readonly string[]): Promise<ProjectRecord[]> {
    const projects: ProjectRecord[] = [];
    for (const orgId of orgIds) projects.push(...(await listOrganizationProjects(this.db, orgId)));
    return projects;
  }
}
