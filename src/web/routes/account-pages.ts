import type { FastifyRequest } from 'fastify';
import type { RequestOrigin } from '../../auth/commands/deps.ts';
import type { Session } from '../../auth/sessions.ts';
import { NotAuthenticatedError } from '../../errors.ts';

/** The account pages work only with a browser session of one's own (never with a token, never a pending session). */
export function requireSession(request: FastifyRequest): Session {
  if (!request.session || request.actor.kind !== 'user' || request.actor.via) throw new NotAuthenticatedError();
  return request.session;
}

/** Where the request came from, for the audit log. */
export function originOf(request: FastifyRequest): RequestOrigin {
  return { requestId: String(request.id), ip: request.ip };
}

/** The words for a throttled attempt: seconds under a minute and a half, else minutes. */
export function throttledMessage(seconds: number): string {
  const minutes = Math.ceil(seconds / 60);
  return seconds < 90 ? `Too many attempts. Wait ${seconds} seconds and try again.` : `Too many attempts. Wait ${minutes} minutes and try again.`;
}
