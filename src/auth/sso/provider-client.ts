import * as oidc from 'openid-client';
import type { SecretBox } from '../secret-box.ts';
import { CLIENT_SECRET_PURPOSE, isLoopbackIssuer, type SsoConnection } from './connection-settings.ts';

/** Discovery documents and signing keys are fetched again after this long (a provider's key rotation applies). */
const CONFIGURATION_TTL_MS = 60 * 60 * 1000;
/** Seconds before a request to the identity provider is abandoned. */
const PROVIDER_TIMEOUT_SECONDS = 10;

/** The identity provider could not be reached or answered something that is not OpenID Connect. */
export class ProviderUnavailableError extends Error {}
/** The provider's answer was refused (signature, audience, issuer, expiry, nonce, state, PKCE...). */
export class ProviderAnswerRefusedError extends Error {}

/**
 * openid-client configurations per organization, from the issuer's discovery document: the ID token's signature
 * (the provider's published keys), issuer, audience (our client id), expiry and nonce are verified by
 * openid-client, never by hand. Plain http is accepted only for a loopback issuer (connection-settings.ts).
 */
export class ProviderClients {
  /** Per organization: the configuration and the settings it was made from (a change makes a new one). */
  private readonly cache = new Map<string, { config: oidc.Configuration; fingerprint: string; at: number }>();

  constructor(
    private readonly box: SecretBox,
    /** The clock ID tokens are judged by (tests move it; openid-client's own clock is shifted to match). */
    private readonly now: () => number = Date.now,
  ) {}

  /** The configuration for a connection: cached per issuer, client and secret, refreshed hourly. */
  async configurationFor(connection: SsoConnection): Promise<oidc.Configuration> {
    const skew = Math.round((this.now() - Date.now()) / 1000);
    const fingerprint = JSON.stringify([connection.issuer, connection.clientId, connection.clientSecretSealed, skew]);
    const cached = this.cache.get(connection.orgId);
    if (cached && cached.fingerprint === fingerprint && Date.now() - cached.at < CONFIGURATION_TTL_MS) return cached.config;
    const secret = this.box.open(connection.clientSecretSealed, CLIENT_SECRET_PURPOSE).toString('utf8');
    let config: oidc.Configuration;
    try {
      config = await oidc.discovery(
        new URL(connection.issuer),
        connection.clientId,
        { client_secret: secret, ...(skew !== 0 ? { [oidc.clockSkew]: skew } : {}) },
        oidc.ClientSecretBasic(secret),
        { timeout: PROVIDER_TIMEOUT_SECONDS, ...(isLoopbackIssuer(connection.issuer) ? { execute: [oidc.allowInsecureRequests] } : {}) },
      );
    } catch (error) {
      throw new ProviderUnavailableError(describe(error));
    }
    // An ID token from the token endpoint is checked for issuer, audience, expiry and nonce by default; this also
    // verifies its signature against the provider's published keys (the brief's "signature verified").
    oidc.enableNonRepudiationChecks(config);
    this.cache.set(connection.orgId, { config, fingerprint, at: Date.now() });
    return config;
  }

  /**
   * The provider's authorization URL: code flow with PKCE (S256), state and nonce. `reauthenticate` asks the
   * provider to sign the person in again whatever session it holds (`prompt=login`, `max_age=0`: the ID token then
   * carries `auth_time`, which the caller checks, since a provider may ignore both).
   */
  authorizationUrl(
    config: oidc.Configuration,
    request: { redirectUri: string; state: string; nonce: string; codeChallenge: string; scope: string; reauthenticate?: boolean },
  ): URL {
    return oidc.buildAuthorizationUrl(config, {
      redirect_uri: request.redirectUri,
      response_type: 'code',
      scope: request.scope,
      state: request.state,
      nonce: request.nonce,
      code_challenge: request.codeChallenge,
      code_challenge_method: 'S256',
      ...(request.reauthenticate ? { prompt: 'login', max_age: '0' } : {}),
    });
  }

  /**
   * Check the authorization response (its state against `expectedState`), redeem the code with the PKCE
   * verifier, and verify the ID token (signature, issuer, audience, expiry, nonce). Returns the ID token's
   * claims, merged under the provider's userinfo answer when the ID token lacks the email.
   */
  async redeem(
    config: oidc.Configuration,
    callbackUrl: URL,
    checks: { expectedState: string; expectedNonce: string; codeVerifier: string },
  ): Promise<oidc.IDToken & Record<string, unknown>> {
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        expectedState: checks.expectedState,
        expectedNonce: checks.expectedNonce,
        pkceCodeVerifier: checks.codeVerifier,
        idTokenExpected: true,
      });
    } catch (error) {
      if (isNetworkError(error)) throw new ProviderUnavailableError(describe(error));
      throw new ProviderAnswerRefusedError(describe(error));
    }
    const claims = tokens.claims();
    if (!claims) throw new ProviderAnswerRefusedError('no ID token in the token response');
    if (typeof claims.email === 'string') return claims;
    try {
      const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
      return { ...info, ...claims, email: info.email, email_verified: info.email_verified };
    } catch (error) {
      throw new ProviderAnswerRefusedError(`userinfo: ${describe(error)}`);
    }
  }
}

function isNetworkError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'AbortError' || error.name === 'TimeoutError') return true;
  return error instanceof TypeError && /fetch failed|network/i.test(error.message);
}

/** A short, secret-free description of a library error for the audit log (codes and messages, no tokens). */
function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    // openid-client wraps oauth4webapi's error, whose message names the claim ('unexpected JWT "aud" claim value').
    const cause = (error as { cause?: unknown }).cause;
    const claim = cause instanceof Error ? ` (${cause.message})` : '';
    return `${typeof code === 'string' ? `${code}: ` : ''}${error.message}${claim}`.slice(0, 300);
  }
  return 'unknown error';
}
