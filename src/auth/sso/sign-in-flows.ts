import { createHash, timingSafeEqual } from 'node:crypto';
import * as oidc from 'openid-client';
import type { Db } from '../../db/connection.ts';
import type { SecretBox } from '../secret-box.ts';

/** A sign-in must come back from the identity provider within this time. */
export const SIGN_IN_FLOW_TTL_MS = 10 * 60 * 1000;
/** AES-GCM additional data of a sealed PKCE verifier. */
export const VERIFIER_PURPOSE = 'sso-pkce-verifier';

const hashOf = (value: string) => createHash('sha256').update(value).digest('base64url');

/** What a begun sign-in remembers until the callback (the verifier opened again). */
export interface SignInFlow {
  purpose: 'sign-in';
  orgId: string;
  nonce: string;
  codeVerifier: string;
  next: string;
}

/** What a begun re-authentication remembers: also its user and when it began (the ID token's auth_time must follow). */
export interface ReauthenticationFlow {
  purpose: 'reauthentication';
  orgId: string;
  userId: string;
  nonce: string;
  codeVerifier: string;
  next: string;
  startedAt: number;
}

/** Why the callback found no usable flow: never seen or already used, begun in another browser, or too old. */
export type FlowRefusal = 'unknown-state' | 'other-browser' | 'expired';

/** Why a re-authentication flow was refused before the provider's answer was looked at. */
export type ReauthenticationFlowRefusal = { purpose: 'reauthentication'; refusal: 'other-session' | 'expired'; orgId: string; userId: string; next: string };

/**
 * Sign-ins begun and not yet completed. `state` goes to the identity provider and comes back; only its hash is
 * stored. Each flow is bound to the browser that began it (the hash of a random value in an httpOnly cookie)
 * and used at most once: the callback deletes it in the same statement that reads it, so a replayed state finds
 * nothing. The PKCE verifier is sealed at rest; the nonce is compared to the ID token's by openid-client.
 * A re-authentication (purpose `reauthentication`, migration 040) is bound to the signed-in session that began
 * it instead of a browser cookie, and ends with that session.
 */
export class SignInFlows {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
    private readonly now: () => number = Date.now,
  ) {}

  /** Remember a new flow for this browser; returns what the authorization request carries. */
  async begin(input: { orgId: string; browserKey: string; next: string }): Promise<{ state: string; nonce: string; codeChallenge: string }> {
    const { startedAt: _, ...request } = await this.#remember(input, { purpose: 'sign-in', browser_hash: hashOf(input.browserKey) });
    return request;
  }

  /**
   * Remember a new re-authentication for the signed-in session `sessionIdHash` of `userId`; returns what the
   * authorization request carries and when the flow began (the provider's auth_time must not be older).
   */
  beginReauthentication(input: {
    orgId: string;
    userId: string;
    sessionIdHash: string;
    next: string;
  }): Promise<{ state: string; nonce: string; codeChallenge: string; startedAt: number }> {
    return this.#remember(input, { purpose: 'reauthentication', browser_hash: null, session_hash: input.sessionIdHash, user_id: input.userId });
  }

  /** Store a begun flow (its state hashed, its verifier sealed) with what binds it; what the provider is sent. */
  async #remember(
    input: { orgId: string; next: string },
    binding:
      | { purpose: 'sign-in'; browser_hash: string }
      | { purpose: 'reauthentication'; browser_hash: null; session_hash: string; user_id: string },
  ): Promise<{ state: string; nonce: string; codeChallenge: string; startedAt: number }> {
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const now = this.now();
    await this.forgetAbandoned(now);
    await this.db
      .insertInto('sso_sign_in_flows')
      .values({
        state_hash: hashOf(state),
        ...binding,
        org_id: input.orgId,
        nonce,
        code_verifier_sealed: this.box.seal(Buffer.from(codeVerifier), VERIFIER_PURPOSE),
        next_path: input.next,
        created_at: new Date(now),
        expires_at: new Date(now + SIGN_IN_FLOW_TTL_MS),
      })
      .execute();
    return { state, nonce, codeChallenge: await oidc.calculatePKCECodeChallenge(codeVerifier), startedAt: now };
  }

  /**
   * Take (and so end) the flow of `state`. A sign-in must have been begun by this browser (`browserKey`); a
   * re-authentication by this session (`sessionIdHash`, the signed-in session presenting the callback). Either
   * must still be fresh. The flow is deleted whatever the verdict: a state is never judged twice.
   */
  async take(
    state: string,
    binding: { browserKey: string | undefined; sessionIdHash: string | undefined },
  ): Promise<SignInFlow | ReauthenticationFlow | FlowRefusal | ReauthenticationFlowRefusal> {
    if (state.length === 0 || state.length > 200) return 'unknown-state';
    const row = await this.db.deleteFrom('sso_sign_in_flows').where('state_hash', '=', hashOf(state)).returningAll().executeTakeFirst();
    if (!row) return 'unknown-state';
    const expired = this.now() >= new Date(row.expires_at).getTime();
    const codeVerifier = () => this.box.open(row.code_verifier_sealed, VERIFIER_PURPOSE).toString();
    if (row.purpose === 'reauthentication') {
      const refused = (refusal: 'other-session' | 'expired') => ({ purpose: 'reauthentication' as const, refusal, orgId: row.org_id, userId: row.user_id!, next: row.next_path });
      if (!sameSecret(row.session_hash, binding.sessionIdHash)) return refused('other-session');
      if (expired) return refused('expired');
      const userId = row.user_id!;
      const startedAt = new Date(row.created_at).getTime();
      return { purpose: 'reauthentication', orgId: row.org_id, userId, nonce: row.nonce, codeVerifier: codeVerifier(), next: row.next_path, startedAt };
    }
    if (!binding.browserKey || !sameSecret(row.browser_hash, hashOf(binding.browserKey))) return 'other-browser';
    if (expired) return 'expired';
    return { purpose: 'sign-in', orgId: row.org_id, nonce: row.nonce, codeVerifier: codeVerifier(), next: row.next_path };
  }

  /** Abandoned flows are removed as new ones begin (a few rows at a time: begun flows are few). */
  private async forgetAbandoned(now: number): Promise<void> {
    await this.db
      .deleteFrom('sso_sign_in_flows')
      .where('state_hash', 'in', (eb) => eb.selectFrom('sso_sign_in_flows').select('state_hash').where('expires_at', '<', new Date(now)).limit(100))
      .execute();
  }
}

/** Constant-time equality of two stored/presented hashes; a missing one never matches. */
function sameSecret(expected: string | null, presented: string | undefined): boolean {
  if (!expected || !presented) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}
