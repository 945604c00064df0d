import type { Kysely } from 'kysely';
import { runStatements } from './run-statements.ts';

/** Invitations, access requests with their approvals, and the time-limited access grants they produce. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    // The longest an access grant may last in this organization (DESIGN.md: at most 24 hours).
    `ALTER TABLE organizations ADD COLUMN access_grant_max_minutes integer NOT NULL DEFAULT 1440
    CHECK (access_grant_max_minutes BETWEEN 1 AND 1440)`,
    `CREATE TABLE invitations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    email text NOT NULL CHECK (email = lower(email)),
    role text NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'member', 'viewer')),
    token_hash text NOT NULL UNIQUE,
    invited_by uuid REFERENCES users(id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    accepted_at timestamptz,
    accepted_by uuid REFERENCES users(id) ON DELETE SET NULL,
    revoked_at timestamptz
    )`,
    `CREATE INDEX invitations_org ON invitations (org_id, created_at)`,
    `CREATE TABLE access_requests (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL,
    project_id uuid NOT NULL,
    path text NOT NULL,
    requester_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    reason text NOT NULL,
    ticket text,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied', 'expired')),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    decided_at timestamptz,
    decided_by uuid REFERENCES users(id) ON DELETE SET NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, id) ON DELETE CASCADE
    )`,
    `CREATE INDEX access_requests_pending ON access_requests (org_id, status, created_at)`,
    `CREATE INDEX access_requests_requester ON access_requests (requester_id, created_at)`,
    `CREATE TABLE access_request_approvals (
    org_id uuid NOT NULL,
    request_id uuid NOT NULL,
    approver_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (request_id, approver_id),
    FOREIGN KEY (org_id, request_id) REFERENCES access_requests (org_id, id) ON DELETE CASCADE
    )`,
    `CREATE TABLE access_grants (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL,
    project_id uuid NOT NULL,
    path text NOT NULL,
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    request_id uuid NOT NULL UNIQUE,
    granted_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    FOREIGN KEY (org_id, request_id) REFERENCES access_requests (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, id) ON DELETE CASCADE
    )`,
    `CREATE INDEX access_grants_lookup ON access_grants (user_id, project_id, path, expires_at)`,
  ]);
}
