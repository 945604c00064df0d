import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { EmailCommands } from '../../notifications/commands/index.ts';
import { SELF_SERVICE_RESET_LIFETIME_MS } from '../../notifications/commands/request-password-reset.ts';
import { loginCsrfToken } from '../csrf.ts';
import { sendPage } from '../page.ts';
import { renderForgotPasswordBody, type ForgotPasswordView } from '../views/email.tsx';
import { originOf, requireSession } from './account-pages.ts';

interface Deps {
  email: EmailCommands;
  secret: Buffer;
  secure: boolean;
}

const forgotForm = z.object({ email: z.string().max(1024).default('') });
const preferenceForm = z.object({ notify: z.literal('on').optional() });

/**
 * Email (registered only when SMTP_URL is set): "Forgot password?" — one answer whether or not an account exists —
 * and the account page's email notifications form. The reset link itself is new-password.ts's page.
 */
export function registerEmailRoutes(app: FastifyInstance, deps: Deps): void {
  const { email, secret, secure } = deps;
  const lifetimeMinutes = SELF_SERVICE_RESET_LIFETIME_MS / 60_000;

  function forgotPage(request: FastifyRequest, reply: FastifyReply, state: ForgotPasswordView['state'], status = 200) {
    const body = renderForgotPasswordBody({ csrfToken: loginCsrfToken(request, reply, secret, secure), state, lifetimeMinutes });
    return sendPage(request, reply, secret, { title: 'Forgot password', body, status, noStore: true });
  }

  app.get('/login/forgot', { config: { access: 'public' } }, async (request, reply) => forgotPage(request, reply, 'form'));

  app.post('/login/forgot', { config: { access: 'public', csrf: 'signed-out-form' } }, async (request, reply) => {
    const form = forgotForm.safeParse(request.body ?? {});
    const result = await email.requestPasswordReset(request.actor, { email: form.success ? form.data.email : '', origin: originOf(request) });
    if (result.kind === 'throttled') return forgotPage(request, reply, 'throttled', 429);
    return forgotPage(request, reply, 'sent');
  });

  app.post('/-/account/email-notifications', { config: { access: 'policy' } }, async (request, reply) => {
    const session = requireSession(request);
    const form = preferenceForm.safeParse(request.body ?? {});
    const optOut = !(form.success && form.data.notify === 'on');
    await email.setEmailPreference(request.actor, { session, optOut });
    return reply.redirect(`/-/account?notice=${optOut ? 'email-off' : 'email-on'}#email`, 303);
  });
}
