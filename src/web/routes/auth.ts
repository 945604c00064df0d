import type { FastifyInstance } from 'fastify';
import type { AccountServices } from '../../auth/commands/index.ts';
import { clearCookie, cookieNames } from '../cookies.ts';
import { sessionCsrfToken } from '../csrf.ts';
import { sendPage } from '../page.ts';
import { renderLogoutBody } from '../views/index.ts';
import { originOf } from './account-pages.ts';
import { registerAccountSecurityRoutes } from './account-security.ts';
import { registerNewPasswordRoutes } from './new-password.ts';
import { registerPasswordRoutes } from './password.ts';
import { registerSignInRoutes } from './sign-in.ts';

export { safeNext } from '../safe-next.ts';

interface Deps {
  account: AccountServices;
  secret: Buffer;
  secure: boolean;
  /** The sign-in page links "Forgot password?" (email is configured: routes/email.ts). */
  forgotPassword?: boolean;
}

/**
 * Signing in and out: the sign-in steps (sign-in.ts), a new password without a current one (new-password.ts),
 * the account's security page and re-authentication (account-security.ts), the password change (password.ts),
 * and sign-out here.
 */
export function registerAuthRoutes(app: FastifyInstance, deps: Deps): void {
  const { account, secret, secure } = deps;
  const names = cookieNames(secure);
  registerSignInRoutes(app, deps);
  registerAccountSecurityRoutes(app, deps);
  registerPasswordRoutes(app, deps);
  registerNewPasswordRoutes(app, deps);

  app.get('/logout', { config: { access: 'public' } }, async (request, reply) => {
    if (!request.session) return reply.redirect('/', 303);
    const body = renderLogoutBody({ csrfToken: sessionCsrfToken(secret, request.session.idHash) });
    return sendPage(request, reply, secret, { title: 'Sign out', body });
  });

  app.post('/logout', { config: { access: 'public' } }, async (request, reply) => {
    await account.commands.signOut(request.actor, { sessionId: request.cookies[names.session], session: request.session, origin: originOf(request) });
    clearCookie(reply, names.session, secure);
    reply.header('cache-control', 'no-store');
    return reply.redirect('/', 303);
  });
}
