import type { FastifyRequest } from 'fastify';
import type { UserActor } from '../access/actor.ts';
import type { Throttle } from '../auth/throttle.ts';
import { verifyToken } from '../auth/tokens.ts';
import type { Db } from '../db/connection.ts';
import { NotAuthenticatedError, TooManyRequestsError } from '../errors.ts';

/** The challenge git and API clients get with a 401 (git then asks for a username and a token). */
export const TOKEN_CHALLENGE = 'Basic realm="DocuCommit", charset="UTF-8"';

const MESSAGE = 'A personal access token is required.';

/**
 * The credential an API or git request presents: `Authorization: Bearer <token>`, or HTTP Basic with any
 * username and the token as the password (what git sends). Nothing else counts: a token in the query string
 * is ignored (URLs end up in logs, history and Referer headers), and so are cookies.
 */
export function presentedToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return null;
  const [scheme, value, ...rest] = header.trim().split(/\s+/);
  if (!scheme || !value || rest.length > 0) return null;
  if (scheme.toLowerCase() === 'bearer') return value;
  if (scheme.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) : null;
  }
  return null;
}

/**
 * Authenticate an API or git request by personal access token and return its actor (with `via` set to the
 * token and its scopes). Throws NotAuthenticatedError for a missing, malformed, unknown, expired or revoked
 * token, or a disabled owner. An account password sent as the Basic password is refused like any other
 * non-token: passwords (and so MFA) are for the browser sign-in only.
 */
export async function authenticateByToken(request: FastifyRequest, db: Db): Promise<UserActor> {
  const token = presentedToken(request);
  if (token === null) throw new NotAuthenticatedError(MESSAGE);
  const actor = await verifyToken(db, token);
  if (!actor) throw new NotAuthenticatedError('The token is invalid, expired or revoked.');
  return actor;
}

/** Whether the request carries any credentials at all (git's first request of a clone or push does not). */
export function presentsCredentials(request: FastifyRequest): boolean {
  const header = request.headers.authorization;
  return typeof header === 'string' && header.trim() !== '';
}

/** Too many bad credentials from this client address: refused (429) until the window passes. */
export class CredentialsThrottledError extends TooManyRequestsError {
  constructor(retryAfterSeconds: number) {
    super(`Too many failed authentication attempts from your address. Try again in ${Math.max(1, Math.ceil(retryAfterSeconds / 60))} minutes.`, retryAfterSeconds);
  }
}

/**
 * `authenticateByToken` behind a throttle on the client address (scope 'git-address'): while the address is
 * blocked every request is refused with CredentialsThrottledError, whatever it carries (a valid token too);
 * otherwise a request that presents credentials which do not authenticate is counted as a failure. A request
 * without any Authorization header (the probe git sends to get the 401 challenge) is never counted.
 * `onBlocked` runs once, when a failure starts a block (for the audit log; it never sees the credential).
 */
export async function authenticateByTokenThrottled(
  request: FastifyRequest,
  db: Db,
  throttle: Throttle,
  onBlocked: (retryAfterSeconds: number) => Promise<void>,
): Promise<UserActor> {
  const subjects = { 'git-address': request.ip };
  const verdict = await throttle.check(subjects);
  if (verdict.blocked) throw new CredentialsThrottledError(verdict.retryAfterSeconds);
  try {
    return await authenticateByToken(request, db);
  } catch (error) {
    if (!(error instanceof NotAuthenticatedError) || !presentsCredentials(request)) throw error;
    await throttle.recordFailure(subjects);
    const after = await throttle.check(subjects);
    if (after.blocked) await onBlocked(after.retryAfterSeconds);
    throw error;
  }
}
