import { recordAccountEvent } from '../../audit/account-events.ts';
import { recordAuditEvent } from '../../audit/audit-log.ts';
import { roleAtLeast } from '../../access/roles.ts';
import { withOrg, withUser, type Db } from '../../db/connection.ts';
import { inTransaction } from '../../db/in-transaction.ts';
import type { Role } from '../../db/schema.ts';
import { AppError } from '../../errors.ts';
import { findOrganization } from '../../organizations/organizations.ts';
import type { SecretBox } from '../secret-box.ts';
import type { Session, SessionStore } from '../sessions.ts';
import { readConnection, type SsoConnection } from './connection-settings.ts';
import { ProviderAnswerRefusedError, ProviderClients, ProviderUnavailableError } from './provider-client.ts';
import { amrOf, SsoReauthentication } from './reauthentication.ts';
import { SignInFlows } from './sign-in-flows.ts';

/** Why a single sign-on was refused; the audit event's reason. */
export type SsoRefusal =
  | 'not-configured'
  | 'unknown-state'
  | 'other-browser'
  | 'expired'
  | 'provider-error'
  | 'provider-unavailable'
  | 'token-refused'
  | 'no-email'
  | 'email-unverified'
  | 'domain-not-allowed'
  | 'account-disabled'
  | 'account-elsewhere';

/** What the person is told for each refusal: never which check of the ID token failed, never who exists. */
const MESSAGES: Record<SsoRefusal, string> = {
  'not-configured': 'Single sign-on is not set up for that organization.',
  'unknown-state': 'This sign-in link was already used or is not valid. Start again.',
  'other-browser': 'This sign-in was started in another browser. Start again here.',
  expired: 'This sign-in took too long. Start again.',
  'provider-error': 'The identity provider did not sign you in. Start again, or ask your administrator.',
  'provider-unavailable': 'The identity provider could not be reached. Try again in a moment.',
  'token-refused': 'The identity provider’s answer could not be verified. Ask your administrator to check the single sign-on settings.',
  'no-email': 'The identity provider did not say your email address. Ask your administrator.',
  'email-unverified': 'The identity provider has not verified your email address.',
  'domain-not-allowed': 'Your email address is not in a domain this organization allows. Ask your administrator.',
  'account-disabled': 'Single sign-on did not work for this account. Ask your administrator.',
  'account-elsewhere':
    'Your account also belongs to other organizations, so this organization’s single sign-on cannot sign it in. Sign in with your password.',
};

/** A single sign-on that did not sign anyone in (HTTP 401, or 503 when the provider is down). */
export class SsoSignInRefusedError extends AppError {
  constructor(readonly reason: SsoRefusal) {
    super(MESSAGES[reason], reason === 'provider-unavailable' ? 503 : reason === 'not-configured' ? 404 : 401, 'sso_refused');
  }
}

/** Claims used for signing in and mapping roles (ID token, and userinfo when the token lacks the email). */
type Claims = { sub: string; email?: unknown; email_verified?: unknown; name?: unknown; amr?: unknown } & Record<string, unknown>;

/** The highest role the connection's mapping gives for the claim's value(s), or null. */
export function roleFromClaim(connection: Pick<SsoConnection, 'roleClaim' | 'roleMapping'>, claims: Record<string, unknown>): Role | null {
  if (!connection.roleClaim) return null;
  const raw = claims[connection.roleClaim];
  const values = Array.isArray(raw) ? raw : [raw];
  let best: Role | null = null;
  for (const value of values) {
    if (typeof value !== 'string') continue;
    const role = Object.hasOwn(connection.roleMapping, value) ? connection.roleMapping[value] : undefined;
    if (role && role !== 'owner' && (best === null || roleAtLeast(role, best))) best = role;
  }
  return best;
}

export interface AuditContext {
  requestId: string;
  ip: string;
}

/**
 * Sign-in with an organization's OpenID Connect provider: the authorization-code flow with PKCE, state and nonce
 * (sign-in-flows.ts), the ID token verified by openid-client (provider-client.ts), then the account: found by the
 * provider's subject, else by email (only an account of this organization alone: another organization's
 * provider must not take over its accounts), else created with the connection's default role (just-in-time
 * membership). The role claim's mapping sets the role of non-owners at every sign-in. The session comes from the
 * session store like any other; `auth.sign_in` records method 'sso' and the provider's `amr` (MFA is the
 * provider's business here).
 */
export class SsoSignIn {
  private readonly flows: SignInFlows;
  private readonly clients: ProviderClients;
  /** Re-authentication of signed-in people through the same providers, flows and redirect URI. */
  readonly reauthentication: SsoReauthentication;

  constructor(
    private readonly db: Db,
    box: SecretBox,
    private readonly sessions: SessionStore,
    now: () => number = Date.now,
  ) {
    this.flows = new SignInFlows(db, box, now);
    this.clients = new ProviderClients(box, now);
    this.reauthentication = new SsoReauthentication(db, this.flows, this.clients, sessions, now);
  }

  /** Begin a sign-in: the URL of the organization's identity provider to send the browser to. */
  async begin(input: { orgSlug: string; next: string; browserKey: string; redirectUri: string }): Promise<URL> {
    const org = await findOrganization(this.db, input.orgSlug.trim().toLowerCase());
    // an organization scheduled for deletion answers as one that does not exist (organizations/deletion.ts)
    const open = org && org.deletion_requested_at === null ? org : null;
    const connection = open ? await readConnection(this.db, open.id) : null;
    if (!open || !connection?.enabled) throw new SsoSignInRefusedError('not-configured');
    let config;
    try {
      config = await this.clients.configurationFor(connection);
    } catch (error) {
      if (error instanceof ProviderUnavailableError) throw new SsoSignInRefusedError('provider-unavailable');
      throw error;
    }
    const flow = await this.flows.begin({ orgId: open.id, browserKey: input.browserKey, next: input.next });
    return this.clients.authorizationUrl(config, { ...flow, redirectUri: input.redirectUri, scope: 'openid email profile' });
  }

  /**
   * Complete a flow from the provider's redirect (`callbackUrl`: our redirect URI with the response's query). A
   * sign-in records `auth.sign_in` or `auth.sign_in_failed` (reason 'sso: …') and returns the new session; a
   * re-authentication (begun by `session`, the signed-in session presenting the answer) is completed by
   * reauthentication.ts, which throws SsoReauthenticationRefusedError.
   */
  async complete(input: {
    callbackUrl: URL;
    browserKey: string | undefined;
    session: Session | null;
    audit: AuditContext;
  }): Promise<{ kind: 'signed-in'; id: string; session: Session; next: string } | { kind: 'reauthenticated'; next: string }> {
    const params = input.callbackUrl.searchParams;
    const flow = await this.flows.take(params.get('state') ?? '', { browserKey: input.browserKey, sessionIdHash: input.session?.idHash });
    if (typeof flow === 'string') return this.refuse(null, flow, input.audit);
    if (flow.purpose === 'reauthentication') {
      const { next } = await this.reauthentication.complete({ flow, session: input.session, callbackUrl: input.callbackUrl, audit: input.audit });
      return { kind: 'reauthenticated', next };
    }
    // begun before its organization was scheduled for deletion: it no longer exists for sign-ins
    const org = await this.db.selectFrom('organizations').select('deletion_requested_at').where('id', '=', flow.orgId).executeTakeFirst();
    const connection = org && org.deletion_requested_at === null ? await readConnection(this.db, flow.orgId) : null;
    if (!connection?.enabled) return this.refuse(flow.orgId, 'not-configured', input.audit);
    if (params.has('error')) return this.refuse(flow.orgId, 'provider-error', input.audit, `provider said ${(params.get('error') ?? '').slice(0, 100)}`);
    let claims: Claims;
    try {
      const config = await this.clients.configurationFor(connection);
      claims = await this.clients.redeem(config, input.callbackUrl, { expectedState: params.get('state')!, expectedNonce: flow.nonce, codeVerifier: flow.codeVerifier });
    } catch (error) {
      if (error instanceof ProviderUnavailableError) return this.refuse(flow.orgId, 'provider-unavailable', input.audit, error.message);
      if (error instanceof ProviderAnswerRefusedError) return this.refuse(flow.orgId, 'token-refused', input.audit, error.message);
      throw error;
    }
    return this.signIn(connection, claims, flow.next, input.audit);
  }

  private async signIn(connection: SsoConnection, claims: Claims, next: string, audit: AuditContext) {
    const orgId = connection.orgId;
    const email = typeof claims.email === 'string' ? claims.email.trim().toLowerCase() : '';
    if (!email || email.length > 254 || !/^[^\s@]+@[^\s@]+$/.test(email)) return this.refuse(orgId, 'no-email', audit);
    // Providers that say nothing about verification (Entra ID) are trusted for their own domains; an explicit false is not.
    if (claims.email_verified === false) return this.refuse(orgId, 'email-unverified', audit, email);
    const domain = email.slice(email.lastIndexOf('@') + 1);
    if (!connection.allowedDomains.includes(domain)) return this.refuse(orgId, 'domain-not-allowed', audit, email);

    const linked = await withOrg(this.db, orgId, (trx) =>
      trx.selectFrom('sso_identities').select('user_id').where('org_id', '=', orgId).where('issuer', '=', connection.issuer).where('subject', '=', claims.sub).executeTakeFirst(),
    );
    const user = linked
      ? await this.db.selectFrom('users').select(['id', 'email', 'disabled_at']).where('id', '=', linked.user_id).executeTakeFirst()
      : await this.db.selectFrom('users').select(['id', 'email', 'disabled_at']).where('email', '=', email).executeTakeFirst();
    if (user?.disabled_at) return this.refuse(orgId, 'account-disabled', audit, email);
    if (user && !linked) {
      const elsewhere = await withUser(this.db, user.id, (trx) =>
        trx.selectFrom('memberships').select('org_id').where('user_id', '=', user.id).where('org_id', '!=', orgId).executeTakeFirst(),
      );
      if (elsewhere) return this.refuse(orgId, 'account-elsewhere', audit, email);
    }

    const claimRole = roleFromClaim(connection, claims);
    const name = typeof claims.name === 'string' && claims.name.trim() ? claims.name.trim().slice(0, 200) : email.split('@')[0]!;
    const systemActor = { type: 'system' as const, id: null, label: 'single sign-on' };
    const { userId, roleChanged } = await this.db.transaction().execute(async (trx) => {
      const account =
        user ??
        (await trx.insertInto('users').values({ email, name, password_hash: null }).returning(['id', 'email']).executeTakeFirstOrThrow());
      return withOrg(trx, orgId, async (scoped) => {
        const target = { type: 'user', id: account.id, label: account.email };
        const record = (action: string, details: Record<string, string>) =>
          recordAuditEvent(scoped, { orgId, actor: systemActor, action, target, outcome: 'success', requestId: audit.requestId, ip: audit.ip, details });
        if (!user) await record('auth.account_created', { via: 'sso' });
        const membership = await scoped.selectFrom('memberships').select('role').where('org_id', '=', orgId).where('user_id', '=', account.id).executeTakeFirst();
        let changed = false;
        if (!membership) {
          const role = claimRole ?? connection.defaultRole;
          await scoped.insertInto('memberships').values({ org_id: orgId, user_id: account.id, role }).execute();
          await record('member.added', { role, via: 'sso' });
        } else if (claimRole && membership.role !== 'owner' && membership.role !== claimRole) {
          await scoped.updateTable('memberships').set({ role: claimRole }).where('org_id', '=', orgId).where('user_id', '=', account.id).execute();
          await record('member.role_changed', { old_role: membership.role, new_role: claimRole, via: 'sso' });
          changed = true;
        }
        const now = new Date();
        await scoped
          .insertInto('sso_identities')
          .values({ org_id: orgId, issuer: connection.issuer, subject: claims.sub, user_id: account.id, last_sign_in_at: now })
          .onConflict((oc) => oc.columns(['org_id', 'issuer', 'subject']).doUpdateSet({ last_sign_in_at: now }))
          .execute();
        return { userId: account.id, roleChanged: changed };
      });
    });
    if (roleChanged) await this.sessions.invalidateUser(userId);

    const { amr, mfa } = amrOf(claims);
    // the session and its `auth.sign_in` commit together
    const { id, session } = await inTransaction(this.db, async (trx) => {
      const created = await this.sessions.in(trx).create(userId, { reauthenticated: true });
      await recordAccountEvent(trx, userId, {
        actor: { type: 'user', id: userId, label: created.session.actor.email },
        action: 'auth.sign_in',
        target: { type: 'user', id: userId, label: created.session.actor.email },
        outcome: 'success',
        requestId: audit.requestId,
        ip: audit.ip,
        details: { method: 'sso', amr, mfa },
      });
      return created;
    });
    return { kind: 'signed-in' as const, id, session, next };
  }

  /** Record the refusal (in the organization's chain when known) and throw it. */
  private async refuse(orgId: string | null, reason: SsoRefusal, audit: AuditContext, detail?: string): Promise<never> {
    await recordAuditEvent(this.db, {
      orgId,
      actor: { type: 'anonymous', id: null, label: null },
      action: 'auth.sign_in_failed',
      outcome: reason === 'unknown-state' || reason === 'other-browser' || reason === 'domain-not-allowed' || reason === 'account-elsewhere' ? 'denied' : 'failure',
      reason: `sso: ${reason}`,
      requestId: audit.requestId,
      ip: audit.ip,
      details: { method: 'sso', ...(detail ? { detail: detail.slice(0, 300) } : {}) },
    });
    throw new SsoSignInRefusedError(reason);
  }
}
