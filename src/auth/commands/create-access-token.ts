import type { Actor } from '../../access/actor.ts';
import type { Session } from '../sessions.ts';
import { createToken, type TokenSummary } from '../tokens.ts';
import { authorizeOwnAccount, type AuthDeps, type RequestOrigin } from './deps.ts';
import { assertRecentReauthentication } from './recent-reauthentication.ts';

export interface CreateAccessTokenInput {
  session: Session;
  name: string;
  scopes: readonly string[];
  expiresInDays: number;
  origin: RequestOrigin;
}

/**
 * Create a personal access token for one's own account (after a recent re-authentication). The token row and
 * `token.created` are one transaction (tokens.ts). The plaintext is in the result only: show it once.
 * Invalid input is an InvalidInputError.
 */
export async function createAccessToken(
  deps: AuthDeps,
  actor: Actor,
  input: CreateAccessTokenInput,
): Promise<{ token: string; summary: TokenSummary }> {
  const user = authorizeOwnAccount(actor, input.session);
  assertRecentReauthentication(input.session, '/-/account/tokens/new');
  const created = await createToken(deps.db, {
    userId: user.userId,
    name: input.name,
    scopes: input.scopes,
    expiresInDays: input.expiresInDays,
    audit: { actor: { type: 'user', id: user.userId, label: user.email }, requestId: input.origin.requestId, ip: input.origin.ip },
  });
  deps.notices.forget(user.userId);
  return created;
}
