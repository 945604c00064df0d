import type { Kysely } from 'kysely';
import { APP_ROLE } from './006-row-level-security.ts';
import { runStatements } from './run-statements.ts';

/**
 * Review cadence (issue #14, evidence/reviews.ts): `document_reviews` holds every review of a document — a published
 * change of it (written by the branch-move listener `review-changes`, kind `change`) and a "Mark reviewed — no
 * changes" (kind `marked`, written with its audit event and the empty commit's move, in one transaction). Never
 * updated or deleted by the application: it is evidence. Branch moves gain the kind `review` (that empty commit).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `CREATE TABLE document_reviews (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id uuid NOT NULL,
    project_id uuid NOT NULL,
    path text NOT NULL,
    commit_id text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('change', 'marked')),
    reviewer_id uuid,
    reviewer_label text NOT NULL,
    reviewed_at timestamptz NOT NULL,
    UNIQUE (project_id, path, commit_id),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, id) ON DELETE CASCADE
    )`,
    `CREATE INDEX document_reviews_latest ON document_reviews (org_id, project_id, path, reviewed_at)`,
    `GRANT SELECT, INSERT ON document_reviews TO ${APP_ROLE}`,
    `ALTER TABLE document_reviews ENABLE ROW LEVEL SECURITY`,
    `ALTER TABLE document_reviews FORCE ROW LEVEL SECURITY`,
    `CREATE POLICY tenant_isolation ON document_reviews USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id())`,
    `ALTER TABLE branch_moves DROP CONSTRAINT branch_moves_kind_check`,
    `ALTER TABLE branch_moves ADD CONSTRAINT branch_moves_kind_check
      CHECK (kind IN ('save', 'create', 'move', 'delete', 'restore', 'push', 'merge', 'import', 'external', 'review'))`,
  ]);
}
