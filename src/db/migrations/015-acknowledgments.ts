import type { Kysely } from 'kysely';
import { APP_ROLE } from './006-row-level-security.ts';
import { runStatements } from './run-statements.ts';

/** Tenant tables of acknowledgments (issue #14), with the row-level security of migration 006. */
export const ACKNOWLEDGMENT_TABLES = ['ack_documents', 'ack_versions', 'acknowledgments'] as const;

/**
 * Acknowledgments (evidence/acknowledgments.ts):
 * - `ack_versions`: each version of a document with `acknowledge:` that reached the published branch, written by
 *   the branch-move listener, with whether it requires re-acknowledgment (false: an editorial change);
 * - `ack_documents`: per document, its current version and the latest version that required acknowledgment
 *   (what a person must have acknowledged, or something newer), its audience and classification;
 * - `acknowledgments`: who acknowledged which exact version (blob and commit), when. Never updated.
 * Tasks are not stored: a person's open task is a document whose audience and classification include them and
 * whose required version they have not acknowledged (so role changes and new members need no bookkeeping).
 * Organizations get the number of days a version may wait for acknowledgment (default 14).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `ALTER TABLE organizations ADD COLUMN ack_due_days integer NOT NULL DEFAULT 14 CHECK (ack_due_days BETWEEN 1 AND 365)`,
    `CREATE TABLE ack_versions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id uuid NOT NULL,
    project_id uuid NOT NULL,
    path text NOT NULL,
    commit_id text NOT NULL,
    blob_id text NOT NULL,
    requires_ack boolean NOT NULL,
    published_at timestamptz NOT NULL,
    UNIQUE (project_id, path, commit_id),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, id) ON DELETE CASCADE
    )`,
    `CREATE TABLE ack_documents (
    org_id uuid NOT NULL,
    project_id uuid NOT NULL,
    path text NOT NULL,
    active boolean NOT NULL,
    title text NOT NULL,
    classification text NOT NULL CHECK (classification IN ('public', 'internal', 'confidential', 'restricted')),
    audience text[] NOT NULL,
    current_version bigint NOT NULL REFERENCES ack_versions (id) ON DELETE CASCADE,
    required_version bigint NOT NULL REFERENCES ack_versions (id) ON DELETE CASCADE,
    moved_at timestamptz NOT NULL,
    move_id text NOT NULL,
    PRIMARY KEY (project_id, path),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, id) ON DELETE CASCADE
    )`,
    `CREATE INDEX ack_documents_org ON ack_documents (org_id) WHERE active`,
    `CREATE TABLE acknowledgments (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL,
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    project_id uuid NOT NULL,
    path text NOT NULL,
    version_id bigint NOT NULL REFERENCES ack_versions (id) ON DELETE CASCADE,
    blob_id text NOT NULL,
    commit_id text NOT NULL,
    acknowledged_at timestamptz NOT NULL,
    UNIQUE (user_id, version_id),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, id) ON DELETE CASCADE
    )`,
    `CREATE INDEX acknowledgments_by_document ON acknowledgments (project_id, path, user_id, version_id)`,
    `CREATE INDEX acknowledgments_by_user ON acknowledgments (user_id, org_id)`,
    `GRANT SELECT, INSERT, UPDATE ON ack_versions, ack_documents TO ${APP_ROLE}`,
    // an acknowledgment is evidence: the application adds them and never changes or removes one
    `GRANT SELECT, INSERT ON acknowledgments TO ${APP_ROLE}`,
    ...ACKNOWLEDGMENT_TABLES.flatMap((table) => [
      `ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`,
      `ALTER TABLE ${table} FORCE ROW LEVEL SECURITY`,
      `CREATE POLICY tenant_isolation ON ${table} USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id())`,
    ]),
  ]);
}
