import type { FastifyInstance, FastifyReply } from 'fastify';

/** Images: this server and inline `data:` URLs. Any other host would learn who reads which page, and when. */
const IMAGE_SOURCES = "img-src 'self' data:";

/**
 * Content-Security-Policy: no inline script or style anywhere, no framing of our pages (only our own diagram
 * frame in them), images only from this server (and
 * `data:`). `styleNonce` (the editor page only) also allows <style> elements carrying that per-response nonce,
 * which CodeMirror inserts at run time. An organization may allow further image hosts (`withImageHosts`).
 */
export const contentSecurityPolicy = (options: { styleNonce?: string } = {}): string => [
  "default-src 'none'",
  "script-src 'self'",
  options.styleNonce ? `style-src 'self' 'nonce-${options.styleNonce}'` : "style-src 'self'",
  IMAGE_SOURCES,
  "font-src 'self'",
  "connect-src 'self'",
  // the sandboxed frame that draws Mermaid diagrams (web/diagrams.ts); documents cannot contain frames (sanitizer)
  "frame-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join('; ');

/** The policy of every response. */
export const CONTENT_SECURITY_POLICY = contentSecurityPolicy();

/** A policy whose images may also come from these https hosts (validated host names: settings.ts). */
export function withImageHosts(policy: string, hosts: readonly string[]): string {
  if (hosts.length === 0) return policy;
  return policy.replace(IMAGE_SOURCES, `${IMAGE_SOURCES} ${hosts.map((host) => `https://${host}`).join(' ')}`);
}

/**
 * Add the security headers to every response (HSTS only when served over https), and `x-request-id`. `imageHostsOf`:
 * the further image hosts of an organization, by slug (a remembered answer as it is, else a promise); applied to the
 * successful answers of routes under `/:org/`, so a page of an organization shows the images its admins allowed, and
 * a refusal looks the same for every slug.
 *
 * Both hooks are callback hooks that finish synchronously when nothing needs waiting for: they run for every
 * response, and the promise and microtask of an async hook showed in the cached page's profile.
 */
export function registerSecurityHeaders(
  app: FastifyInstance,
  options: { secure: boolean; imageHostsOf?: (orgSlug: string) => readonly string[] | Promise<readonly string[]> },
): void {
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
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    reply.headers(headers);
    done();
  });
  const imageHostsOf = options.imageHostsOf;
  if (!imageHostsOf) return;
  const withHosts = (reply: FastifyReply, policy: string, hosts: readonly string[]) => {
    if (hosts.length > 0) reply.header('content-security-policy', withImageHosts(policy, hosts));
  };
  app.addHook('onSend', (request, reply, payload, done) => {
    const slug = (request.params as Record<string, unknown> | undefined)?.org;
    const policy = reply.getHeader('content-security-policy');
    if (reply.statusCode >= 300 || typeof slug !== 'string' || slug === '' || typeof policy !== 'string') return done(null, payload);
    let hosts;
    try {
      hosts = imageHostsOf(slug);
    } catch (error) {
      return done(error as Error);
    }
    if (!(hosts instanceof Promise)) {
      withHosts(reply, policy, hosts);
      return done(null, payload);
    }
    hosts.then(
      (found) => {
        withHosts(reply, policy, found);
        done(null, payload);
      },
      (error: Error) => done(error),
    );
  });
}
