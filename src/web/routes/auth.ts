import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { authenticate } from '../../auth/accounts.ts';
import { passwordSignInRefusedBy } from '../../auth/sso/password-sign-in-policy.ts';
import { MfaService, mfaSecretBox } from '../../auth/mfa.ts';
import { Throttle } from '../../auth/throttle.ts';
import type { MfaKeys } from '../../config/config.ts';
import { recordAccountEvent, recordSignInFailure } from '../../audit/account-events.ts';
import type { SessionStore } from '../../auth/sessions.ts';
import { clearCookie, cookieNames } from '../cookies.ts';
import { loginCsrfToken } from '../csrf.ts';
import { sendPage } from '../page.ts';
import { renderLoginBody, renderLogoutBody } from '../views/index.ts';
import type { Db } from '../../db/connection.ts';
import { sessionCsrfToken } from '../csrf.ts';
import { beginSession, registerMfaRoutes } from './mfa.ts';
import { registerNewPasswordRoutes } from './new-password.ts';

interface Deps {
  db: Db;
  sessions: SessionStore;
  secret: Buffer;
  secure: boolean;
  mfaKeys: MfaKeys;
  /** Clock for throttling and TOTP (tests). */
  now?: () => number;
}

const loginForm = z.object({
  email: z.string().max(320).default(''),
  password: z.string().max(1024).default(''),
  next: z.string().max(2048).optional(),
});

/** Only same-site paths are valid targets after sign-in (no `//host`, no `/\host`, no scheme). */
export function safeNext(next: string | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.includes('\\') || /[\0-\x1f\x7f]/.test(next)) {
    return '/';
  }
  // The target goes into a Location header, which carries ASCII only: anything else is percent-encoded (so
  // `/／host` stays one path segment, never a second slash); a lone surrogate cannot be encoded and gives `/`.
  try {
    return next.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c));
  } catch {
    return '/';
  }
}

/** Sign-in (password, then the second factor when enrolled: routes/mfa.ts) and sign-out. */
export function registerAuthRoutes(app: FastifyInstance, deps: Deps): void {
  const { db, sessions, secret, secure } = deps;
  const names = cookieNames(secure);
  const now = deps.now ?? Date.now;
  const throttle = new Throttle(db, now);
  const mfa = new MfaService(db, mfaSecretBox(deps.mfaKeys), now);
  const mfaDeps = { db, sessions, secret, secure, mfa, throttle };
  registerMfaRoutes(app, mfaDeps);
  registerNewPasswordRoutes(app, mfaDeps);

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
    // Counted per email (whether or not an account has it, so both answers stay the same) and per address.
    const subjects = { account: email.trim().toLowerCase(), address: request.ip };
    // The limit is checked and this attempt reserved in one step, before the password is verified (throttle.ts).
    const verdict = await throttle.attempt(subjects);
    if (verdict.blocked) {
      const target = await db.selectFrom('users').select('id').where('email', '=', subjects.account).executeTakeFirst();
      await recordAccountEvent(db, target?.id ?? null, {
        actor: { type: 'anonymous', id: null, label: subjects.account.slice(0, 320) || null },
        action: 'auth.sign_in_throttled',
        target: target ? { type: 'user', id: target.id, label: subjects.account } : null,
        reason: verdict.scope === 'address' ? 'too many failures from this address' : 'too many failures for this account',
        outcome: 'denied',
        requestId: request.id,
        ip: request.ip,
        details: { retry_after_seconds: verdict.retryAfterSeconds },
      });
      reply.header('retry-after', String(verdict.retryAfterSeconds));
      const csrfToken = loginCsrfToken(request, reply, secret, secure);
      const wait = verdict.retryAfterSeconds < 90 ? `${verdict.retryAfterSeconds} seconds` : `${Math.ceil(verdict.retryAfterSeconds / 60)} minutes`;
      const body = renderLoginBody({ csrfToken, email, next, error: `Too many sign-in attempts. Wait ${wait} and try again.` });
      return sendPage(request, reply, secret, { title: 'Sign in', body, status: 429 });
    }
    const user = form.success ? await authenticate(db, email, form.data.password) : null;
    if (!user) {
      await verdict.reservation.failed();
      await recordSignInFailure(db, { email, requestId: request.id, ip: request.ip });
      const csrfToken = loginCsrfToken(request, reply, secret, secure);
      const body = renderLoginBody({ csrfToken, email, next, error: 'Email or password is incorrect.' });
      return sendPage(request, reply, secret, { title: 'Sign in', body, status: 401 });
    }
    await verdict.reservation.succeeded();
    await throttle.clear('account', subjects.account);
    // An organization that requires single sign-on refuses its members' passwords (all but its break-glass owner).
    const ssoOrg = await passwordSignInRefusedBy(db, user.id);
    if (ssoOrg) {
      await recordSignInFailure(db, { email, requestId: request.id, ip: request.ip, reason: 'sso required', outcome: 'denied' });
      const csrfToken = loginCsrfToken(request, reply, secret, secure);
      const error = 'Your organization requires single sign-on. Choose “Sign in with SSO” below.';
      const body = renderLoginBody({ csrfToken, email, next, error });
      return sendPage(request, reply, secret, { title: 'Sign in', body, status: 403 });
    }
    // Full session, or a pending one (MFA code or enrollment outstanding); a planted id is ended either way.
    // The auth.sign_in audit event is recorded when the full session starts (routes/mfa.ts finishSignIn).
    return beginSession(mfaDeps, request, reply, user, next);
  });

  app.get('/logout', { config: { access: 'public' } }, async (request, reply) => {
    if (!request.session) return reply.redirect('/', 303);
    const body = renderLogoutBody({ csrfToken: sessionCsrfToken(secret, request.session.idHash) });
    return sendPage(request, reply, secret, { title: 'Sign out', body });
  });

  app.post('/logout', { config: { access: 'public' } }, async (request, reply) => {
    const id = request.cookies[names.session];
    if (id) await sessions.destroy(id);
    if (request.session) {
      const actor = request.session.actor;
      await recordAccountEvent(db, actor.userId, {
        actor: { type: 'user', id: actor.userId, label: actor.email },
        action: 'auth.sign_out',
        outcome: 'success',
        requestId: request.id,
        ip: request.ip,
      });
    }
    clearCookie(reply, names.session, secure);
    reply.header('cache-control', 'no-store');
    return reply.redirect('/', 303);
  });
}
