import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/** Column types of every table. Tenant tables carry `org_id`. */
export interface Database {
  organizations: OrganizationsTable;
  users: UsersTable;
  memberships: MembershipsTable;
  sessions: SessionsTable;
  projects: ProjectsTable;
  rendered_documents: RenderedDocumentsTable;
  snapshots: SnapshotsTable;
}

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface OrganizationsTable {
  id: Generated<string>;
  slug: string;
  name: string;
  created_at: Timestamp;
}

export interface UsersTable {
  id: Generated<string>;
  email: string;
  name: string;
  password_hash: string | null;
  disabled_at: Date | null;
  created_at: Timestamp;
}

export type Role = 'owner' | 'admin' | 'manager' | 'member' | 'viewer';

export interface MembershipsTable {
  org_id: string;
  user_id: string;
  role: Role;
  created_at: Timestamp;
}

export interface SessionsTable {
  /** SHA-256 of the session id: a stolen database does not yield usable cookies. */
  id_hash: string;
  user_id: string;
  created_at: Timestamp;
  last_seen_at: Timestamp;
  expires_at: Date;
}

export interface ProjectsTable {
  id: Generated<string>;
  org_id: string;
  slug: string;
  name: string;
  description: string | null;
  /** Directory name of the bare repository under the data directory's repos/. */
  repo_dir: string;
  published_commit: string | null;
  published_tree: string | null;
  created_at: Timestamp;
}

/** Rendered Markdown, content-addressed: one row per (project, path, blob, renderer version). */
export interface RenderedDocumentsTable {
  org_id: string;
  project_id: string;
  path: string;
  blob_id: string;
  renderer_version: string;
  /** RenderedDocument minus html and text. */
  meta: ColumnType<unknown, string, string>;
  html: string;
  text: string;
  created_at: Timestamp;
}

/** The published view of a project at one tree: the documents (path → blob) it contains. */
export interface SnapshotsTable {
  org_id: string;
  project_id: string;
  tree_id: string;
  commit_id: string;
  renderer_version: string;
  /** JSON array of [path, blobId]. */
  documents: ColumnType<unknown, string, string>;
  created_at: Timestamp;
}

export type Organization = Selectable<OrganizationsTable>;
export type User = Selectable<UsersTable>;
export type Project = Selectable<ProjectsTable>;
export type NewProject = Insertable<ProjectsTable>;
