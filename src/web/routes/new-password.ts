import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AccountServices } from '../../auth/commands/index.ts';
import { PasswordResetUnusableError } from '../../auth/password-resets.ts';
import type { Session } from '../../auth/sessions.ts';
import { InvalidInputError } from '../../errors.ts';
import { clearCookie, cookieNames } from '../cookies.ts';
import { loginCsrfToken } from '../csrf.ts';
import { sendPage } from '../page.ts';
import { safeNext } from '../safe-next.ts';
import { renderNewPasswordBody, renderPasswordResetDoneBody } from '../views/new-password.tsx';
import { originOf } from './account-pages.ts';
import { continueSignIn } from './sign-in.ts';

interface Deps {
  account: AccountServices;
  secret: Buffer;
  secure: boolean;
}

const passwordForm = z.object({ password: z.string().max(1024).default(''), next: z.string().max(2048).optional() });

/**
 * Setting a password without a current one: the first-sign-in step for a password someone else chose (a
 * pending session, like forced MFA enrollment: no other page is signed in until it is done), and the
 * password-reset link an admin or owner issued (the token is the credential).
 */
export function registerNewPasswordRoutes(app: FastifyInstance, deps: Deps): void {
  const { secret, secure } = deps;
  const { commands, queries } = deps.account;
  const cookie = cookieNames(secure).session;

  function firstPage(request: FastifyRequest, reply: FastifyReply, session: Session, next: string, error: string | null, status = 200) {
    const body = renderNewPasswordBody({
      csrfToken: loginCsrfToken(request, reply, secret, secure),
      kind: 'first-sign-in',
      action: '/login/password',
      email: session.actor.email,
      next,
      error,
    });
    reply.header('cache-control', 'no-store');
    return sendPage(request, reply, secret, { title: 'Choose your password', body, status, noStore: true });
  }

  app.get<{ Querystring: { next?: string } }>('/login/password', { config: { access: 'public' } }, async (request, reply) => {
    const next = safeNext(request.query.next);
    const session = await queries.pendingSignIn(request.cookies[cookie], 'password-change');
    if (!session) return reply.redirect(`/login?next=${encodeURIComponent(next)}`, 303);
    return firstPage(request, reply, session, next, null);
  });

  app.post('/login/password', { config: { access: 'public', csrf: 'signed-out-form' } }, async (request, reply) => {
    const form = passwordForm.safeParse(request.body ?? {});
    const next = safeNext(form.success ? form.data.next : undefined);
    const pendingSessionId = request.cookies[cookie];
    const session = await queries.pendingSignIn(pendingSessionId, 'password-change');
    if (!session) return reply.redirect(`/login?next=${encodeURIComponent(next)}`, 303);
    let result;
    try {
      result = await commands.chooseFirstPassword(request.actor, { pendingSessionId, password: form.success ? form.data.password : '', origin: originOf(request) });
    } catch (error) {
      if (error instanceof InvalidInputError) return firstPage(request, reply, session, next, error.message, 400);
      throw error;
    }
    if (result.kind === 'no-pending-session') return reply.redirect(`/login?next=${encodeURIComponent(next)}`, 303);
    return continueSignIn(reply, result, next, secure);
  });

  async function resetPage(request: FastifyRequest, reply: FastifyReply, token: string, error: string | null, status = 200) {
    // The token is in the address: no-store, and the global referrer policy (same-origin) keeps it from other
    // sites. Not no-referrer: Chromium then sends `Origin: null` with the form, which the CSRF check refuses.
    reply.header('cache-control', 'no-store');
    const found = await queries.findPasswordReset(token);
    if (found.state !== 'valid') {
      const body = renderPasswordResetDoneBody({ state: 'unusable', message: new PasswordResetUnusableError(found.state).message });
      return sendPage(request, reply, secret, { title: 'Password reset', body, status: 410, noStore: true });
    }
    const body = renderNewPasswordBody({
      csrfToken: loginCsrfToken(request, reply, secret, secure),
      kind: 'reset',
      action: `/password-reset/${token}`,
      email: found.email,
      next: null,
      error,
    });
    return sendPage(request, reply, secret, { title: 'Password reset', body, status, noStore: true });
  }

  // The reset link: open to whoever holds it (the token is the credential), signed in or not.
  app.get<{ Params: { token: string } }>('/password-reset/:token', { config: { access: 'public' } }, async (request, reply) =>
    resetPage(request, reply, request.params.token, null),
  );

  app.post<{ Params: { token: string } }>(
    '/password-reset/:token',
    { config: { access: 'public', csrf: 'signed-out-form' } },
    async (request, reply) => {
      const token = request.params.token;
      const form = passwordForm.safeParse(request.body ?? {});
      let reset: { userId: string };
      try {
        reset = await commands.usePasswordReset(request.actor, { token, password: form.success ? form.data.password : '', origin: originOf(request) });
      } catch (error) {
        if (error instanceof InvalidInputError) return resetPage(request, reply, token, error.message, 400);
        if (error instanceof PasswordResetUnusableError) {
          const body = renderPasswordResetDoneBody({ state: 'unusable', message: error.message });
          return sendPage(request, reply, secret, { title: 'Password reset', body, status: 410 });
        }
        throw error;
      }
      // Every session of the member ended (in the command's transaction); this browser's cookie goes too when it was theirs.
      if (request.session?.actor.userId === reset.userId) {
        clearCookie(reply, cookie, secure);
        request.session = null;
      }
      reply.header('cache-control', 'no-store');
      return sendPage(request, reply, secret, { title: 'Password reset', body: renderPasswordResetDoneBody({ state: 'done' }), noStore: true });
    },
  );
}
