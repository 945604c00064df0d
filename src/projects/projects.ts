import type { Kysely } from 'kysely';
import { withOrg, type Db } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
import { assertSlug } from '../organizations/organizations.ts';

/** A project with its organization, as the rest of the app needs it. */
export interface ProjectRecord {
  id: string;
  orgId: string;
  orgSlug: string;
  orgName: string;
  slug: string;
  name: string;
  description: string | null;
  repoDir: string;
  publishedCommit: string | null;
  publishedTree: string | null;
}

function baseQuery(db: Kysely<Database>) {
  return db
    .selectFrom('projects')
    .innerJoin('organizations', 'organizations.id', 'projects.org_id')
    .select([
      'projects.id',
      'projects.org_id',
      'organizations.slug as org_slug',
      'organizations.name as org_name',
      'projects.slug',
      'projects.name',
      'projects.description',
      'projects.repo_dir',
      'projects.published_commit',
      'projects.published_tree',
    ]);
}

type Row = Awaited<ReturnType<ReturnType<typeof baseQuery>['executeTakeFirstOrThrow']>>;

const toRecord = (row: Row): ProjectRecord => ({
  id: row.id,
  orgId: row.org_id,
  orgSlug: row.org_slug,
  orgName: row.org_name,
  slug: row.slug,
  name: row.name,
  description: row.description,
  repoDir: row.repo_dir,
  publishedCommit: row.published_commit,
  publishedTree: row.published_tree,
});

/** Find a project by its organization and project slugs (none of an organization scheduled for deletion). */
export async function findProject(db: Db, orgSlug: string, projectSlug: string): Promise<ProjectRecord | null> {
  // an organization scheduled for deletion is closed: its projects are not found by address (organizations/deletion.ts)
  const org = await db.selectFrom('organizations').select('id').where('slug', '=', orgSlug).where('deletion_requested_at', 'is', null).executeTakeFirst();
  if (!org) return null;
  const row = await withOrg(db, org.id, (trx) =>
    baseQuery(trx).where('projects.org_id', '=', org.id).where('projects.slug', '=', projectSlug).executeTakeFirst(),
  );
  return row ? toRecord(row) : null;
}

/** Find a project by its organization's and its own id (a branch-move event names both). */
export async function findProjectById(db: Db, orgId: string, projectId: string): Promise<ProjectRecord | null> {
  const row = await withOrg(db, orgId, (trx) => baseQuery(trx).where('projects.org_id', '=', orgId).where('projects.id', '=', projectId).executeTakeFirst());
  return row ? toRecord(row) : null;
}

/**
 * Every project of every organization (the server loads their snapshots at start). Row-level security shows
 * one organization per transaction, so this asks each organization in turn.
 */
export async function listAllProjects(db: Db): Promise<ProjectRecord[]> {
  const orgs = await db.selectFrom('organizations').select('id').orderBy('slug').execute();
  const projects: ProjectRecord[] = [];
  for (const org of orgs) {
    const rows = await withOrg(db, org.id, (trx) =>
      baseQuery(trx).where('projects.org_id', '=', org.id).orderBy('projects.slug').execute(),
    );
    projects.push(...rows.map(toRecord));
  }
  return projects;
}

/** The projects of one organization, by slug. */
export async function listOrganizationProjects(db: Db, orgId: string): Promise<ProjectRecord[]> {
  const rows = await withOrg(db, orgId, (trx) => baseQuery(trx).where('projects.org_id', '=', orgId).orderBy('projects.slug').execute());
  return rows.map(toRecord);
}

/** Return the project, creating its row when missing. The repository directory is named after the project id. */
export async function ensureProject(
  db: Db,
  input: { orgId: string; slug: string; name?: string; description?: string },
): Promise<{ project: ProjectRecord; created: boolean }> {
  assertSlug(input.slug, 'Project slug');
  return withOrg(db, input.orgId, async (trx) => {
    const existing = await baseQuery(trx)
      .where('projects.org_id', '=', input.orgId)
      .where('projects.slug', '=', input.slug)
      .executeTakeFirst();
    if (existing) {
      if (input.name && input.name !== existing.name) {
        await trx.updateTable('projects').set({ name: input.name }).where('id', '=', existing.id).execute();
        existing.name = input.name;
      }
      return { project: toRecord(existing), created: false };
    }
    const id = crypto.randomUUID();
    await trx
      .insertInto('projects')
      .values({
        id,
        org_id: input.orgId,
        slug: input.slug,
        name: input.name ?? input.slug,
        description: input.description ?? null,
        repo_dir: `${id}.git`,
      })
      .execute();
    const row = await baseQuery(trx).where('projects.id', '=', id).executeTakeFirstOrThrow();
    return { project: toRecord(row), created: true };
  });
}

/** Record which commit and tree a project's published snapshot shows. */
export async function setPublished(
  db: Kysely<Database>,
  project: { id: string; orgId: string },
  commit: string | null,
  tree: string | null,
) {
  await withOrg(db, project.orgId, (trx) =>
    trx
      .updateTable('projects')
      .set({ published_commit: commit, published_tree: tree })
      .where('id', '=', project.id)
      .where('org_id', '=', project.orgId)
      .execute(),
  );
}
