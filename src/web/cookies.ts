import type { FastifyReply } from 'fastify';

/** Cookie names and attributes. Over https the `__Host-` prefix pins cookies to this host, Secure, path /. */
export interface CookieNames {
  session: string;
  loginCsrf: string;
}

export function cookieNames(secure: boolean): CookieNames {
  return secure
    ? { session: '__Host-dc_session', loginCsrf: '__Host-dc_csrf' }
    : { session: 'dc_session', loginCsrf: 'dc_csrf' };
}

/** Set an httpOnly cookie with the attributes every DocuCommit cookie shares. */
export function setCookie(
  reply: FastifyReply,
  name: string,
  value: string,
  options: { secure: boolean; sameSite: 'lax' | 'strict'; maxAgeSeconds?: number },
): void {
  reply.setCookie(name, value, {
    path: '/',
    httpOnly: true,
    secure: options.secure,
    sameSite: options.sameSite,
    ...(options.maxAgeSeconds !== undefined ? { maxAge: options.maxAgeSeconds } : {}),
  });
}

/** Remove a cookie set by setCookie. */
export function clearCookie(reply: FastifyReply, name: string, secure: boolean): void {
  reply.clearCookie(name, { path: '/', httpOnly: true, secure });
}
