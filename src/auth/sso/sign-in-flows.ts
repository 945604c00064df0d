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
  orgId: string;
  nonce: string;
  codeVerifier: string;
  next: string;
}

/** Why the callback found no usable flow: never seen or already used, begun in another browser, or too old. */
export type FlowRefusal = 'unknown-state' | 'other-browser' | 'expired';

/**
 * Sign-ins begun and not yet completed. `state` goes to the identity provider and comes back; only its hash is
 * stored. Each flow is bound to the browser that began it (the hash of a random value in an httpOnly cookie)
 * and used at most once: the callback deletes it in the same statement that reads it, so a replayed state finds
 * nothing. The PKCE verifier is sealed at rest; the nonce is compared to the ID token's by openid-client.
 */
export class SignInFlows {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
    private readonly now: () => number = Date.now,
  ) {}

  /** Remember a new flow for this browser; returns what the authorization request carries. */
  async begin(input: { orgId: string; browserKey: string; next: string }): Promise<{ state: string; nonce: string; codeChallenge: string }> {
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const now = this.now();
    // Abandoned flows are removed as new ones begin (a few rows at a time: begun sign-ins are few).
    await this.db
      .deleteFrom('sso_sign_in_flows')
      .where('state_hash', 'in', (eb) => eb.selectFrom('sso_sign_in_flows').select('state_hash').where('expires_at', '<', new Date(now)).limit(100))
      .execute();
    await this.db
      .insertInto('sso_sign_in_flows')
      .values({
        state_hash: hashOf(state),
        browser_hash: hashOf(input.browserKey),
        org_id: input.orgId,
        nonce,
        code_verifier_sealed: this.box.seal(Buffer.from(codeVerifier), VERIFIER_PURPOSE),
        next_path: input.next,
        created_at: new Date(now),
        expires_at: new Date(now + SIGN_IN_FLOW_TTL_MS),
      })
      .execute();
    return { state, nonce, codeChallenge: await oidc.calculatePKCECodeChallenge(codeVerifier) };
  }

  /** Take (and so end) the flow of `state`, if this browser began it and it is still fresh. */
  async take(state: string, browserKey: string | undefined): Promise<SignInFlow | FlowRefusal> {
    if (state.length === 0 || state.length > 200) return 'unknown-state';
    const row = await this.db.deleteFrom('sso_sign_in_flows').where('state_hash', '=', hashOf(state)).returningAll().executeTakeFirst();
    if (!row) return 'unknown-state';
    const expected = Buffer.from(row.browser_hash);
    const presented = Buffer.from(hashOf(browserKey ?? ''));
    if (!browserKey || expected.length !== presented.length || !timingSafeEqual(expected, presented)) return 'other-browser';
    if (this.now() >= new Date(row.expires_at).getTime()) return 'expired';
    return {
      orgId: row.org_id,
      nonce: row.nonce,
      codeVerifier: this.box.open(row.code_verifier_sealed, VERIFIER_PURPOSE).toString(),
      next: row.next_path,
    };
  }
}
