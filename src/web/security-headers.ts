import type { FastifyInstance } from 'fastify';

/**
 * Content-Security-Policy: no inline script or style anywhere, no framing. `styleNonce` (the editor page only)
 * also allows <style> elements carrying that per-response nonce, which CodeMirror inserts at run time.
 */
export const contentSecurityPolicy = (options: { styleNonce?: string } = {}): string => [
  "default-src 'none'",
  "script-src 'self'",
  options.styleNonce ? `style-src 'self' 'nonce-${options.styleNonce}'` : "style-src 'self'",
  "img-src 'self' https:",
  "font-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join('; ');

/** The policy of every response. */
export const CONTENT_SECURITY_POLICY = contentSecurityPolicy();

/** Add the security headers to every response (HSTS only when served over https). */
export function registerSecurityHeaders(app: FastifyInstance, options: { secure: boolean }): void {
  const headers: Record<string, string> = {
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'same-origin',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=(), interest-cohort=()',
  };
  if (options.secure) headers['strict-transport-security'] = 'max-age=63072000; includeSubDomains';
  app.addHook('onRequest', async (_request, reply) => {
    reply.headers(headers);
  });
}
