import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ForbiddenError } from '../errors.ts';
import { cookieNames, setCookie } from './cookies.ts';

/**
 * CSRF protection for every state-changing request:
 *  - signed in: the token is an HMAC of the session (synchronizer token bound to the session);
 *  - signed out (the login form): a random value in a SameSite=Strict cookie, and its HMAC in the form.
 * A request whose Origin header names another site is refused before the token is even checked.
 */
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const mac = (secret: Buffer, purpose: string, value: string) =>
  createHmac('sha256', secret).update(`${purpose}:${value}`).digest('base64url');

/** Session tokens computed so far, by session id hash (an HMAC per signed-in page was ~3 % of its CPU). */
const sessionTokens = new Map<string, { secret: Buffer; token: string }>();
const SESSION_TOKENS_MAX = 10_000;

/** The CSRF token for a signed-in session (an HMAC of the session, remembered: it never changes for a session). */
export function sessionCsrfToken(secret: Buffer, sessionIdHash: string): string {
  const known = sessionTokens.get(sessionIdHash);
  if (known !== undefined && known.secret === secret) return known.token;
  const token = mac(secret, 'session', sessionIdHash);
  if (sessionTokens.size >= SESSION_TOKENS_MAX) sessionTokens.clear();
  sessionTokens.set(sessionIdHash, { secret, token });
  return token;
}

/** The CSRF token for a signed-out form; sets the cookie it is bound to when missing. */
export function loginCsrfToken(request: FastifyRequest, reply: import('fastify').FastifyReply, secret: Buffer, secure: boolean) {
  const name = cookieNames(secure).loginCsrf;
  let value = request.cookies[name];
  if (!value || value.length < 20) {
    value = randomBytes(24).toString('base64url');
    setCookie(reply, name, value, { secure, sameSite: 'strict' });
  }
  return mac(secret, 'login', value);
}

function expectedToken(request: FastifyRequest, secret: Buffer, secure: boolean): string | null {
  const signedOutForm = request.routeOptions.config.csrf === 'signed-out-form';
  if (request.session && !signedOutForm) return sessionCsrfToken(secret, request.session.idHash);
  const cookie = request.cookies[cookieNames(secure).loginCsrf];
  return cookie ? mac(secret, 'login', cookie) : null;
}

function sameToken(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Check Origin and the CSRF token on every state-changing request (routes may opt out: git smart HTTP). */
export function registerCsrfProtection(app: FastifyInstance, options: { secret: Buffer; secure: boolean }): void {
  // A callback hook (a refusal is thrown, which Fastify turns into the error as from an async hook): every GET
  // passes without a promise.
  app.addHook('preHandler', (request, _reply, done) => {
    if (!STATE_CHANGING.has(request.method) || request.routeOptions.config.csrf === false) return done();
    const origin = request.headers.origin;
    if (origin !== undefined && !isSameOrigin(origin, request)) throw new ForbiddenError('Cross-site request refused.');
    const body = request.body as Record<string, unknown> | undefined;
    const sent = (typeof body?._csrf === 'string' ? body._csrf : undefined) ?? request.headers['x-csrf-token'];
    const expected = expectedToken(request, options.secret, options.secure);
    if (typeof sent !== 'string' || !expected || !sameToken(sent, expected)) {
      throw new ForbiddenError('The form expired or came from another site. Reload the page and try again.');
    }
    done();
  });
}

function isSameOrigin(origin: string, request: FastifyRequest): boolean {
  try {
    return new URL(origin).host === request.host;
  } catch {
    return false;
  }
}
