import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, NotAuthenticatedError } from '../errors.ts';

/** How long a re-authentication counts as recent for sensitive actions. */
export const REAUTH_MAX_AGE_MS = 10 * 60 * 1000;

/** The page that asks for the password (and a TOTP code when enrolled) or a sign-in at a linked identity provider again, returning to `next`. */
export function reauthUrl(next: string): string {
  return `/-/reauth?next=${encodeURIComponent(next)}`;
}

/** A sensitive action was asked for without a recent re-authentication (HTTP 401). */
export class ReauthenticationRequiredError extends AppError {
  constructor(readonly location: string) {
    super('Confirm it’s you (your password, or your identity provider) to continue.', 401, 'reauthentication_required');
  }
}

/** Whether the request's session proved the password (and TOTP when enrolled) within `maxAgeMs`. */
export function hasRecentAuth(request: FastifyRequest, maxAgeMs = REAUTH_MAX_AGE_MS, now = Date.now()): boolean {
  const at = request.session?.reauthenticatedAt ?? null;
  return at !== null && now - at >= 0 && now - at < maxAgeMs;
}

/**
 * For page handlers: true when the re-authentication is recent; otherwise redirects (303) to the
 * re-authentication page, which returns to `next`, and returns false.
 */
export function ensureRecentAuth(request: FastifyRequest, reply: FastifyReply, next: string, maxAgeMs = REAUTH_MAX_AGE_MS): boolean {
  if (!request.session) throw new NotAuthenticatedError();
  if (hasRecentAuth(request, maxAgeMs)) return true;
  void reply.redirect(reauthUrl(next), 303);
  return false;
}
