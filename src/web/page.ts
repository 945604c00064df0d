import type { FastifyReply, FastifyRequest } from 'fastify';
import { renderPage } from './views/index.ts';
import { sessionCsrfToken } from './csrf.ts';

/** Wrap a rendered body in the page frame for this request's user and send it. */
export function sendPage(
  request: FastifyRequest,
  reply: FastifyReply,
  secret: Buffer,
  page: { title: string; body: string; status?: number },
): FastifyReply {
  const session = request.session;
  const html = renderPage({
    title: page.title,
    body: page.body,
    user: session ? { name: session.actor.name, email: session.actor.email } : null,
    csrfToken: session ? sessionCsrfToken(secret, session.idHash) : null,
  });
  // Pages behind sign-in must not stay in shared or browser caches.
  reply.header('cache-control', session ? 'no-store' : 'no-cache');
  return reply.code(page.status ?? 200).type('text/html; charset=utf-8').send(html);
}
