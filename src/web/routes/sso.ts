import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { UserActor } from '../../access/actor.ts';
import { authorize } from '../../access/authorize.ts';
import { ensureRecentAuth, hasRecentAuth } from '../../auth/reauth.ts';
import type { SessionStore } from '../../auth/sessions.ts';
import {
  connectionAsFormValues,
  parseSsoSettingsForm,
  PROVIDER_ROLES,
  ssoFormValues,
  SsoSettingsValidationError,
} from '../../auth/sso/connection-settings.ts';
import { SsoReauthenticationRefusedError } from '../../auth/sso/reauthentication.ts';
import { SsoSignInRefusedError, type SsoSignIn } from '../../auth/sso/sign-in.ts';
import type { SsoSettings } from '../../auth/sso/sso-settings.ts';
import { clearCookie, cookieNames, setCookie } from '../cookies.ts';
import { loginCsrfToken, sessionCsrfToken } from '../csrf.ts';
import { redirectToLogin, sendNotFound } from '../error-handler.ts';
import { sendPage } from '../page.ts';
import {
  renderSsoContinueBody,
  renderSsoReauthRefusedBody,
  renderSsoRefusedBody,
  renderSsoSettingsBody,
  renderSsoStartBody,
  type SsoSettingsView,
} from '../views/sso.tsx';
import { safeNext } from './auth.ts';

interface Deps {
  sessions: SessionStore;
  sso: SsoSignIn;
  settings: SsoSettings;
  secret: Buffer;
  secure: boolean;
  /** The public base URL; without it the redirect URI is derived from the request's host (development, tests). */
  publicUrl: string | null;
}

type Organization = { id: string; slug: string; name: string };

export const SSO_CALLBACK_PATH = '/login/sso/callback';
/** A begun sign-in lives ten minutes: the browser binding cookie lives as long. */
const BROWSER_KEY_MAX_AGE_SECONDS = 10 * 60;

/** The organization and the way back: the sign-in's start form, and the re-authentication's "Continue with …". */
const startForm = z.object({ org: z.string().max(100).default(''), next: z.string().max(2048).optional() });

/** `?done=` notices: fixed keys, never reflected text. */
const NOTICES: Record<string, string> = { saved: 'Single sign-on settings saved.', unchanged: 'Nothing changed.' };

/**
 * Single sign-on with the organization's OpenID Connect provider (auth/sso/): the start page and its form,
 * re-authentication through the provider ("Continue with …" on /-/reauth), the provider's redirect back (the
 * callback, shared by both), and the organization's SSO settings page.
 */
export function registerSsoRoutes(app: FastifyInstance, deps: Deps): void {
  const { sessions, secret, secure, sso, settings } = deps;
  const names = cookieNames(secure);
  // Binds a begun sign-in to this browser: httpOnly, SameSite=Lax (the provider's redirect back is a cross-site
  // top-level GET, which Lax lets through and Strict would not), ten minutes.
  const browserCookie = secure ? '__Host-dc_sso' : 'dc_sso';

  // Normalized as a URL (no default port): the authorization request and the code redemption send the same string.
  const redirectUri = (request: FastifyRequest) =>
    new URL(`${deps.publicUrl ? deps.publicUrl.replace(/\/+$/, '') : `${request.protocol}://${request.host}`}${SSO_CALLBACK_PATH}`).href;

  function startPage(request: FastifyRequest, reply: FastifyReply, view: { org: string; next: string; error: string | null }, status = 200) {
    const csrfToken = loginCsrfToken(request, reply, secret, secure);
    return sendPage(request, reply, secret, { title: 'Sign in with SSO', body: renderSsoStartBody({ csrfToken, ...view }), status });
  }

  app.get<{ Querystring: { next?: string; org?: string } }>('/login/sso', { config: { access: 'public' } }, async (request, reply) => {
    const next = safeNext(request.query.next);
    if (request.session) return reply.redirect(next, 303);
    return startPage(request, reply, { org: (request.query.org ?? '').slice(0, 100), next, error: null });
  });

  app.post('/login/sso', { config: { access: 'public', csrf: 'signed-out-form' } }, async (request, reply) => {
    const form = startForm.safeParse(request.body ?? {});
    const org = form.success ? form.data.org.trim() : '';
    const next = safeNext(form.success ? form.data.next : undefined);
    // One binding per browser, kept across tabs: a second sign-in begun elsewhere does not break the first.
    let browserKey = request.cookies[browserCookie];
    if (!browserKey || !/^[A-Za-z0-9_-]{43}$/.test(browserKey)) browserKey = randomBytes(32).toString('base64url');
    try {
      const target = await sso.begin({ orgSlug: org, next, browserKey, redirectUri: redirectUri(request) });
      setCookie(reply, browserCookie, browserKey, { secure, sameSite: 'lax', maxAgeSeconds: BROWSER_KEY_MAX_AGE_SECONDS });
      // Not a redirect: a form's redirect to another origin is refused by the page's CSP (form-action 'self'), so
      // a page with a link and a Refresh header (a new navigation, not the form's) leads to the provider.
      reply.header('refresh', `0;url=${target.href}`);
      const body = renderSsoContinueBody({ href: target.href, host: target.host });
      return sendPage(request, reply, secret, { title: 'Continue to your identity provider', body, noStore: true });
    } catch (error) {
      if (!(error instanceof SsoSignInRefusedError)) throw error;
      return startPage(request, reply, { org, next, error: error.message }, error.status === 404 ? 400 : error.status);
    }
  });

  // Re-authentication of the signed-in person through a provider linked to them (prompt=login, max_age=0): the
  // flow is bound to this session, not to a browser cookie. Led to the provider like a sign-in (CSP form-action).
  app.post('/-/reauth/sso', { config: { access: 'policy' } }, async (request, reply) => {
    const session = request.session;
    if (!session || request.actor.kind !== 'user' || request.actor.via) return redirectToLogin(request, reply);
    const form = startForm.safeParse(request.body ?? {});
    const next = safeNext(form.success ? form.data.next : undefined);
    try {
      const target = await sso.reauthentication.begin({ session, orgSlug: form.success ? form.data.org : '', next, redirectUri: redirectUri(request) });
      reply.header('refresh', `0;url=${target.href}`);
      const body = renderSsoContinueBody({ href: target.href, host: target.host, purpose: 'reauthentication' });
      return sendPage(request, reply, secret, { title: 'Continue to your identity provider', body, noStore: true });
    } catch (error) {
      if (!(error instanceof SsoReauthenticationRefusedError)) throw error;
      const body = renderSsoReauthRefusedBody({ message: error.message, retry: error.retry });
      return sendPage(request, reply, secret, { title: 'Your identity was not confirmed', body, status: error.status === 404 ? 400 : error.status });
    }
  });

  app.get(SSO_CALLBACK_PATH, { config: { access: 'public' } }, async (request, reply) => {
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
    const callbackUrl = new URL(`${redirectUri(request)}${query}`);
    reply.header('cache-control', 'no-store');
    try {
      const done = await sso.complete({
        callbackUrl,
        browserKey: request.cookies[browserCookie],
        session: request.session,
        audit: { requestId: String(request.id), ip: request.ip },
      });
      // A re-authentication: the session was marked; back to the page that asked for it (same-site paths only).
      if (done.kind === 'reauthenticated') return reply.redirect(safeNext(done.next), 303);
      const { id, session, next } = done;
      // Any session id the browser brought is ended: a planted id is never promoted.
      const planted = request.cookies[names.session];
      if (planted) await sessions.destroy(planted);
      setCookie(reply, names.session, id, { secure, sameSite: 'lax', maxAgeSeconds: Math.round((session.expiresAt - session.createdAt) / 1000) });
      clearCookie(reply, names.loginCsrf, secure);
      return reply.redirect(safeNext(next), 303);
    } catch (error) {
      if (error instanceof SsoReauthenticationRefusedError) {
        const body = renderSsoReauthRefusedBody({ message: error.message, retry: error.retry });
        return sendPage(request, reply, secret, { title: 'Your identity was not confirmed', body, status: error.status === 404 ? 400 : error.status });
      }
      if (!(error instanceof SsoSignInRefusedError)) throw error;
      const body = renderSsoRefusedBody({ message: error.message, org: null, next: '/' });
      return sendPage(request, reply, secret, { title: 'Single sign-on did not work', body, status: error.status === 404 ? 400 : error.status });
    }
  });

  // --- the organization's settings -------------------------------------------------------------------------

  const settingsUrl = (org: Organization) => `/${encodeURIComponent(org.slug)}/-/settings/sso`;

  /** The organization and actor, or null after answering: sign-in for anonymous and token requests, else 404. */
  async function resolve(request: FastifyRequest<{ Params: { org: string } }>, reply: FastifyReply): Promise<{ org: Organization; actor: UserActor } | null> {
    const actor = request.actor;
    if (actor.kind !== 'user' || actor.via || !request.session) {
      await redirectToLogin(request, reply);
      return null;
    }
    const org = await settings.organization(request.params.org);
    if (!org) {
      await sendNotFound(request, reply, secret);
      return null;
    }
    // Not a member: 404; a member below admin: 403 (the page exists for every organization).
    authorize(actor, request.method === 'GET' ? 'read' : 'manage', { kind: 'sso-connection', orgId: org.id }, 'Only admins and owners manage single sign-on.');
    return { org, actor };
  }

  async function sendSettings(
    request: FastifyRequest,
    reply: FastifyReply,
    org: Organization,
    extra: { values?: SsoSettingsView['values']; notice?: string | null; error?: string | null; fieldErrors?: SsoSettingsView['fieldErrors'] } = {},
    status = 200,
  ) {
    const connection = await settings.connection(org.id);
    const view: SsoSettingsView = {
      csrfToken: sessionCsrfToken(secret, request.session!.idHash),
      orgSlug: org.slug,
      orgName: org.name,
      redirectUri: redirectUri(request),
      values: extra.values ?? connectionAsFormValues(connection),
      hasSecret: connection !== null,
      owners: await settings.owners(org.id),
      roles: PROVIDER_ROLES,
      notice: extra.notice ?? null,
      error: extra.error ?? null,
      fieldErrors: extra.fieldErrors ?? {},
      recentlyAuthenticated: hasRecentAuth(request),
    };
    return sendPage(request, reply, secret, { title: `Single sign-on · ${org.name}`, body: renderSsoSettingsBody(view), status });
  }

  app.get<{ Params: { org: string }; Querystring: { done?: string } }>('/:org/-/settings/sso', { config: { access: 'policy' } }, async (request, reply) => {
    const ctx = await resolve(request, reply);
    if (!ctx) return reply;
    return sendSettings(request, reply, ctx.org, { notice: NOTICES[request.query.done ?? ''] ?? null });
  });

  app.post<{ Params: { org: string } }>('/:org/-/settings/sso', { config: { access: 'policy' } }, async (request, reply) => {
    const ctx = await resolve(request, reply);
    if (!ctx) return reply;
    // Who may sign in, and whether passwords still work: a recent password (and TOTP) confirmation first.
    if (!ensureRecentAuth(request, reply, settingsUrl(ctx.org))) return reply;
    const hasSecret = (await settings.connection(ctx.org.id)) !== null;
    try {
      const input = parseSsoSettingsForm(request.body ?? {}, hasSecret);
      const changed = await settings.save(ctx.actor, ctx.org.id, input, { requestId: String(request.id), ip: request.ip });
      reply.header('cache-control', 'no-store');
      return reply.redirect(`${settingsUrl(ctx.org)}?done=${changed.length > 0 ? 'saved' : 'unchanged'}`, 303);
    } catch (error) {
      if (!(error instanceof SsoSettingsValidationError)) throw error;
      const values = { ...connectionAsFormValues(null), ...ssoFormValues(request.body ?? {}) };
      return sendSettings(request, reply, ctx.org, { values, error: error.message, fieldErrors: error.fieldErrors }, 400);
    }
  });
}
