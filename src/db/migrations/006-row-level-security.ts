import type { Kysely } from 'kysely';
import { runStatements } from './run-statements.ts';

/** Tables whose rows belong to one organization: row-level security shows only the current organization's rows. */
export const TENANT_TABLES = [
  'projects',
  'rendered_documents',
  'snapshots',
  'invitations',
  'access_requests',
  'access_request_approvals',
  'access_grants',
] as const;

/** The non-superuser role the application runs as (src/db/connection.ts switches to it after migrating). */
export const APP_ROLE = 'docucommit_app';

/**
 * Tenancy enforced by the database (DESIGN.md "db/"): the application runs as `docucommit_app`, a role that
 * is not a superuser, does not own the tables and has no BYPASSRLS, so the policies below apply to every query
 * it makes. The organization of a transaction comes from `app.org_id` (set by withOrg); with none set, tenant
 * tables show no rows and refuse inserts. Memberships are also visible to the user they belong to (`app.user_id`,
 * set by withUser), because signing in needs "which organizations am I in" before any organization is known.
 *
 * The audit log: organization chains follow `app.org_id`; the system chain (org_id NULL) is visible only when
 * `app.audit_chain` is 'system'. The role may SELECT and INSERT audit rows, never UPDATE or DELETE them (on top
 * of the append-only trigger of 002).
 *
 * Roles are cluster-wide, so creating it tolerates a concurrent creator; a non-superuser migrator is made a
 * member so it may SET ROLE to it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `DO $$ BEGIN
      CREATE ROLE ${APP_ROLE} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END $$`,
    `DO $$ BEGIN
      IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT ${APP_ROLE} TO %I', current_user);
      END IF;
    END $$`,
    `CREATE FUNCTION app_org_id() RETURNS uuid LANGUAGE sql STABLE AS
    $$ SELECT nullif(current_setting('app.org_id', true), '')::uuid $$`,
    `CREATE FUNCTION app_user_id() RETURNS uuid LANGUAGE sql STABLE AS
    $$ SELECT nullif(current_setting('app.user_id', true), '')::uuid $$`,
    // `audit verify --all` must find every chain, including those of deleted organizations; this returns only
    // the chain keys (never event rows) and runs with its owner's rights.
    `CREATE FUNCTION audit_chain_ids() RETURNS TABLE (org_id uuid) LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, public AS
    $$ SELECT DISTINCT org_id FROM public.audit_events ORDER BY org_id NULLS FIRST $$`,
    // An invitation link is the only key its holder has: this resolves it to the organization (and nothing
    // more), so the lookup itself can then run scoped to that organization.
    `CREATE FUNCTION invitation_org_id(p_token_hash text) RETURNS uuid LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, public AS
    $$ SELECT org_id FROM public.invitations WHERE token_hash = p_token_hash $$`,
    `GRANT USAGE ON SCHEMA public TO ${APP_ROLE}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON organizations, users, memberships, sessions, user_mfa, recovery_codes,
    auth_failures, personal_access_tokens, ${TENANT_TABLES.join(', ')} TO ${APP_ROLE}`,
    `GRANT SELECT, INSERT ON audit_events TO ${APP_ROLE}`,
    `GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${APP_ROLE}`,
    ...TENANT_TABLES.flatMap((table) => [
      `ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`,
      `CREATE POLICY tenant_isolation ON ${table} USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id())`,
    ]),
    `ALTER TABLE memberships ENABLE ROW LEVEL SECURITY`,
    `CREATE POLICY tenant_isolation ON memberships USING (org_id = app_org_id() OR user_id = app_user_id())
    WITH CHECK (org_id = app_org_id())`,
    `ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY`,
    `CREATE POLICY chain_isolation ON audit_events
    USING (org_id = app_org_id() OR (org_id IS NULL AND current_setting('app.audit_chain', true) = 'system'))
    WITH CHECK (org_id = app_org_id() OR (org_id IS NULL AND current_setting('app.audit_chain', true) = 'system'))`,
  ]);
}
