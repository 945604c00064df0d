import type { Db } from '../db/connection.ts';
import type { ProcessBus } from '../cluster/process-bus.ts';
import { findProject, listAllProjects, listOrganizationProjects, type ProjectRecord } from './projects.ts';
import type { Publisher } from './publisher.ts';

/** How long a looked-up project is trusted from memory (other processes may rename or add projects). */
const TTL_MS = 10_000;
/**
 * How long after that it still answers while one refresh runs: an expiry never makes the requests of that moment
 * wait for the database (a project found here is renamed, moved or deleted through this catalog, which forgets it,
 * or by another process, which tells this one).
 */
const MAX_STALE_MS = 60_000;

/** Projects by `org/project` slug, kept in memory so serving a page needs no database query. */
export class ProjectCatalog {
  private readonly bySlug = new Map<string, { project: ProjectRecord; loadedAt: number }>();
  /** Look-ups in flight by slug: the requests of one moment share one (each is a query and a transaction). */
  readonly #finding = new Map<string, Promise<ProjectRecord | null>>();
  /** Bumped by every forget: a look-up begun before it is not remembered. */
  #forgets = 0;

  constructor(
    private readonly db: Db,
    /**
     * With several processes: tells the others when projects change, and publishes here a project this process
     * has no snapshot of yet (created or restored by another process).
     */
    private readonly shared: { bus: ProcessBus; publisher: Pick<Publisher, 'snapshotOf' | 'follow'> } | null = null,
  ) {}

  /** The project at `/{org}/{project}`, or null. */
  async find(orgSlug: string, projectSlug: string): Promise<ProjectRecord | null> {
    const key = `${orgSlug}/${projectSlug}`;
    const cached = this.bySlug.get(key);
    const age = cached ? Date.now() - cached.loadedAt : Infinity;
    if (cached && age < TTL_MS) return cached.project;
    let finding = this.#finding.get(key);
    if (!finding) {
      const current = this.#lookUp(key, orgSlug, projectSlug);
      finding = current;
      this.#finding.set(key, current);
      const done = () => {
        if (this.#finding.get(key) === current) this.#finding.delete(key);
      };
      current.then(done, done);
    }
    // stale while one refresh runs (its failure is the next caller's to see)
    if (cached && age < MAX_STALE_MS) return cached.project;
    return finding;
  }

  async #lookUp(key: string, orgSlug: string, projectSlug: string): Promise<ProjectRecord | null> {
    const forgets = this.#forgets;
    const project = await findProject(this.db, orgSlug, projectSlug);
    if (this.#forgets === forgets) {
      if (project) this.bySlug.set(key, { project, loadedAt: Date.now() });
      else this.bySlug.delete(key);
    }
    if (project && this.shared && !this.shared.publisher.snapshotOf(project.id)) await this.shared.publisher.follow(project).catch(() => null);
    return project;
  }

  /**
   * Forget every remembered project (created, renamed, deleted or restored here, or by a command run inside the
   * server), in this process now and in the others of the database.
   */
  async forgetAll(): Promise<void> {
    this.dropAll();
    if (this.shared?.bus.shared) await this.shared.bus.send(this.db, { t: 'projects' });
  }

  /** This process only: forget every remembered project (another process told us). */
  dropAll(): void {
    this.#forgets += 1;
    this.#finding.clear();
    this.bySlug.clear();
  }

  /** Every project of an open organization (for the project list). */
  async all(): Promise<ProjectRecord[]> {
    // an organization scheduled for deletion is closed: its projects are neither listed nor remembered by address
    const closed = new Set(
      (await this.db.selectFrom('organizations').select('id').where('deletion_requested_at', 'is not', null).execute()).map((o) => o.id),
    );
    const projects = (await listAllProjects(this.db)).filter((p) => !closed.has(p.orgId));
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
