import type { FastifyInstance } from 'fastify';
import { ANONYMOUS, type Actor } from '../access/actor.ts';
import type { Session, SessionStore } from '../auth/sessions.ts';
import { cookieNames } from './cookies.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is asking: the signed-in user or anonymous. Set for every request. */
    actor: Actor;
    /** The live session, when signed in. */
    session: Session | null;
  }
}

/** Resolve the session cookie to an actor on every request. */
export function registerAuthentication(app: FastifyInstance, options: { sessions: SessionStore; secure: boolean }) {
  const name = cookieNames(options.secure).session;
  app.decorateRequest('actor', null as never);
  app.decorateRequest('session', null);
  app.addHook('onRequest', async (request) => {
    request.actor = ANONYMOUS;
    request.session = null;
    const id = request.cookies[name];
    if (!id) return;
    const session = await options.sessions.lookup(id);
    if (session) {
      request.session = session;
      request.actor = session.actor;
    }
  });
}
