import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import { z } from 'zod';
import { authenticate, passwordMustChange } from '../../auth/accounts.ts';
import { mfaRequiredFor, type MfaService } from '../../auth/mfa.ts';
import { hashPassword } from '../../auth/passwords.ts';
import { ensureRecentAuth } from '../../auth/reauth.ts';
import { looksLikeRecoveryCode } from '../../auth/recovery-codes.ts';
import type { Session, SessionStore } from '../../auth/sessions.ts';
import type { Throttle } from '../../auth/throttle.ts';
import { base32Encode, otpauthUri } from '../../auth/totp.ts';
import { recordAccountEvent } from '../../audit/account-events.ts';
import type { Db } from '../../db/connection.ts';
import type { SessionPending, User } from '../../db/schema.ts';
import { AppError, ConflictError, NotAuthenticatedError } from '../../errors.ts';
import { clearCookie, cookieNames, setCookie } from '../cookies.ts';
import { loginCsrfToken, sessionCsrfToken } from '../csrf.ts';
import { sendPage } from '../page.ts';
import {
  renderAccountSecurityBody,
  renderChangePasswordBody,
  renderMfaChallengeBody,
  renderMfaEnrollBody,
  renderReauthBody,
  renderRecoveryCodesBody,
} from '../views/index.ts';
import { safeNext } from './auth.ts';

export interface MfaRouteDeps {
  db: Db;
  sessions: SessionStore;
  secret: Buffer;
  secure: boolean;
  mfa: MfaService;
  throttle: Throttle;
}

const codeForm = z.object({
  code: z.string().max(64).default(''),
  next: z.string().max(2048).optional(),
});
const reauthForm = z.object({
  password: z.string().max(1024).default(''),
  code: z.string().max(64).default(''),
  next: z.string().max(2048).optional(),
});
const passwordForm = z.object({ current: z.string().max(1024).default(''), password: z.string().max(1024).default('') });

/** Messages for `?notice=` on the security page: fixed keys, never reflected text. */
const NOTICES: Record<string, string> = {
  disabled: 'Two-step verification is off.',
  password: 'Your password was changed. Your other sessions were signed out.',
  enrolled: 'Two-step verification is on.',
};

function sessionCookie(secure: boolean) {
  return cookieNames(secure).session;
}

type AuditFields = { action: string; outcome: 'success' | 'failure' | 'denied'; reason?: string; details?: Record<string, string | number | boolean | null> };

function audit(db: Db, request: FastifyRequest, user: { userId: string; email: string }, fields: AuditFields) {
  return recordAccountEvent(db, user.userId, {
    actor: { type: 'user', id: user.userId, label: user.email },
    action: fields.action,
    target: { type: 'user', id: user.userId, label: user.email },
    reason: fields.reason ?? null,
    outcome: fields.outcome,
    requestId: request.id,
    ip: request.ip,
    ...(fields.details ? { details: fields.details } : {}),
  });
}

/**
 * After the password was accepted: a full session, or — with MFA enrolled, or required by an organization
 * and not yet enrolled — a pending session that grants nothing and leads to the second step.
 * Any session id the browser brought is ended first (a planted id is never promoted).
 */
export async function beginSession(
  deps: MfaRouteDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  user: User,
  next: string,
): Promise<FastifyReply> {
  const name = sessionCookie(deps.secure);
  const planted = request.cookies[name];
  if (planted) await deps.sessions.destroy(planted);
  reply.header('cache-control', 'no-store');
  let pending: SessionPending | null = null;
  if (await deps.mfa.isEnrolled(user.id)) pending = 'mfa';
  else if (user.password_must_change) pending = 'password-change';
  else if (await mfaRequiredFor(deps.db, user.id)) pending = 'mfa-enrollment';
  if (pending) return startPending(deps, reply, user.id, pending, next);
  await finishSignIn(deps, request, reply, { userId: user.id, email: user.email }, false);
  return reply.redirect(next, 303);
}

const PENDING_PAGES: Record<SessionPending, string> = {
  mfa: '/login/mfa',
  'mfa-enrollment': '/login/mfa/enroll',
  'password-change': '/login/password',
};

/** A pending session (grants nothing) and the page of the step still outstanding. */
export async function startPending(
  deps: MfaRouteDeps,
  reply: FastifyReply,
  userId: string,
  pending: SessionPending,
  next: string,
): Promise<FastifyReply> {
  const { id, session } = await deps.sessions.create(userId, { pending });
  setCookie(reply, sessionCookie(deps.secure), id, {
    secure: deps.secure,
    sameSite: 'lax',
    maxAgeSeconds: Math.round((session.expiresAt - session.createdAt) / 1000),
  });
  reply.header('cache-control', 'no-store');
  return reply.redirect(`${PENDING_PAGES[pending]}?next=${encodeURIComponent(next)}`, 303);
}

/** Issue a full session (new id) and record the sign-in. */
export async function finishSignIn(
  deps: MfaRouteDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  user: { userId: string; email: string },
  mfa: boolean,
): Promise<void> {
  const { id, session } = await deps.sessions.create(user.userId, { reauthenticated: true });
  setCookie(reply, sessionCookie(deps.secure), id, {
    secure: deps.secure,
    sameSite: 'lax',
    maxAgeSeconds: Math.round((session.expiresAt - session.createdAt) / 1000),
  });
  clearCookie(reply, cookieNames(deps.secure).loginCsrf, deps.secure);
  reply.header('cache-control', 'no-store');
  await audit(deps.db, request, user, { action: 'auth.sign_in', outcome: 'success', details: { mfa } });
}

/** The signed-in session of a page that needs one (account pages): never a token, never a pending session. */
function requireSession(request: FastifyRequest): Session {
  if (!request.session || request.actor.kind !== 'user' || request.actor.via) throw new NotAuthenticatedError();
  return request.session;
}

async function qrFor(uri: string) {
  const qr = QRCode.create(uri, { errorCorrectionLevel: 'M' });
  return { size: qr.modules.size, modules: qr.modules.data };
}

/** Groups of four characters, as authenticator apps display keys. */
const groupSecret = (key: Buffer) => base32Encode(key).match(/.{1,4}/g)!.join(' ');

/** The second sign-in step, enrollment, the account security page and re-authentication. */
export function registerMfaRoutes(app: FastifyInstance, deps: MfaRouteDeps): void {
  const { db, sessions, secret, secure, mfa, throttle } = deps;
  const name = sessionCookie(secure);

  async function pendingSession(request: FastifyRequest, kind: SessionPending): Promise<Session | null> {
    const id = request.cookies[name];
    if (!id) return null;
    const session = await sessions.lookupPending(id);
    return session && session.pending === kind ? session : null;
  }

  function challengePage(request: FastifyRequest, reply: FastifyReply, next: string, error: string | null, status = 200) {
    const csrfToken = loginCsrfToken(request, reply, secret, secure);
    const body = renderMfaChallengeBody({ csrfToken, next, error });
    return sendPage(request, reply, secret, { title: 'Two-step verification', body, status });
  }

  function throttledMessage(seconds: number) {
    const minutes = Math.ceil(seconds / 60);
    return seconds < 90
      ? `Too many attempts. Wait ${seconds} seconds and try again.`
      : `Too many attempts. Wait ${minutes} minutes and try again.`;
  }

  app.get<{ Querystring: { next?: string } }>('/login/mfa', { config: { access: 'public' } }, async (request, reply) => {
    const next = safeNext(request.query.next);
    if (!(await pendingSession(request, 'mfa'))) return reply.redirect(`/login?next=${encodeURIComponent(next)}`, 303);
    return challengePage(request, reply, next, null);
  });

  app.post('/login/mfa', { config: { access: 'public', csrf: 'signed-out-form' } }, async (request, reply) => {
    const form = codeForm.safeParse(request.body ?? {});
    const next = safeNext(form.success ? form.data.next : undefined);
    const session = await pendingSession(request, 'mfa');
    if (!session) return reply.redirect(`/login?next=${encodeURIComponent(next)}`, 303);
    const user = { userId: session.actor.userId, email: session.actor.email };
    // Checked and reserved in one step, before the code is verified (throttle.ts): parallel codes all count.
    const verdict = await throttle.attempt({ mfa: user.userId });
    if (verdict.blocked) {
      await audit(db, request, user, { action: 'auth.mfa_failed', outcome: 'denied', reason: 'throttled' });
      reply.header('retry-after', String(verdict.retryAfterSeconds));
      return challengePage(request, reply, next, throttledMessage(verdict.retryAfterSeconds), 429);
    }
    const code = form.success ? form.data.code.trim() : '';
    let error: string | null = null;
    if (looksLikeRecoveryCode(code)) {
      if (await mfa.useRecoveryCode(user.userId, code)) {
        const left = (await mfa.status(user.userId)).recoveryCodesLeft;
        await audit(db, request, user, { action: 'auth.recovery_code_used', outcome: 'success', details: { remaining: left } });
      } else {
        error = 'That recovery code is not valid or was already used.';
        await audit(db, request, user, { action: 'auth.mfa_failed', outcome: 'failure', reason: 'invalid recovery code' });
      }
    } else {
      const result = await mfa.verifyTotp(user.userId, code);
      if (result === 'ok') {
        await audit(db, request, user, { action: 'auth.mfa_verified', outcome: 'success' });
      } else if (result === 'reused') {
        error = 'That code was already used. Wait for your app to show the next one.';
        await audit(db, request, user, { action: 'auth.mfa_failed', outcome: 'denied', reason: 'code reused' });
      } else {
        error = 'That code is not correct. Check that your device’s clock is right.';
        await audit(db, request, user, { action: 'auth.mfa_failed', outcome: 'failure', reason: 'wrong code' });
      }
    }
    if (error) {
      await verdict.reservation.failed();
      return challengePage(request, reply, next, error, 401);
    }
    await verdict.reservation.succeeded();
    await throttle.clear('mfa', user.userId);
    const pendingId = request.cookies[name];
    if (pendingId) await sessions.destroy(pendingId);
    // A password someone else chose is replaced next, before the session grants anything.
    if (await passwordMustChange(db, user.userId)) return startPending(deps, reply, user.userId, 'password-change', next);
    await finishSignIn(deps, request, reply, user, true);
    return reply.redirect(next, 303);
  });

  async function enrollPage(
    request: FastifyRequest,
    reply: FastifyReply,
    view: { userId: string; email: string; csrfToken: string; action: string; next: string | null; forced: boolean; error: string | null },
    status = 200,
  ) {
    const key = await mfa.enrollmentKey(view.userId);
    const uri = otpauthUri(key, view.email);
    const body = renderMfaEnrollBody({
      csrfToken: view.csrfToken,
      action: view.action,
      next: view.next,
      secret: groupSecret(key),
      uri,
      qr: await qrFor(uri),
      error: view.error,
      forced: view.forced,
    });
    return sendPage(request, reply, secret, { title: 'Set up two-step verification', body, status });
  }

  function codesPage(request: FastifyRequest, reply: FastifyReply, codes: string[], continueHref: string, enrolled: boolean) {
    const body = renderRecoveryCodesBody({
      codes,
      title: enrolled ? 'Two-step verification is on' : 'New recovery codes',
      lead: enrolled
        ? 'If you lose your device, sign in with one of these recovery codes instead of an app code.'
        : 'Your previous recovery codes no longer work.',
      continueHref,
      continueLabel: enrolled ? 'I saved my codes — continue' : 'Back to security settings',
    });
    reply.header('cache-control', 'no-store');
    return sendPage(request, reply, secret, { title: 'Recovery codes', body });
  }

  // Enrollment forced by an organization's "require MFA" setting: the only page such a session reaches.
  app.get<{ Querystring: { next?: string } }>('/login/mfa/enroll', { config: { access: 'public' } }, async (request, reply) => {
    const next = safeNext(request.query.next);
    const session = await pendingSession(request, 'mfa-enrollment');
    if (!session) return reply.redirect(`/login?next=${encodeURIComponent(next)}`, 303);
    const csrfToken = loginCsrfToken(request, reply, secret, secure);
    const { userId, email } = session.actor;
    return enrollPage(request, reply, { userId, email, csrfToken, action: '/login/mfa/enroll', next, forced: true, error: null });
  });

  app.post('/login/mfa/enroll', { config: { access: 'public', csrf: 'signed-out-form' } }, async (request, reply) => {
    const form = codeForm.safeParse(request.body ?? {});
    const next = safeNext(form.success ? form.data.next : undefined);
    const session = await pendingSession(request, 'mfa-enrollment');
    if (!session) return reply.redirect(`/login?next=${encodeURIComponent(next)}`, 303);
    const user = { userId: session.actor.userId, email: session.actor.email };
    const verdict = await throttle.attempt({ mfa: user.userId });
    const codes = verdict.blocked ? null : await mfa.confirmEnrollment(user.userId, form.success ? form.data.code : '');
    if (!verdict.blocked) await (codes ? verdict.reservation.succeeded() : verdict.reservation.failed());
    if (!codes) {
      const csrfToken = loginCsrfToken(request, reply, secret, secure);
      const error = verdict.blocked ? throttledMessage(verdict.retryAfterSeconds) : 'That code is not correct. Enter the code your app shows now.';
      return enrollPage(request, reply, { ...user, csrfToken, action: '/login/mfa/enroll', next, forced: true, error }, verdict.blocked ? 429 : 400);
    }
    await audit(db, request, user, { action: 'auth.mfa_enrolled', outcome: 'success', details: { forced: true } });
    const pendingId = request.cookies[name];
    if (pendingId) await sessions.destroy(pendingId);
    await finishSignIn(deps, request, reply, user, true);
    return codesPage(request, reply, codes, next, true);
  });

  app.get<{ Querystring: { notice?: string } }>('/-/account/security', { config: { access: 'policy' } }, async (request, reply) => {
    const session = requireSession(request);
    const status = await mfa.status(session.actor.userId);
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

  app.get('/-/account/security/enroll', { config: { access: 'policy' } }, async (request, reply) => {
    const session = requireSession(request);
    if (await mfa.isEnrolled(session.actor.userId)) return reply.redirect('/-/account/security', 303);
    if (!ensureRecentAuth(request, reply, '/-/account/security/enroll')) return reply;
    const { userId, email } = session.actor;
    const csrfToken = sessionCsrfToken(secret, session.idHash);
    return enrollPage(request, reply, { userId, email, csrfToken, action: '/-/account/security/enroll', next: null, forced: false, error: null });
  });

  app.post('/-/account/security/enroll', { config: { access: 'policy' } }, async (request, reply) => {
    const session = requireSession(request);
    if (!ensureRecentAuth(request, reply, '/-/account/security/enroll')) return reply;
    const user = { userId: session.actor.userId, email: session.actor.email };
    const form = codeForm.safeParse(request.body ?? {});
    const verdict = await throttle.attempt({ mfa: user.userId });
    const codes = verdict.blocked ? null : await mfa.confirmEnrollment(user.userId, form.success ? form.data.code : '');
    if (!verdict.blocked) await (codes ? verdict.reservation.succeeded() : verdict.reservation.failed());
    if (!codes) {
      const csrfToken = sessionCsrfToken(secret, session.idHash);
      const error = verdict.blocked ? throttledMessage(verdict.retryAfterSeconds) : 'That code is not correct. Enter the code your app shows now.';
      return enrollPage(request, reply, { ...user, csrfToken, action: '/-/account/security/enroll', next: null, forced: false, error }, verdict.blocked ? 429 : 400);
    }
    await audit(db, request, user, { action: 'auth.mfa_enrolled', outcome: 'success', details: { forced: false } });
    return codesPage(request, reply, codes, '/-/account/security?notice=enrolled', true);
  });

  app.post('/-/account/security/recovery-codes', { config: { access: 'policy' } }, async (request, reply) => {
    const session = requireSession(request);
    if (!(await mfa.isEnrolled(session.actor.userId))) return reply.redirect('/-/account/security', 303);
    if (!ensureRecentAuth(request, reply, '/-/account/security')) return reply;
    const codes = await mfa.regenerateRecoveryCodes(session.actor.userId);
    await audit(db, request, session.actor, { action: 'auth.recovery_codes_regenerated', outcome: 'success' });
    return codesPage(request, reply, codes, '/-/account/security', false);
  });

  app.post('/-/account/security/disable', { config: { access: 'policy' } }, async (request, reply) => {
    const session = requireSession(request);
    if (!ensureRecentAuth(request, reply, '/-/account/security')) return reply;
    if (await mfaRequiredFor(db, session.actor.userId)) {
      throw new ConflictError('Your organization requires two-step verification, so it cannot be turned off.');
    }
    await mfa.disable(session.actor.userId);
    await audit(db, request, session.actor, { action: 'auth.mfa_disabled', outcome: 'success' });
    return reply.redirect('/-/account/security?notice=disabled', 303);
  });

  function reauthPage(request: FastifyRequest, reply: FastifyReply, session: Session, view: { next: string; needsCode: boolean; error: string | null }, status = 200) {
    const body = renderReauthBody({ csrfToken: sessionCsrfToken(secret, session.idHash), ...view });
    return sendPage(request, reply, secret, { title: 'Confirm it’s you', body, status });
  }

  app.get<{ Querystring: { next?: string } }>('/-/reauth', { config: { access: 'policy' } }, async (request, reply) => {
    const session = requireSession(request);
    const next = safeNext(request.query.next);
    return reauthPage(request, reply, session, { next, needsCode: await mfa.isEnrolled(session.actor.userId), error: null });
  });

  app.post('/-/reauth', { config: { access: 'policy' } }, async (request, reply) => {
    const session = requireSession(request);
    const form = reauthForm.safeParse(request.body ?? {});
    const next = safeNext(form.success ? form.data.next : undefined);
    const { userId, email } = session.actor;
    const needsCode = await mfa.isEnrolled(userId);
    const subjects = { account: email, address: request.ip, ...(needsCode ? { mfa: userId } : {}) };
    const verdict = await throttle.attempt(subjects);
    if (verdict.blocked) {
      reply.header('retry-after', String(verdict.retryAfterSeconds));
      return reauthPage(request, reply, session, { next, needsCode, error: throttledMessage(verdict.retryAfterSeconds) }, 429);
    }
    const user = form.success ? await authenticate(db, email, form.data.password) : null;
    let ok = user !== null && user.id === userId;
    let reason = 'wrong password';
    if (ok && needsCode) {
      const result = await mfa.verifyTotp(userId, form.success ? form.data.code : '');
      ok = result === 'ok';
      reason = result === 'reused' ? 'code reused' : 'wrong code';
    }
    if (!ok) {
      await verdict.reservation.failed();
      await audit(db, request, session.actor, { action: 'auth.reauthentication_failed', outcome: 'failure', reason });
      // Only reached with the right password, so saying the code was spent tells an attacker nothing new.
      const error =
        reason === 'code reused'
          ? 'That code was already used. Wait for your app to show the next one.'
          : needsCode
            ? 'Password or code is incorrect.'
            : 'Password is incorrect.';
      return reauthPage(request, reply, session, { next, needsCode, error }, 401);
    }
    await verdict.reservation.succeeded();
    await sessions.markReauthenticated(session);
    return reply.redirect(next, 303);
  });

  app.get('/-/account/security/password', { config: { access: 'policy' } }, async (request, reply) => {
    const session = requireSession(request);
    const body = renderChangePasswordBody({ csrfToken: sessionCsrfToken(secret, session.idHash), error: null });
    return sendPage(request, reply, secret, { title: 'Change password', body });
  });

  app.post('/-/account/security/password', { config: { access: 'policy' } }, async (request, reply) => {
    const session = requireSession(request);
    const form = passwordForm.safeParse(request.body ?? {});
    const { userId, email } = session.actor;
    const subjects = { account: email, address: request.ip };
    const page = (error: string, status: number) =>
      sendPage(request, reply, secret, {
        title: 'Change password',
        body: renderChangePasswordBody({ csrfToken: sessionCsrfToken(secret, session.idHash), error }),
        status,
      });
    const verdict = await throttle.attempt(subjects);
    if (verdict.blocked) return page(throttledMessage(verdict.retryAfterSeconds), 429);
    const user = form.success ? await authenticate(db, email, form.data.current) : null;
    if (!user || user.id !== userId) {
      await verdict.reservation.failed();
      return page('Your current password is incorrect.', 401);
    }
    await verdict.reservation.succeeded();
    let hash: string;
    try {
      hash = await hashPassword(form.success ? form.data.password : '');
    } catch (error) {
      if (error instanceof AppError && error.status === 400) return page(error.message, 400);
      throw error;
    }
    await db.updateTable('users').set({ password_hash: hash }).where('id', '=', userId).execute();
    // Every other session ends; this browser continues in a fresh one.
    await sessions.destroyAllFor(userId);
    const { id, session: fresh } = await sessions.create(userId, { reauthenticated: true });
    setCookie(reply, name, id, { secure, sameSite: 'lax', maxAgeSeconds: Math.round((fresh.expiresAt - fresh.createdAt) / 1000) });
    await audit(db, request, session.actor, { action: 'auth.password_changed', outcome: 'success' });
    return reply.redirect('/-/account/security?notice=password', 303);
  });
}
