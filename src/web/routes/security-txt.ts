import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config/config.ts';

/** How far ahead security.txt's Expires lies (RFC 9116 asks for less than a year). */
const EXPIRES_DAYS = 180;

/** The Contact URIs security.txt names: the configured ones, else security@ the public host. */
export function securityContacts(config: Pick<Config, 'securityContact' | 'publicUrl'>): string[] {
  if (config.securityContact) return config.securityContact.split(',').map((uri) => uri.trim());
  const host = config.publicUrl ? new URL(config.publicUrl).hostname : 'localhost';
  return [`mailto:security@${host}`];
}

/** security.txt (RFC 9116), `now` being the time of the request. */
export function securityTxt(config: Pick<Config, 'securityContact' | 'publicUrl'>, now: number): string {
  const today = new Date(now);
  today.setUTCHours(0, 0, 0, 0);
  const expires = new Date(today.getTime() + EXPIRES_DAYS * 24 * 60 * 60 * 1000).toISOString().replace('.000Z', 'Z');
  const lines = securityContacts(config).map((uri) => `Contact: ${uri}`);
  lines.push(`Expires: ${expires}`, 'Preferred-Languages: en');
  if (config.publicUrl) lines.push(`Canonical: ${new URL('/.well-known/security.txt', config.publicUrl).href}`);
  return lines.join('\n') + '\n';
}

/** /.well-known/security.txt: where to report vulnerabilities, open to anyone by design. */
export function registerSecurityTxtRoute(app: FastifyInstance, deps: { config: Config; now: () => number }): void {
  app.get('/.well-known/security.txt', { config: { access: 'public' } }, async (_request, reply) =>
    reply
      .type('text/plain; charset=utf-8')
      .header('cache-control', 'public, max-age=86400')
      .send(securityTxt(deps.config, deps.now())),
  );
}
