import type { FastifyInstance, FastifyRequest } from 'fastify';
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

/**
 * Resolve the session cookie to an actor on every request.
 *
 * Concurrent requests with the same cookie share one lookup: the session store trusts its memory for a few
 * seconds, then asks the database again, and without this every request in flight at that moment (a browser
 * loading a page's assets, a busy reader) would run the same query at once. A request gets the answer of the
 * lookup already in flight when it arrived (as if it had arrived a moment earlier), or starts its own; nothing is
 * kept once the lookup has answered, so expiry and revocation apply exactly as before.
 */
export function registerAuthentication(app: FastifyInstance, options: { sessions: SessionStore; secure: boolean }) {
  const name = cookieNames(options.secure).session;
  const inFlight = new Map<string, Promise<Session | null>>();
  const lookup = (id: string): Promise<Session | null> => {
    let pending = inFlight.get(id);
    if (pending === undefined) {
      pending = options.sessions.lookup(id);
      inFlight.set(id, pending);
      const done = () => inFlight.delete(id);
      pending.then(done, done);
    }
    return pending;
  };
  app.decorateRequest('actor', null as never);
  app.decorateRequest('session', null);
  // A callback hook: a session this process remembers is answered without a promise (every signed-in request).
  app.addHook('onRequest', (request, _reply, done) => {
    request.actor = ANONYMOUS;
    request.session = null;
    const id = request.cookies[name];
    if (!id) return done();
    const known = options.sessions.peek(id);
    if (known !== undefined) {
      signIn(request, known);
      return done();
    }
    lookup(id).then(
      (session) => {
        if (session) signIn(request, session);
        done();
      },
      (error: Error) => done(error),
    );
  });
}

function signIn(request: FastifyRequest, session: Session): void {
  request.session = session;
  request.actor = session.actor;
}
