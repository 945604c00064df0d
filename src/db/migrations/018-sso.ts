import type { Kysely } from 'kysely';
import { APP_ROLE } from './006-row-level-security.ts';
import { runStatements } from './run-statements.ts';

/**
 * Single sign-on with OpenID Connect (src/auth/sso/).
 *
 * - `sso_connections`: one identity provider per organization (issuer, client id, the client secret sealed
 *   like TOTP secrets, allowed email domains, the role claim and its mapping, the default role of a first
 *   sign-in) and whether password sign-in is refused for its members (all but one break-glass owner).
 * - `sso_identities`: which account an identity provider's subject (`iss` + `sub`) signs in as, per organization.
 * Both are tenant tables with row-level security.
 * - `sso_sign_in_flows`: one row per sign-in begun in a browser (state, nonce, PKCE verifier sealed, the
 *   browser binding's hash), deleted when the callback uses it. Like sessions, a flow belongs to a browser
 *   before anyone is known, and the callback finds it by its state alone: no row-level security.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    `CREATE TABLE sso_connections (
    org_id uuid PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    enabled boolean NOT NULL DEFAULT false,
    issuer text NOT NULL,
    client_id text NOT NULL,
    client_secret_sealed text NOT NULL,
    allowed_domains text[] NOT NULL DEFAULT '{}',
    role_claim text,
    role_mapping jsonb NOT NULL DEFAULT '{}'::jsonb,
    default_role text NOT NULL DEFAULT 'member' CHECK (default_role IN ('viewer', 'member', 'manager', 'admin')),
    require_sso boolean NOT NULL DEFAULT false,
    break_glass_user_id uuid REFERENCES users(id) ON DELETE SET NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (NOT require_sso OR (enabled AND break_glass_user_id IS NOT NULL))
    )`,
    `CREATE TABLE sso_identities (
    org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    issuer text NOT NULL,
    subject text NOT NULL,
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_sign_in_at timestamptz,
    PRIMARY KEY (org_id, issuer, subject)
    )`,
    `CREATE INDEX sso_identities_user ON sso_identities (org_id, user_id)`,
    `CREATE TABLE sso_sign_in_flows (
    state_hash text PRIMARY KEY,
    browser_hash text NOT NULL,
    org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    nonce text NOT NULL,
    code_verifier_sealed text NOT NULL,
    next_path text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
    )`,
    `CREATE INDEX sso_sign_in_flows_expiry ON sso_sign_in_flows (expires_at)`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON sso_connections, sso_identities, sso_sign_in_flows TO ${APP_ROLE}`,
    ...['sso_connections', 'sso_identities'].flatMap((table) => [
      `ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`,
      `CREATE POLICY tenant_isolation ON ${table} USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id())`,
    ]),
  ]);
}
