import { recordAccountEvent } from '../../audit/account-events.ts';
import { withOrg, type Db } from '../../db/connection.ts';
import { inTransaction } from '../../db/in-transaction.ts';
import { AppError } from '../../errors.ts';
import { reauthUrl } from '../reauth.ts';
import type { Session, SessionStore } from '../sessions.ts';
import { readConnection } from './connection-settings.ts';
import { ProviderAnswerRefusedError, ProviderClients, ProviderUnavailableError } from './provider-client.ts';
import { reauthenticationProviders } from './reauthentication-options.ts';
import type { AuditContext } from './sign-in.ts';
import type { ReauthenticationFlow, ReauthenticationFlowRefusal, SignInFlows } from './sign-in-flows.ts';

/**
 * How far the provider's `auth_time` may lie before the flow began (or after now): the two clocks' difference.
 * The same tolerance openid-client allows for the ID token's own times.
 */
export const AUTH_TIME_SKEW_MS = 30 * 1000;

/** Why a re-authentication with the identity provider was refused; the audit event's reason (`sso: <why>`). */
export type SsoReauthenticationRefusal =
  | 'not-linked'
  | 'other-session'
  | 'expired'
  | 'not-configured'
  | 'provider-error'
  | 'provider-unavailable'
  | 'token-refused'
  | 'wrong-identity'
  | 'stale-authentication';

/** What the person is told: never which check of the ID token failed. */
const MESSAGES: Record<SsoReauthenticationRefusal, string> = {
  'not-linked': 'That identity provider cannot confirm it’s you. Choose another way below.',
  'other-session': 'This confirmation was started in another session. Start again here.',
  expired: 'This confirmation took too long. Start again.',
  'not-configured': 'Single sign-on is no longer set up for that organization.',
  'provider-error': 'The identity provider did not confirm it’s you. Start again, or ask your administrator.',
  'provider-unavailable': 'The identity provider could not be reached. Try again in a moment.',
  'token-refused': 'The identity provider’s answer could not be verified. Ask your administrator to check the single sign-on settings.',
  'wrong-identity': 'You signed in at the identity provider as someone else. Sign in there as yourself and start again.',
  'stale-authentication': 'The identity provider did not ask you to sign in again. Start again, or ask your administrator.',
};

/** A re-authentication through the identity provider that did not confirm anyone (HTTP 401, 503, or 404). */
export class SsoReauthenticationRefusedError extends AppError {
  constructor(
    readonly reason: SsoReauthenticationRefusal,
    /** Where "Start again" leads: the re-authentication page, returning to the page the person came from. */
    readonly retry: string,
  ) {
    super(MESSAGES[reason], reason === 'provider-unavailable' ? 503 : reason === 'not-linked' || reason === 'not-configured' ? 404 : 401, 'sso_reauthentication_refused');
  }
}

/** The provider's authentication methods as recorded (space-separated, capped), and whether one is a second factor. */
export function amrOf(claims: Record<string, unknown>): { amr: string | null; mfa: boolean } {
  const amr = Array.isArray(claims.amr) ? claims.amr.filter((v): v is string => typeof v === 'string').join(' ').slice(0, 100) : null;
  return { amr, mfa: amr !== null && /\b(mfa|otp|hwk|swk|fido|sms|face|fpt)\b/.test(amr) };
}

/**
 * Re-authentication for people who sign in through their organization's identity provider (and may have no
 * password): an OpenID Connect round trip with `prompt=login` and `max_age=0`, bound to the signed-in session
 * that began it (sign-in-flows.ts). On return: the flow (one use, this session, ten minutes), the ID token as at
 * sign-in (signature, issuer, audience, expiry, nonce: openid-client), its subject must be the identity of this
 * provider linked to the session's user, and its `auth_time` must be no older than the flow (less the clock skew):
 * a provider that ignored `max_age` and answered from an old sign-in confirms nothing. Then the session is marked
 * re-authenticated as the password form does. Successes (`auth.reauthenticated`) and failures
 * (`auth.reauthentication_failed`) are recorded with `method: sso` and the provider's `amr`.
 */
export class SsoReauthentication {
  constructor(
    private readonly db: Db,
    private readonly flows: SignInFlows,
    private readonly clients: ProviderClients,
    private readonly sessions: SessionStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** Begin: the provider's authorization URL for the session's user and the organization `orgSlug`. */
  async begin(input: { session: Session; orgSlug: string; next: string; redirectUri: string }): Promise<URL> {
    const userId = input.session.actor.userId;
    const provider = (await reauthenticationProviders(this.db, userId)).find((p) => p.orgSlug === input.orgSlug.trim().toLowerCase());
    if (!provider) throw new SsoReauthenticationRefusedError('not-linked', reauthUrl(input.next));
    let config;
    try {
      config = await this.clients.configurationFor(provider.connection);
    } catch (error) {
      if (error instanceof ProviderUnavailableError) throw new SsoReauthenticationRefusedError('provider-unavailable', reauthUrl(input.next));
      throw error;
    }
    const flow = await this.flows.beginReauthentication({ orgId: provider.orgId, userId, sessionIdHash: input.session.idHash, next: input.next });
    return this.clients.authorizationUrl(config, { ...flow, redirectUri: input.redirectUri, scope: 'openid email profile', reauthenticate: true });
  }

  /**
   * Complete from the provider's redirect (`callbackUrl`), for a flow taken by the callback: the session presenting
   * it (null when signed out). Returns where to go back to; throws SsoReauthenticationRefusedError.
   */
  async complete(input: {
    flow: ReauthenticationFlow | ReauthenticationFlowRefusal;
    session: Session | null;
    callbackUrl: URL;
    audit: AuditContext;
  }): Promise<{ next: string }> {
    const { flow, audit } = input;
    const session = input.session;
    // Who presented the answer: the session's user (who may not be the flow's), or someone signed out.
    const presenter = session ? { type: 'user' as const, id: session.actor.userId, label: session.actor.email } : { type: 'anonymous' as const, id: null, label: null };
    const retry = reauthUrl(flow.next);
    if ('refusal' in flow) return this.refuse(flow.userId, presenter, flow.refusal, retry, audit);
    // The flow's session binding already holds; the user is checked again so no other account is ever marked.
    if (!session || session.actor.userId !== flow.userId) return this.refuse(flow.userId, presenter, 'other-session', retry, audit);
    const org = await this.db.selectFrom('organizations').select('deletion_requested_at').where('id', '=', flow.orgId).executeTakeFirst();
    const connection = org && org.deletion_requested_at === null ? await readConnection(this.db, flow.orgId) : null;
    if (!connection?.enabled) return this.refuse(flow.userId, presenter, 'not-configured', retry, audit);
    const params = input.callbackUrl.searchParams;
    if (params.has('error')) return this.refuse(flow.userId, presenter, 'provider-error', retry, audit, { detail: `provider said ${(params.get('error') ?? '').slice(0, 100)}` });

    let claims: Record<string, unknown> & { sub: string };
    try {
      const config = await this.clients.configurationFor(connection);
      claims = await this.clients.redeem(config, input.callbackUrl, { expectedState: params.get('state')!, expectedNonce: flow.nonce, codeVerifier: flow.codeVerifier });
    } catch (error) {
      if (error instanceof ProviderUnavailableError) return this.refuse(flow.userId, presenter, 'provider-unavailable', retry, audit, { detail: error.message });
      if (error instanceof ProviderAnswerRefusedError) return this.refuse(flow.userId, presenter, 'token-refused', retry, audit, { detail: error.message });
      throw error;
    }
    const { amr, mfa } = amrOf(claims);

    // The subject must be this provider's identity of this very user (looked up under the connection's issuer,
    // which openid-client held the token's `iss` to).
    const linked = await withOrg(this.db, flow.orgId, (trx) =>
      trx
        .selectFrom('sso_identities')
        .select('user_id')
        .where('org_id', '=', flow.orgId)
        .where('issuer', '=', connection.issuer)
        .where('subject', '=', claims.sub)
        .executeTakeFirst(),
    );
    if (linked?.user_id !== flow.userId) {
      const detail = linked ? 'the subject is linked to another account' : 'the subject is linked to no account';
      return this.refuse(flow.userId, presenter, 'wrong-identity', retry, audit, { detail, amr });
    }

    // The provider must have authenticated the person during this round trip (prompt=login, max_age=0).
    const authTime = typeof claims.auth_time === 'number' && Number.isFinite(claims.auth_time) ? claims.auth_time * 1000 : null;
    const now = this.now();
    if (authTime === null || authTime < flow.startedAt - AUTH_TIME_SKEW_MS || authTime > now + AUTH_TIME_SKEW_MS) {
      const detail = authTime === null ? 'no auth_time' : `auth_time ${Math.round((flow.startedAt - authTime) / 1000)} s before the flow began`;
      return this.refuse(flow.userId, presenter, 'stale-authentication', retry, audit, { detail, amr });
    }

    await inTransaction(this.db, async (trx) => {
      await this.sessions.in(trx).markReauthenticated(session);
      await recordAccountEvent(trx, flow.userId, {
        actor: { type: 'user', id: flow.userId, label: session.actor.email },
        action: 'auth.reauthenticated',
        target: { type: 'user', id: flow.userId, label: session.actor.email },
        outcome: 'success',
        requestId: audit.requestId,
        ip: audit.ip,
        details: { method: 'sso', amr, mfa },
      });
    });
    return { next: flow.next };
  }

  /** Record the refusal on the account the flow was begun for (by whoever presented the answer), and throw it. */
  private async refuse(
    userId: string,
    actor: { type: 'user' | 'anonymous'; id: string | null; label: string | null },
    reason: SsoReauthenticationRefusal,
    retry: string,
    audit: AuditContext,
    extra: { detail?: string; amr?: string | null } = {},
  ): Promise<never> {
    const user = await this.db.selectFrom('users').select('email').where('id', '=', userId).executeTakeFirst();
    await recordAccountEvent(this.db, userId, {
      actor,
      action: 'auth.reauthentication_failed',
      target: { type: 'user', id: userId, label: user?.email ?? null },
      outcome: reason === 'other-session' ? 'denied' : 'failure',
      reason: `sso: ${reason}`,
      requestId: audit.requestId,
      ip: audit.ip,
      details: { method: 'sso', ...(extra.amr !== undefined ? { amr: extra.amr } : {}), ...(extra.detail ? { detail: extra.detail.slice(0, 300) } : {}) },
    });
    throw new SsoReauthenticationRefusedError(reason, retry);
  }
}
