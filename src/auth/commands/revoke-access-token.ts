import type { Actor } from '../../access/actor.ts';
import type { Session } from '../sessions.ts';
import { revokeToken, type TokenSummary } from '../tokens.ts';
import { authorizeOwnAccount, type AuthDeps, type RequestOrigin } from './deps.ts';

/**
 * Revoke one of one's own personal access tokens; it stops working on the next request. Someone else's token, or
 * an unknown id, is a NotFoundError (nobody learns that it exists). The revocation and `token.revoked` are one
 * transaction (tokens.ts); revoking twice records once.
 */
export async function revokeAccessToken(
  deps: AuthDeps,
  actor: Actor,
  input: { session: Session; tokenId: string; origin: RequestOrigin },
): Promise<TokenSummary> {
  const user = authorizeOwnAccount(actor, input.session);
  const revoked = await revokeToken(deps.db, {
    id: input.tokenId,
    userId: user.userId,
    audit: { actor: { type: 'user', id: user.userId, label: user.email }, requestId: input.origin.requestId, ip: input.origin.ip },
  });
  deps.notices.forget(user.userId);
  return revoked;
}
