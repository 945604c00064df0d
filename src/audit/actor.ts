import type { Actor } from '../access/actor.ts';
import type { AuditEventInput } from './audit-log.ts';

/** The audit actor for a request's actor: a token when the request used one (its id, never its secret). */
export function auditActorOf(actor: Actor): AuditEventInput['actor'] {
  if (actor.kind === 'anonymous') return { type: 'anonymous', id: null, label: null };
  if (actor.via?.kind === 'token') return { type: 'token', id: actor.via.tokenId, label: actor.email };
  return { type: 'user', id: actor.userId, label: actor.email };
}
