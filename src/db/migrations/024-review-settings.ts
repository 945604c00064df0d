import type { Kysely } from 'kysely';
import { APP_ROLE } from './006-row-level-security.ts';
import { runStatements } from './run-statements.ts';

/**
 * Review before publishing (issue #13):
 * - `organization_review_settings`: per organization and classification, how many approvals a change needs and
 *   the lowest role that counts (no row: the default of approval-rules.ts). The floors (confidential 1 by a
 *   manager, restricted 2 by admins: the two-person rule) are checked here as well as by the application.
 * - a summary of each change request's documents as of its head and main (`summary_head`, `summary_main`): the
 *   paths and classifications it touches (`change_request_documents`), how many, and the requirement of the
 *   approval rules with the roles and emails whose approval counts — so the list filters what a reader may see,
 *   and what waits for their review, in one query instead of reading every request from git.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `CREATE TABLE organization_review_settings (
      org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
      classification text NOT NULL CHECK (classification IN ('public', 'internal', 'confidential', 'restricted')),
      approvals integer NOT NULL CHECK (approvals BETWEEN 0 AND 5),
      minimum_role text NOT NULL CHECK (minimum_role IN ('member', 'manager', 'admin', 'owner')),
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (org_id, classification),
      CHECK (classification <> 'confidential' OR (approvals >= 1 AND minimum_role IN ('manager', 'admin', 'owner'))),
      CHECK (classification <> 'restricted' OR (approvals >= 2 AND minimum_role IN ('admin', 'owner')))
    )`,
    `ALTER TABLE change_requests ADD COLUMN summary_head text`,
    `ALTER TABLE change_requests ADD COLUMN summary_main text`,
    `ALTER TABLE change_requests ADD COLUMN document_count integer`,
    `ALTER TABLE change_requests ADD COLUMN requirement text`,
    `ALTER TABLE change_requests ADD COLUMN approver_roles text[] NOT NULL DEFAULT '{}'`,
    `ALTER TABLE change_requests ADD COLUMN approver_emails text[] NOT NULL DEFAULT '{}'`,
    `CREATE INDEX change_requests_list ON change_requests (project_id, state, number)`,
    `CREATE TABLE change_request_documents (
      org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
      change_request_id uuid NOT NULL REFERENCES change_requests(id) ON DELETE CASCADE,
      path text NOT NULL,
      classification text NOT NULL CHECK (classification IN ('public', 'internal', 'confidential', 'restricted')),
      PRIMARY KEY (change_request_id, path, classification)
    )`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON organization_review_settings, change_request_documents TO ${APP_ROLE}`,
    ...['organization_review_settings', 'change_request_documents'].flatMap((table) => [
      `ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`,
      `CREATE POLICY tenant_isolation ON ${table} USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id())`,
    ]),
  ]);
}
