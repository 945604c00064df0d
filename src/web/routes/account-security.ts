import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AccountServices } from '../../auth/commands/index.ts';
import { ensureRecentAuth } from '../../auth/reauth.ts';
import type { Session } from '../../auth/sessions.ts';
import { sessionCsrfToken } from '../csrf.ts';
import { sendPage } from '../page.ts';
import { safeNext } from '../safe-next.ts';
import { renderAccountSecurityBody, renderReauthBody } from '../views/index.ts';
import { originOf, requireSession, throttledMessage } from './account-pages.ts';
import { sendEnrollmentPage, sendRecoveryCodesPage, WRONG_ENROLLMENT_CODE } from './mfa-enrollment-pages.ts';

interface Deps {
  account: AccountServices;
  secret: Buffer;
}

const codeForm = z.object({ code: z.string().max(64).default('') });
const reauthForm = z.object({
  password: z.string().max(1024).default(''),
  code: z.string().max(64).default(''),
  next: z.string().max(2048).optional(),
});

/** Messages for `?notice=` on the security page: fixed keys, never reflected text. */
const NOTICES: Record<string, string> = {
  disabled: 'Two-step verification is off.',
  password: 'Your password was changed. Your other sessions were signed out.',
  enrolled: 'Two-step verification is on.',
};

const ENROLL_PATH = '/-/account/security/enroll';

/** The account's security page: two-step verification on and off, recovery codes, and re-authentication. */
export function registerAccountSecurityRoutes(app: FastifyInstance, deps: Deps): void {
  const { secret } = deps;
  const { commands, queries } = deps.account;

  app.get<{ Querystring: { notice?: string } }>('/-/account/security', { config: { access: 'policy' } }, async (request, reply) => {
    const session = requireSession(request);
    const status = await queries.mfaStatus(session.actor.userId);
    const body = renderAccountSecurityBody({
      csrfToken: sessionCsrfToken(secret, session.idHash),
      email: session.actor.email,
      enrolled: status.enrolled,
      enrolledAt: status.enrolledAt ? status.enrolledAt.toISOString().slice(0, 10) : null,
      recoveryCodesLeft: status.recoveryCodesLeft,
      notice: NOTICES[request.query.notice ?? ''] ?? null,
      error: null,
    });
    return sendPage(request, reply, secret, { title: 'Security', body });
  });

  const enrollView = (session: Session, error: string | null) => ({
    userId: session.actor.userId,
    email: session.actor.email,
    csrfToken: sessionCsrfToken(secret, session.idHash),
    action: ENROLL_PATH,
    next: null,
    forced: false,
    error,
  });

  app.get(ENROLL_PATH, { config: { access: 'policy' } }, async (request, reply) => {
    const session = requireSession(request);
    if (await queries.isMfaEnrolled(session.actor.userId)) return reply.redirect('/-/account/security', 303);
    if (!ensureRecentAuth(request, reply, ENROLL_PATH)) return reply;
    return sendEnrollmentPage(request, reply, secret, queries, enrollView(session, null));
  });

  app.post(ENROLL_PATH, { config: { access: 'policy' } }, async (request, reply) => {
    const session = requireSession(request);
    if (!ensureRecentAuth(request, reply, ENROLL_PATH)) return reply;
    const form = codeForm.safeParse(request.body ?? {});
    const result = await commands.enrollMfa(request.actor, { session, code: form.success ? form.data.code : '', origin: originOf(request) });
    if (result.kind === 'throttled') {
      return sendEnrollmentPage(request, reply, secret, queries, enrollView(session, throttledMessage(result.retryAfterSeconds)), 429);
    }
    if (result.kind === 'refused') return sendEnrollmentPage(request, reply, secret, queries, enrollView(session, WRONG_ENROLLMENT_CODE), 400);
    return sendRecoveryCodesPage(request, reply, secret, { codes: result.recoveryCodes, continueHref: '/-/account/security?notice=enrolled', enrolled: true });
  });

  app.post('/-/account/security/recovery-codes', { config: { access: 'policy' } }, async (request, reply) => {
    const session = requireSession(request);
    if (!(await queries.isMfaEnrolled(session.actor.userId))) return reply.redirect('/-/account/security', 303);
    if (!ensureRecentAuth(request, reply, '/-/account/security')) return reply;
    const codes = await commands.regenerateRecoveryCodes(request.actor, { session, origin: originOf(request) });
    if (!codes) return reply.redirect('/-/account/security', 303);
    return sendRecoveryCodesPage(request, reply, secret, { codes, continueHref: '/-/account/security', enrolled: false });
  });

  app.post('/-/account/security/disable', { config: { access: 'policy' } }, async (request, reply) => {
    const session = requireSession(request);
    if (!ensureRecentAuth(request, reply, '/-/account/security')) return reply;
    await commands.disableMfa(request.actor, { session, origin: originOf(request) });
    return reply.redirect('/-/account/security?notice=disabled', 303);
  });

  /** The page: the password form for an account with a password, "Continue with …" for each linked identity provider. */
  async function reauthPage(request: FastifyRequest, reply: FastifyReply, session: Session, view: { next: string; needsCode: boolean; error: string | null }, status = 200) {
    const methods = await queries.reauthenticationMethods(session.actor.userId);
    const body = renderReauthBody({ csrfToken: sessionCsrfToken(secret, session.idHash), ...view, ...methods });
    return sendPage(request, reply, secret, { title: 'Confirm it’s you', body, status });
  }

  app.get<{ Querystring: { next?: string } }>('/-/reauth', { config: { access: 'policy' } }, async (request, reply) => {
    const session = requireSession(request);
    const next = safeNext(request.query.next);
    return reauthPage(request, reply, session, { next, needsCode: await queries.isMfaEnrolled(session.actor.userId), error: null });
  });

  app.post('/-/reauth', { config: { access: 'policy' } }, async (request, reply) => {
    const session = requireSession(request);
    const form = reauthForm.safeParse(request.body ?? {});
    const next = safeNext(form.success ? form.data.next : undefined);
    const result = await commands.reauthenticate(request.actor, {
      session,
      password: form.success ? form.data.password : '',
      code: form.success ? form.data.code : '',
      origin: originOf(request),
    });
    if (result.kind === 'throttled') {
      reply.header('retry-after', String(result.retryAfterSeconds));
      return reauthPage(request, reply, session, { next, needsCode: result.needsCode, error: throttledMessage(result.retryAfterSeconds) }, 429);
    }
    if (result.kind === 'sso-required') {
      // the page then offers the organization's provider only (reauthenticationMethods)
      const error = 'Your organization requires single sign-on: confirm it’s you with its identity provider.';
      return reauthPage(request, reply, session, { next, needsCode: false, error }, 403);
    }
    if (result.kind === 'refused') {
      // Only reached with the right password, so saying the code was spent tells an attacker nothing new.
      const error =
        result.reason === 'reused-code'
          ? 'That code was already used. Wait for your app to show the next one.'
          : result.needsCode
            ? 'Password or code is incorrect.'
            : 'Password is incorrect.';
      return reauthPage(request, reply, session, { next, needsCode: result.needsCode, error }, 401);
    }
    return reply.redirect(next, 303);
  });
}
