import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AccountServices } from '../../auth/commands/index.ts';
import { AppError } from '../../errors.ts';
import { cookieNames, setCookie } from '../cookies.ts';
import { sessionCsrfToken } from '../csrf.ts';
import { sendPage } from '../page.ts';
import { renderChangePasswordBody } from '../views/index.ts';
import { originOf, requireSession, throttledMessage } from './account-pages.ts';

interface Deps {
  account: AccountServices;
  secret: Buffer;
  secure: boolean;
}

const passwordForm = z.object({ current: z.string().max(1024).default(''), password: z.string().max(1024).default('') });

/** Changing one's password with the current one (a new password without one: new-password.ts). */
export function registerPasswordRoutes(app: FastifyInstance, deps: Deps): void {
  const { secret, secure } = deps;
  const { commands } = deps.account;

  app.get('/-/account/security/password', { config: { access: 'policy' } }, async (request, reply) => {
    const session = requireSession(request);
    const body = renderChangePasswordBody({ csrfToken: sessionCsrfToken(secret, session.idHash), error: null });
    return sendPage(request, reply, secret, { title: 'Change password', body });
  });

  app.post('/-/account/security/password', { config: { access: 'policy' } }, async (request, reply) => {
    const session = requireSession(request);
    const form = passwordForm.safeParse(request.body ?? {});
    const page = (error: string, status: number) =>
      sendPage(request, reply, secret, {
        title: 'Change password',
        body: renderChangePasswordBody({ csrfToken: sessionCsrfToken(secret, session.idHash), error }),
        status,
      });
    let result;
    try {
      result = await commands.changePassword(request.actor, {
        session,
        current: form.success ? form.data.current : '',
        password: form.success ? form.data.password : '',
        origin: originOf(request),
      });
    } catch (error) {
      if (error instanceof AppError && error.status === 400) return page(error.message, 400);
      throw error;
    }
    if (result.kind === 'throttled') return page(throttledMessage(result.retryAfterSeconds), 429);
    if (result.kind === 'wrong-current-password') return page('Your current password is incorrect.', 401);
    // Every other session ended; this browser continues in a fresh one.
    setCookie(reply, cookieNames(secure).session, result.session.id, { secure, sameSite: 'lax', maxAgeSeconds: result.session.maxAgeSeconds });
    return reply.redirect('/-/account/security?notice=password', 303);
  });
}
