import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { authenticate } from '../../auth/accounts.ts';
import type { SessionStore } from '../../auth/sessions.ts';
import { SESSION_ABSOLUTE_MS } from '../../auth/sessions.ts';
import { clearCookie, cookieNames, setCookie } from '../cookies.ts';
import { loginCsrfToken } from '../csrf.ts';
import { sendPage } from '../page.ts';
import { renderLoginBody, renderLogoutBody } from '../views/index.ts';
import type { Db } from '../../db/connection.ts';
import { sessionCsrfToken } from '../csrf.ts';

interface Deps {
  db: Db;
  sessions: SessionStore;
  secret: Buffer;
  secure: boolean;
}

const loginForm = z.object({
  email: z.string().max(320).default(''),
  password: z.string().max(1024).default(''),
  next: z.string().max(2048).optional(),
});

/** Only same-site paths are valid targets after sign-in (no `//host`, no `/\host`, no scheme). */
export function safeNext(next: string | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.includes('\\') || /[\0-\x1f]/.test(next)) {
    return '/';
  }
  return next;
}

/** Sign-in and sign-out. */
export function registerAuthRoutes(app: FastifyInstance, deps: Deps): void {
  const { db, sessions, secret, secure } = deps;
  const names = cookieNames(secure);

  app.get<{ Querystring: { next?: string } }>('/login', { config: { access: 'public' } }, async (request, reply) => {
    const next = safeNext(request.query.next);
    if (request.session) return reply.redirect(next, 303);
    const csrfToken = loginCsrfToken(request, reply, secret, secure);
    const body = renderLoginBody({ csrfToken, email: '', next, error: null });
    return sendPage(request, reply, secret, { title: 'Sign in', body });
  });

  app.post('/login', { config: { access: 'public', csrf: 'signed-out-form' } }, async (request, reply) => {
    const form = loginForm.safeParse(request.body ?? {});
    const email = form.success ? form.data.email : '';
    const next = safeNext(form.success ? form.data.next : undefined);
    const user = form.success ? await authenticate(db, email, form.data.password) : null;
    if (!user) {
      const csrfToken = loginCsrfToken(request, reply, secret, secure);
      const body = renderLoginBody({ csrfToken, email, next, error: 'Email or password is incorrect.' });
      return sendPage(request, reply, secret, { title: 'Sign in', body, status: 401 });
    }
    // A session id planted before sign-in is never promoted: end it and issue a fresh one.
    const planted = request.cookies[names.session];
    if (planted) await sessions.destroy(planted);
    const { id } = await sessions.create(user.id);
    setCookie(reply, names.session, id, { secure, sameSite: 'lax', maxAgeSeconds: SESSION_ABSOLUTE_MS / 1000 });
    clearCookie(reply, names.loginCsrf, secure);
    reply.header('cache-control', 'no-store');
    return reply.redirect(next, 303);
  });

  app.get('/logout', { config: { access: 'public' } }, async (request, reply) => {
    if (!request.session) return reply.redirect('/', 303);
    const body = renderLogoutBody({ csrfToken: sessionCsrfToken(secret, request.session.idHash) });
    return sendPage(request, reply, secret, { title: 'Sign out', body });
  });

  app.post('/logout', { config: { access: 'public' } }, async (request, reply) => {
    const id = request.cookies[names.session];
    if (id) await sessions.destroy(id);
    clearCookie(reply, names.session, secure);
    reply.header('cache-control', 'no-store');
    return reply.redirect('/', 303);
  });
}
