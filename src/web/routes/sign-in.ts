import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AccountServices } from '../../auth/commands/index.ts';
import type { SignInProgress } from '../../auth/commands/issue-sign-in-session.ts';
import type { SignInCodeRefusal } from '../../auth/commands/verify-sign-in-code.ts';
import type { SignInStep } from '../../auth/sign-in-steps.ts';
import { clearCookie, cookieNames, setCookie } from '../cookies.ts';
import { loginCsrfToken } from '../csrf.ts';
import { sendPage } from '../page.ts';
import { renderLoginBody, renderMfaChallengeBody } from '../views/index.ts';
import { originOf, throttledMessage } from './account-pages.ts';
import { safeNext } from '../safe-next.ts';
import { sendEnrollmentPage, sendRecoveryCodesPage, WRONG_ENROLLMENT_CODE } from './mfa-enrollment-pages.ts';

export interface SignInRouteDeps {
  account: AccountServices;
  secret: Buffer;
  secure: boolean;
  /** Link "Forgot password?" (email is configured). */
  forgotPassword?: boolean;
}

const loginForm = z.object({
  email: z.string().max(320).default(''),
  password: z.string().max(1024).default(''),
  next: z.string().max(2048).optional(),
});
const codeForm = z.object({
  code: z.string().max(64).default(''),
  next: z.string().max(2048).optional(),
});

const PENDING_PAGES: Record<SignInStep, string> = {
  mfa: '/login/mfa',
  'mfa-enrollment': '/login/mfa/enroll',
  'password-change': '/login/password',
};

const CODE_REFUSALS: Record<SignInCodeRefusal, string> = {
  'wrong-recovery-code': 'That recovery code is not valid or was already used.',
  'reused-code': 'That code was already used. Wait for your app to show the next one.',
  'wrong-code': 'That code is not correct. Check that your device’s clock is right.',
};

/** Hand the browser the session a sign-in step issued: a pending one (grants nothing) or the full one. */
export function setSignInSession(reply: FastifyReply, progress: SignInProgress, secure: boolean): void {
  setCookie(reply, cookieNames(secure).session, progress.session.id, { secure, sameSite: 'lax', maxAgeSeconds: progress.session.maxAgeSeconds });
  if (progress.kind === 'signed-in') clearCookie(reply, cookieNames(secure).loginCsrf, secure);
  reply.header('cache-control', 'no-store');
}

/** Set the session and go on: to the page of the step still outstanding, or to `next` when signed in. */
export function continueSignIn(reply: FastifyReply, progress: SignInProgress, next: string, secure: boolean): FastifyReply {
  setSignInSession(reply, progress, secure);
  if (progress.kind === 'pending') return reply.redirect(`${PENDING_PAGES[progress.step]}?next=${encodeURIComponent(next)}`, 303);
  return reply.redirect(next, 303);
}

const backToLogin = (reply: FastifyReply, next: string) => reply.redirect(`/login?next=${encodeURIComponent(next)}`, 303);

/** Signing in: the password, then the second factor when enrolled, or the enrollment an organization requires. */
export function registerSignInRoutes(app: FastifyInstance, deps: SignInRouteDeps): void {
  const { account, secret, secure } = deps;
  const { commands, queries } = account;
  const sessionCookie = cookieNames(secure).session;

  function loginPage(request: FastifyRequest, reply: FastifyReply, view: { email: string; next: string; error: string | null }, status = 200) {
    const body = renderLoginBody({ csrfToken: loginCsrfToken(request, reply, secret, secure), ...view, forgotPassword: deps.forgotPassword === true });
    return sendPage(request, reply, secret, { title: 'Sign in', body, status });
  }

  app.get<{ Querystring: { next?: string } }>('/login', { config: { access: 'public' } }, async (request, reply) => {
    const next = safeNext(request.query.next);
    if (request.session) return reply.redirect(next, 303);
    return loginPage(request, reply, { email: '', next, error: null });
  });

  app.post('/login', { config: { access: 'public', csrf: 'signed-out-form' } }, async (request, reply) => {
    const form = loginForm.safeParse(request.body ?? {});
    const email = form.success ? form.data.email : '';
    const next = safeNext(form.success ? form.data.next : undefined);
    const result = await commands.signIn(request.actor, {
      email,
      password: form.success ? form.data.password : '',
      presentedSessionId: request.cookies[sessionCookie],
      origin: originOf(request),
    });
    if (result.kind === 'throttled') {
      reply.header('retry-after', String(result.retryAfterSeconds));
      const seconds = result.retryAfterSeconds;
      const wait = seconds < 90 ? `${seconds} seconds` : `${Math.ceil(seconds / 60)} minutes`;
      return loginPage(request, reply, { email, next, error: `Too many sign-in attempts. Wait ${wait} and try again.` }, 429);
    }
    if (result.kind === 'rejected') return loginPage(request, reply, { email, next, error: 'Email or password is incorrect.' }, 401);
    if (result.kind === 'sso-required') {
      return loginPage(request, reply, { email, next, error: 'Your organization requires single sign-on. Choose “Sign in with SSO” below.' }, 403);
    }
    return continueSignIn(reply, result, next, secure);
  });

  function challengePage(request: FastifyRequest, reply: FastifyReply, next: string, error: string | null, status = 200) {
    const body = renderMfaChallengeBody({ csrfToken: loginCsrfToken(request, reply, secret, secure), next, error });
    return sendPage(request, reply, secret, { title: 'Two-step verification', body, status });
  }

  app.get<{ Querystring: { next?: string } }>('/login/mfa', { config: { access: 'public' } }, async (request, reply) => {
    const next = safeNext(request.query.next);
    if (!(await queries.pendingSignIn(request.cookies[sessionCookie], 'mfa'))) return backToLogin(reply, next);
    return challengePage(request, reply, next, null);
  });

  app.post('/login/mfa', { config: { access: 'public', csrf: 'signed-out-form' } }, async (request, reply) => {
    const form = codeForm.safeParse(request.body ?? {});
    const next = safeNext(form.success ? form.data.next : undefined);
    const result = await commands.verifySignInCode(request.actor, {
      pendingSessionId: request.cookies[sessionCookie],
      code: form.success ? form.data.code : '',
      origin: originOf(request),
    });
    if (result.kind === 'no-pending-session') return backToLogin(reply, next);
    if (result.kind === 'throttled') {
      reply.header('retry-after', String(result.retryAfterSeconds));
      return challengePage(request, reply, next, throttledMessage(result.retryAfterSeconds), 429);
    }
    if (result.kind === 'refused') return challengePage(request, reply, next, CODE_REFUSALS[result.reason], 401);
    return continueSignIn(reply, result, next, secure);
  });

  // Enrollment forced by an organization's "require MFA" setting: the only page such a session reaches.
  app.get<{ Querystring: { next?: string } }>('/login/mfa/enroll', { config: { access: 'public' } }, async (request, reply) => {
    const next = safeNext(request.query.next);
    const session = await queries.pendingSignIn(request.cookies[sessionCookie], 'mfa-enrollment');
    if (!session) return backToLogin(reply, next);
    const csrfToken = loginCsrfToken(request, reply, secret, secure);
    const { userId, email } = session.actor;
    return sendEnrollmentPage(request, reply, secret, queries, { userId, email, csrfToken, action: '/login/mfa/enroll', next, forced: true, error: null });
  });

  app.post('/login/mfa/enroll', { config: { access: 'public', csrf: 'signed-out-form' } }, async (request, reply) => {
    const form = codeForm.safeParse(request.body ?? {});
    const next = safeNext(form.success ? form.data.next : undefined);
    const pendingSessionId = request.cookies[sessionCookie];
    const session = await queries.pendingSignIn(pendingSessionId, 'mfa-enrollment');
    if (!session) return backToLogin(reply, next);
    const result = await commands.enrollMfaAtSignIn(request.actor, { pendingSessionId, code: form.success ? form.data.code : '', origin: originOf(request) });
    if (result.kind === 'no-pending-session') return backToLogin(reply, next);
    if (result.kind !== 'enrolled') {
      const csrfToken = loginCsrfToken(request, reply, secret, secure);
      const throttled = result.kind === 'throttled';
      const error = throttled ? throttledMessage(result.retryAfterSeconds) : WRONG_ENROLLMENT_CODE;
      const { userId, email } = session.actor;
      const view = { userId, email, csrfToken, action: '/login/mfa/enroll', next, forced: true, error };
      return sendEnrollmentPage(request, reply, secret, queries, view, throttled ? 429 : 400);
    }
    setSignInSession(reply, { kind: 'signed-in', session: result.session }, secure);
    return sendRecoveryCodesPage(request, reply, secret, { codes: result.recoveryCodes, continueHref: next, enrolled: true });
  });
}
