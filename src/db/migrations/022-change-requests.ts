import type { Kysely } from 'kysely';
import { APP_ROLE } from './006-row-level-security.ts';
import { runStatements } from './run-statements.ts';

/**
 * Change requests (issue #13): a draft branch proposed for the published branch, its reviews, and the number
 * each project hands out (`projects.change_requests_opened`, incremented atomically when one is opened).
 * Reviews are pinned to the head commit they were given on; dismissing one keeps it, marked, for the timeline.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `ALTER TABLE projects ADD COLUMN change_requests_opened integer NOT NULL DEFAULT 0`,
    `CREATE TABLE change_requests (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
      project_id uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      number integer NOT NULL CHECK (number > 0),
      title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
      description text NOT NULL DEFAULT '' CHECK (length(description) <= 20000),
      author_id uuid NOT NULL REFERENCES users(id),
      branch text NOT NULL,
      head_commit text NOT NULL,
      state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'merged', 'closed')),
      merge_commit text,
      merged_by uuid REFERENCES users(id),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      closed_at timestamptz,
      UNIQUE (project_id, number)
    )`,
    // one open change request per draft branch
    `CREATE UNIQUE INDEX change_requests_open_branch ON change_requests (project_id, branch) WHERE state = 'open'`,
    `CREATE TABLE change_request_reviews (
      id bigserial PRIMARY KEY,
      org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
      change_request_id uuid NOT NULL REFERENCES change_requests(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users(id),
      verdict text NOT NULL CHECK (verdict IN ('approve', 'request-changes', 'comment')),
      commit text NOT NULL,
      body text NOT NULL DEFAULT '' CHECK (length(body) <= 20000),
      dismissed_at timestamptz,
      dismissed_by uuid REFERENCES users(id),
      dismiss_reason text,
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE INDEX change_request_reviews_request ON change_request_reviews (change_request_id, id)`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON change_requests, change_request_reviews TO ${APP_ROLE}`,
    `GRANT USAGE ON SEQUENCE change_request_reviews_id_seq TO ${APP_ROLE}`,
    ...['change_requests', 'change_request_reviews'].flatMap((table) => [
      `ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`,
      `CREATE POLICY tenant_isolation ON ${table} USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id())`,
    ]),
  ]);
}
