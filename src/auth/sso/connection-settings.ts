import { z } from 'zod';
import type { UserActor } from '../../access/actor.ts';
import { authorize } from '../../access/authorize.ts';
import { isRole, ROLES } from '../../access/roles.ts';
import { recordAuditEvent } from '../../audit/audit-log.ts';
import { withOrg, type Db } from '../../db/connection.ts';
import type { Role } from '../../db/schema.ts';
import { InvalidInputError, NotFoundError } from '../../errors.ts';
import type { SecretBox } from '../secret-box.ts';

/** AES-GCM additional data of a sealed client secret: such a value opens only as an SSO client secret. */
export const CLIENT_SECRET_PURPOSE = 'sso-client-secret';

/** Roles the identity provider may hand out: owners are made in DocuCommit only (the break-glass owner stays one). */
export const PROVIDER_ROLES: readonly Role[] = ROLES.filter((role) => role !== 'owner');

/** An organization's identity provider, as stored (the client secret stays sealed). */
export interface SsoConnection {
  orgId: string;
  enabled: boolean;
  issuer: string;
  clientId: string;
  clientSecretSealed: string;
  allowedDomains: string[];
  roleClaim: string | null;
  roleMapping: Record<string, Role>;
  defaultRole: Role;
  requireSso: boolean;
  breakGlassUserId: string | null;
}

/** What the settings form sends, validated. `clientSecret` null: keep the stored one. */
export interface SsoSettingsInput {
  enabled: boolean;
  issuer: string;
  clientId: string;
  clientSecret: string | null;
  allowedDomains: string[];
  roleClaim: string | null;
  roleMapping: Record<string, Role>;
  defaultRole: Role;
  requireSso: boolean;
  breakGlassUserId: string | null;
}

export type SsoSettingsField =
  | 'issuer'
  | 'client_id'
  | 'client_secret'
  | 'allowed_domains'
  | 'role_claim'
  | 'role_mapping'
  | 'default_role'
  | 'require_sso'
  | 'break_glass_user_id';

/** The form was read but some values are not acceptable: one message per field. */
export class SsoSettingsValidationError extends InvalidInputError {
  constructor(readonly fieldErrors: Partial<Record<SsoSettingsField, string>>) {
    super('Some single sign-on settings are not valid. Correct the fields marked below.');
  }
}

const DOMAIN = /^(?=.{4,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;
const CLAIM_NAME = /^[A-Za-z0-9_:./-]{1,100}$/;
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * An issuer URL: https, or http on a loopback host (a provider on the same machine, the tests' provider).
 * No query or fragment (OpenID Connect Discovery 1.0, section 4).
 */
export function issuerProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'Enter the issuer as a full URL, like https://login.example.com/.';
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
    return 'The issuer must be an https:// URL.';
  }
  if (url.search || url.hash || url.username || url.password) return 'The issuer URL has no query, fragment or credentials.';
  return null;
}

/** Whether requests to this issuer may go over plain http (loopback only: issuerProblem refuses the rest). */
export const isLoopbackIssuer = (issuer: string): boolean => new URL(issuer).protocol === 'http:';

const text = (source: Record<string, unknown>, key: string, max: number) =>
  typeof source[key] === 'string' ? (source[key]).slice(0, max) : '';

/** The submitted form as text (never the client secret), for showing it again next to errors. */
export function ssoFormValues(body: unknown): Record<Exclude<SsoSettingsField, 'client_secret'> | 'enabled', string> {
  const source = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  return {
    enabled: text(source, 'enabled', 10),
    issuer: text(source, 'issuer', 2000),
    client_id: text(source, 'client_id', 300),
    allowed_domains: text(source, 'allowed_domains', 4000),
    role_claim: text(source, 'role_claim', 200),
    role_mapping: text(source, 'role_mapping', 6000),
    default_role: text(source, 'default_role', 20),
    require_sso: text(source, 'require_sso', 10),
    break_glass_user_id: text(source, 'break_glass_user_id', 100),
  };
}

/** A stored connection as the form shows it. */
export function connectionAsFormValues(connection: SsoConnection | null): ReturnType<typeof ssoFormValues> {
  return {
    enabled: connection?.enabled ? 'on' : '',
    issuer: connection?.issuer ?? '',
    client_id: connection?.clientId ?? '',
    allowed_domains: connection?.allowedDomains.join('\n') ?? '',
    role_claim: connection?.roleClaim ?? '',
    role_mapping: Object.entries(connection?.roleMapping ?? {})
      .map(([value, role]) => `${value} = ${role}`)
      .join('\n'),
    default_role: connection?.defaultRole ?? 'member',
    require_sso: connection?.requireSso ? 'on' : '',
    break_glass_user_id: connection?.breakGlassUserId ?? '',
  };
}

const UUID = z.uuid();

/**
 * Validate the settings form. `hasStoredSecret`: an empty client secret keeps the stored one; without one, it is
 * required. Throws SsoSettingsValidationError with one message per wrong field.
 */
export function parseSsoSettingsForm(body: unknown, hasStoredSecret: boolean): SsoSettingsInput {
  const source = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const values = ssoFormValues(body);
  const errors: Partial<Record<SsoSettingsField, string>> = {};
  const issuer = values.issuer.trim();
  const issuerError = issuerProblem(issuer);
  if (issuerError) errors.issuer = issuerError;
  const clientId = values.client_id.trim();
  if (clientId === '' || clientId.length > 255) errors.client_id = 'Enter the client id the identity provider gave (at most 255 characters).';
  const secretText = text(source, 'client_secret', 1100);
  if (secretText.length > 1024) errors.client_secret = 'The client secret is at most 1024 characters.';
  else if (secretText === '' && !hasStoredSecret) errors.client_secret = 'Enter the client secret the identity provider gave.';

  const domains = [...new Set(values.allowed_domains.toLowerCase().split(/[\s,]+/).filter(Boolean).map((d) => d.replace(/^@/, '')))];
  const badDomain = domains.find((domain) => !DOMAIN.test(domain));
  if (badDomain !== undefined) errors.allowed_domains = `“${badDomain.slice(0, 100)}” is not a domain name. Enter domains like example.com.`;
  else if (domains.length === 0) errors.allowed_domains = 'Enter at least one email domain whose people may sign in.';
  else if (domains.length > 50) errors.allowed_domains = 'Enter at most 50 domains.';

  const roleClaim = values.role_claim.trim();
  if (roleClaim !== '' && !CLAIM_NAME.test(roleClaim)) errors.role_claim = 'A claim name is letters, digits and _ : . / - (at most 100).';
  const roleMapping: Record<string, Role> = {};
  for (const line of values.role_mapping.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const at = line.lastIndexOf('=');
    const value = at > 0 ? line.slice(0, at).trim() : '';
    const role = at > 0 ? line.slice(at + 1).trim().toLowerCase() : '';
    if (value === '' || value.length > 200 || !isRole(role) || !PROVIDER_ROLES.includes(role)) {
      errors.role_mapping = `“${line.slice(0, 100)}” is not “claim value = role” with a role from viewer to admin.`;
      break;
    }
    roleMapping[value] = role;
  }
  if (Object.keys(roleMapping).length > 0 && roleClaim === '') errors.role_claim = 'Name the claim the mapping reads.';
  if (Object.keys(roleMapping).length > 100) errors.role_mapping = 'At most 100 mapping lines.';

  const defaultRole = values.default_role;
  if (!isRole(defaultRole) || !PROVIDER_ROLES.includes(defaultRole)) errors.default_role = 'Choose a role from viewer to admin.';
  const enabled = values.enabled === 'on';
  const requireSso = values.require_sso === 'on';
  const breakGlass = values.break_glass_user_id.trim();
  if (breakGlass !== '' && !UUID.safeParse(breakGlass).success) errors.break_glass_user_id = 'Choose one of the owners.';
  if (requireSso && !enabled) errors.require_sso = 'Turn single sign-on on before requiring it.';
  if (requireSso && breakGlass === '') errors.break_glass_user_id = 'Choose the owner who may still sign in with a password.';

  if (Object.keys(errors).length > 0) throw new SsoSettingsValidationError(errors);
  return {
    enabled,
    issuer,
    clientId,
    clientSecret: secretText === '' ? null : secretText,
    allowedDomains: domains,
    roleClaim: roleClaim === '' ? null : roleClaim,
    roleMapping,
    defaultRole: defaultRole as Role,
    requireSso,
    breakGlassUserId: breakGlass === '' ? null : breakGlass,
  };
}

type ConnectionRow = {
  org_id: string;
  enabled: boolean;
  issuer: string;
  client_id: string;
  client_secret_sealed: string;
  allowed_domains: string[];
  role_claim: string | null;
  role_mapping: Record<string, Role> | string;
  default_role: Role;
  require_sso: boolean;
  break_glass_user_id: string | null;
};

function fromRow(row: ConnectionRow): SsoConnection {
  const mapping = typeof row.role_mapping === 'string' ? (JSON.parse(row.role_mapping) as Record<string, Role>) : row.role_mapping;
  return {
    orgId: row.org_id,
    enabled: row.enabled,
    issuer: row.issuer,
    clientId: row.client_id,
    clientSecretSealed: row.client_secret_sealed,
    allowedDomains: row.allowed_domains,
    roleClaim: row.role_claim,
    roleMapping: mapping,
    defaultRole: row.default_role,
    requireSso: row.require_sso,
    breakGlassUserId: row.break_glass_user_id,
  };
}

/** An organization's identity provider, or null when none was set up. */
export async function readConnection(db: Db, orgId: string): Promise<SsoConnection | null> {
  const row = await withOrg(db, orgId, (trx) => trx.selectFrom('sso_connections').selectAll().where('org_id', '=', orgId).executeTakeFirst());
  return row ? fromRow(row) : null;
}

/** The organization's owners, for choosing the break-glass owner. */
export async function ownersOf(db: Db, orgId: string): Promise<{ userId: string; email: string; name: string }[]> {
  const rows = await withOrg(db, orgId, (trx) =>
    trx
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select(['users.id', 'users.email', 'users.name'])
      .where('memberships.org_id', '=', orgId)
      .where('memberships.role', '=', 'owner')
      .orderBy('users.email')
      .execute(),
  );
  return rows.map((r) => ({ userId: r.id, email: r.email, name: r.name }));
}

/**
 * Save an organization's identity provider. In one transaction, with the permission decided on the role the
 * database holds now: the connection (the client secret sealed; an empty one keeps the stored secret), and the
 * audit event `sso.settings_changed` naming what changed (never the secret, only that it changed).
 * The break-glass owner must be an owner of the organization now. Returns the names of changed fields.
 */
export async function saveConnection(
  db: Db,
  box: SecretBox,
  actor: UserActor,
  orgId: string,
  input: SsoSettingsInput,
  audit: { requestId: string; ip: string },
): Promise<string[]> {
  return withOrg(db, orgId, async (trx) => {
    const membership = await trx
      .selectFrom('memberships')
      .select('role')
      .where('org_id', '=', orgId)
      .where('user_id', '=', actor.userId)
      .executeTakeFirst();
    authorize({ ...actor, memberships: new Map(membership ? [[orgId, membership.role]] : []) }, 'manage', { kind: 'sso-connection', orgId });
    const org = await trx.selectFrom('organizations').select('slug').where('id', '=', orgId).forUpdate().executeTakeFirst();
    if (!org) throw new NotFoundError();
    if (input.breakGlassUserId) {
      const owner = await trx
        .selectFrom('memberships')
        .select('role')
        .where('org_id', '=', orgId)
        .where('user_id', '=', input.breakGlassUserId)
        .executeTakeFirst();
      if (owner?.role !== 'owner') throw new SsoSettingsValidationError({ break_glass_user_id: 'Choose one of the owners.' });
    }
    const previousRow = await trx.selectFrom('sso_connections').selectAll().where('org_id', '=', orgId).executeTakeFirst();
    const previous = previousRow ? fromRow(previousRow) : null;
    if (!previous && input.clientSecret === null) throw new SsoSettingsValidationError({ client_secret: 'Enter the client secret the identity provider gave.' });
    const sealed = input.clientSecret !== null ? box.seal(Buffer.from(input.clientSecret, 'utf8'), CLIENT_SECRET_PURPOSE) : previous!.clientSecretSealed;

    const compared: [string, unknown, unknown][] = [
      ['enabled', previous?.enabled, input.enabled],
      ['issuer', previous?.issuer, input.issuer],
      ['client_id', previous?.clientId, input.clientId],
      ['allowed_domains', previous?.allowedDomains.join(' '), input.allowedDomains.join(' ')],
      ['role_claim', previous?.roleClaim, input.roleClaim],
      ['role_mapping', JSON.stringify(previous?.roleMapping ?? null), JSON.stringify(input.roleMapping)],
      ['default_role', previous?.defaultRole, input.defaultRole],
      ['require_sso', previous?.requireSso, input.requireSso],
      ['break_glass_owner', previous?.breakGlassUserId, input.breakGlassUserId],
    ];
    const changed = compared.filter(([, from, to]) => from !== to).map(([name]) => name);
    if (input.clientSecret !== null) changed.push('client_secret');
    if (changed.length === 0) return changed;

    const values = {
      enabled: input.enabled,
      issuer: input.issuer,
      client_id: input.clientId,
      client_secret_sealed: sealed,
      allowed_domains: input.allowedDomains,
      role_claim: input.roleClaim,
      role_mapping: JSON.stringify(input.roleMapping),
      default_role: input.defaultRole,
      require_sso: input.requireSso,
      break_glass_user_id: input.breakGlassUserId,
      updated_at: new Date(),
    };
    await trx
      .insertInto('sso_connections')
      .values({ org_id: orgId, ...values })
      .onConflict((oc) => oc.column('org_id').doUpdateSet(values))
      .execute();
    const details: Record<string, string | boolean | null> = { changed: changed.join(' ') };
    if (changed.includes('enabled')) details.enabled = input.enabled;
    if (changed.includes('issuer')) details.issuer = input.issuer;
    if (changed.includes('client_id')) details.client_id = input.clientId;
    if (changed.includes('allowed_domains')) details.allowed_domains = input.allowedDomains.join(' ');
    if (changed.includes('default_role')) details.default_role = input.defaultRole;
    if (changed.includes('require_sso')) details.require_sso = input.requireSso;
    if (changed.includes('break_glass_owner')) details.break_glass_owner = input.breakGlassUserId;
    await recordAuditEvent(trx, {
      orgId,
      actor: { type: 'user', id: actor.userId, label: actor.email },
      action: 'sso.settings_changed',
      target: { type: 'organization', id: orgId, label: org.slug },
      outcome: 'success',
      requestId: audit.requestId,
      ip: audit.ip,
      details,
    });
    return changed;
  });
}
