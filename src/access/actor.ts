import type { Role } from './roles.ts';

/** Who is making a request: nobody signed in, or a user with their memberships. */
export type Actor = AnonymousActor | UserActor;

export interface AnonymousActor {
  kind: 'anonymous';
}

export interface UserActor {
  kind: 'user';
  userId: string;
  email: string;
  name: string;
  /** Role per organization id. */
  memberships: ReadonlyMap<string, Role>;
  /** Set when the request authenticated with a personal access token: it may do no more than its scopes allow. */
  via?: { kind: 'token'; tokenId: string; scopes: TokenScope[] };
}

/** What a personal access token may be used for ('write' implies 'read'). */
export type TokenScope = 'read' | 'write';

export const ANONYMOUS: AnonymousActor = Object.freeze({ kind: 'anonymous' });

/** The actor's role in an organization, or null when they are not a member. */
export function roleIn(actor: Actor, orgId: string): Role | null {
  return actor.kind === 'user' ? (actor.memberships.get(orgId) ?? null) : null;
}
