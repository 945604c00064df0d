import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { organizationLinks } from '../../access/view-links.ts';
import type { AccountServices } from '../../auth/commands/index.ts';
import type { EmailCommands } from '../../notifications/commands/index.ts';
import { ensureRecentAuth } from '../../auth/reauth.ts';
import type { Session } from '../../auth/sessions.ts';
import { TOKEN_DEFAULT_DAYS, tokenStatus } from '../../auth/tokens.ts';
import { unseenCount } from '../../audit/security-notices.ts';
import { AppError, NotFoundError } from '../../errors.ts';
import { clearCookie, cookieNames } from '../cookies.ts';
import { sessionCsrfToken } from '../csrf.ts';
import { sendPage } from '../page.ts';
import {
  renderAccountOverviewBody,
  renderAccountSessionsBody,
  renderAccountTokensBody,
  renderNewTokenBody,
  renderNewTokenFormBody,
  type TokenFormValues,
} from '../views/index.ts';
import { renderChangeEmailBody } from '../views/account.tsx';
import { originOf, requireSession } from './account-pages.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The top bar's dot: security events on the user's account since they last viewed them (page.ts). */
    securityNotice: boolean;
  }
}

interface Deps {
  account: AccountServices;
  secret: Buffer;
  secure: boolean;
  /** Email notifications, when configured: the overview shows their form (routes/email.ts handles it). */
  email?: EmailCommands | null;
}

/** Lifetimes offered by the form, in days; the service accepts 1..365. */
const EXPIRY_CHOICES = [7, 30, 90, 365];
const NEW_TOKEN_PATH = '/-/account/tokens/new';
const EMAIL_PATH = '/-/account/email';

const emailForm = z.object({ email: z.string().max(400).default('') });
const OVERVIEW_NOTICES: Record<string, string> = {
  'email-on': 'Email notifications are on.',
  'email-off': 'Email notifications are off. Security notices and password resets are still sent.',
  email: 'Your email address was changed. Sign in with the new address from now on.',
};

const sessionForm = z.object({ session: z.string().min(1).max(100) });
const tokenForm = z.object({
  name: z.string().max(200).default(''),
  access: z.enum(['read', 'write']).default('read'),
  expires: z.coerce.number().int().default(TOKEN_DEFAULT_DAYS),
});

const SESSION_NOTICES: Record<string, string> = {
  revoked: 'The session was signed out.',
  others: 'You were signed out everywhere else.',
};
const TOKEN_NOTICES: Record<string, string> = { revoked: 'The token was revoked. It stops working immediately.' };

/** `/-/account`: overview, sessions (list, revoke), personal access tokens (list, create, revoke). */
export function registerAccountRoutes(app: FastifyInstance, deps: Deps): void {
  const { secret, secure } = deps;
  const { commands, queries } = deps.account;
  const policy = { config: { access: 'policy' as const } };

  // The top bar's dot on signed-in pages (browser sessions only). A failure to look leaves the dot off: it is a
  // pointer to the account page, where the list itself is always read from the database.
  app.decorateRequest('securityNotice', false);
  // A callback hook: requests it does not concern (anonymous, tokens, not GET) pass without a promise.
  app.addHook('preHandler', (request, _reply, done) => {
    const session = request.session;
    if (request.method !== 'GET' || !session || request.actor.kind !== 'user' || request.actor.via) return done();
    queries.hasUnseenSecurityEvents(session.actor.userId, session.createdAt).then(
      (unseen) => {
        request.securityNotice = unseen;
        done();
      },
      (error: unknown) => {
        request.log.error({ err: error, requestId: request.id }, 'security notices unavailable');
        done();
      },
    );
  });

  app.get<{ Querystring: { notice?: string } }>('/-/account', policy, async (request, reply) => {
    const session = requireSession(request);
    const { userId, name, email } = session.actor;
    const [memberships, live, tokens, activity, optedOut] = await Promise.all([
      queries.memberships(userId),
      queries.liveSessions(userId),
      queries.tokens(userId),
      queries.securityActivity(userId),
      deps.email ? deps.email.emailOptedOut(userId) : false,
    ]);
    // Viewing the list is seeing it: the banner shows on this page, the top bar's dot is gone from now on.
    await queries.markSecurityEventsSeen(userId);
    request.securityNotice = false;
    const body = renderAccountOverviewBody({
      name,
      email,
      // which admin pages each organization's row links to: the policy's answer for the role held there now
      memberships: memberships.map(({ orgId, orgName, orgSlug, role }) => ({
        orgName,
        orgSlug,
        role,
        links: organizationLinks({ ...session.actor, memberships: new Map([[orgId, role]]) }, orgId),
      })),
      sessionCount: live.length,
      activeTokenCount: tokens.filter((t) => tokenStatus(t) === 'active').length,
      notice: OVERVIEW_NOTICES[request.query.notice ?? ''] ?? null,
      emailNotifications: deps.email ? { csrfToken: sessionCsrfToken(secret, session.idHash), optedOut } : null,
      security: {
        unseen: unseenCount(activity, session.createdAt),
        events: activity.events.map((e) => ({
          summary: e.summary,
          occurredAt: e.occurredAt.getTime(),
          outcome: e.outcome,
          ip: e.ip,
          isNew: activity.seenAt === null || e.occurredAt > activity.seenAt,
        })),
      },
    });
    return sendPage(request, reply, secret, { title: 'Your account', body });
  });

  app.get<{ Querystring: { notice?: string } }>('/-/account/sessions', policy, async (request, reply) => {
    const session = requireSession(request);
    const live = await queries.liveSessions(session.actor.userId);
    const body = renderAccountSessionsBody({
      csrfToken: sessionCsrfToken(secret, session.idHash),
      sessions: live.map((s) => ({ handle: s.idHash, createdAt: s.createdAt, lastSeenAt: s.lastSeenAt, expiresAt: s.expiresAt, current: s.idHash === session.idHash })),
      notice: SESSION_NOTICES[request.query.notice ?? ''] ?? null,
    });
    return sendPage(request, reply, secret, { title: 'Sessions', body });
  });

  app.post('/-/account/sessions/revoke', policy, async (request, reply) => {
    const session = requireSession(request);
    const form = sessionForm.safeParse(request.body ?? {});
    // Someone else's session, or one that no longer exists: the same 404.
    if (!form.success) throw new NotFoundError();
    const { endedCurrent } = await commands.endSession(request.actor, { session, handle: form.data.session, origin: originOf(request) });
    reply.header('cache-control', 'no-store');
    if (endedCurrent) {
      clearCookie(reply, cookieNames(secure).session, secure);
      return reply.redirect('/login', 303);
    }
    return reply.redirect('/-/account/sessions?notice=revoked', 303);
  });

  app.post('/-/account/sessions/revoke-others', policy, async (request, reply) => {
    const session = requireSession(request);
    await commands.endOtherSessions(request.actor, { session, origin: originOf(request) });
    reply.header('cache-control', 'no-store');
    return reply.redirect('/-/account/sessions?notice=others', 303);
  });

  app.get<{ Querystring: { notice?: string } }>('/-/account/tokens', policy, async (request, reply) => {
    const session = requireSession(request);
    const now = Date.now();
    const tokens = await queries.tokens(session.actor.userId);
    const body = renderAccountTokensBody({
      csrfToken: sessionCsrfToken(secret, session.idHash),
      tokens: tokens.map((t) => ({
        id: t.id,
        name: t.name,
        prefix: t.prefix,
        scopes: t.scopes,
        createdAt: t.createdAt.getTime(),
        expiresAt: t.expiresAt.getTime(),
        lastUsedAt: t.lastUsedAt?.getTime() ?? null,
        status: tokenStatus(t, now),
      })),
      notice: TOKEN_NOTICES[request.query.notice ?? ''] ?? null,
    });
    return sendPage(request, reply, secret, { title: 'Personal access tokens', body });
  });

  function newTokenForm(request: FastifyRequest, reply: import('fastify').FastifyReply, session: Session, form: TokenFormValues, error: string | null) {
    const body = renderNewTokenFormBody({ csrfToken: sessionCsrfToken(secret, session.idHash), form, error, expiryChoices: EXPIRY_CHOICES });
    return sendPage(request, reply, secret, { title: 'New access token', body, status: error ? 400 : 200 });
  }

  // Creating a credential needs a recent re-authentication (password, and TOTP when enrolled): the form itself
  // is behind it, and the POST checks again (the re-authentication may have aged while the form was open).
  app.get(NEW_TOKEN_PATH, policy, async (request, reply) => {
    const session = requireSession(request);
    if (!ensureRecentAuth(request, reply, NEW_TOKEN_PATH)) return reply;
    return newTokenForm(request, reply, session, { name: '', access: 'read', expiresDays: TOKEN_DEFAULT_DAYS }, null);
  });

  app.post(NEW_TOKEN_PATH, policy, async (request, reply) => {
    const session = requireSession(request);
    if (!ensureRecentAuth(request, reply, NEW_TOKEN_PATH)) return reply;
    const parsed = tokenForm.safeParse(request.body ?? {});
    const values: TokenFormValues = parsed.success
      ? { name: parsed.data.name, access: parsed.data.access, expiresDays: parsed.data.expires }
      : { name: '', access: 'read', expiresDays: TOKEN_DEFAULT_DAYS };
    if (!parsed.success || !EXPIRY_CHOICES.includes(values.expiresDays)) {
      return newTokenForm(request, reply, session, values, 'Choose an access level and one of the offered expiry times.');
    }
    try {
      const { token, summary } = await commands.createAccessToken(request.actor, {
        session,
        name: values.name,
        scopes: [values.access],
        expiresInDays: values.expiresDays,
        origin: originOf(request),
      });
      const body = renderNewTokenBody({ token, name: summary.name, scopes: summary.scopes, expiresAt: summary.expiresAt.getTime() });
      // The one response that carries the token: sendPage marks it no-store (signed in); pragma for old caches.
      reply.header('pragma', 'no-cache');
      return sendPage(request, reply, secret, { title: 'Your new token', body });
    } catch (error) {
      if (error instanceof AppError && error.status === 400) return newTokenForm(request, reply, session, values, error.message);
      throw error;
    }
  });

  function emailPage(request: FastifyRequest, reply: import('fastify').FastifyReply, session: Session, email: string, error: string | null, status = 200) {
    const body = renderChangeEmailBody({ csrfToken: sessionCsrfToken(secret, session.idHash), currentEmail: session.actor.email, email, error });
    return sendPage(request, reply, secret, { title: 'Change email address', body, status });
  }

  // Changing the sign-in address needs a recent re-authentication (password, and TOTP when enrolled), checked
  // for the form and again for the change (the confirmation may have aged while the form was open).
  app.get(EMAIL_PATH, policy, async (request, reply) => {
    const session = requireSession(request);
    if (!ensureRecentAuth(request, reply, EMAIL_PATH)) return reply;
    return emailPage(request, reply, session, '', null);
  });

  app.post(EMAIL_PATH, policy, async (request, reply) => {
    const session = requireSession(request);
    if (!ensureRecentAuth(request, reply, EMAIL_PATH)) return reply;
    const form = emailForm.safeParse(request.body ?? {});
    const typed = form.success ? form.data.email : '';
    let changed: { from: string; to: string } | null;
    try {
      changed = await commands.changeEmail(request.actor, { session, email: typed, origin: originOf(request) });
    } catch (error) {
      // Invalid (400) or in use by another account (409): the form again, with what was typed.
      if (error instanceof AppError && (error.status === 400 || error.status === 409)) {
        return emailPage(request, reply, session, typed.slice(0, 254), error.message, error.status);
      }
      throw error;
    }
    reply.header('cache-control', 'no-store');
    return reply.redirect(changed ? '/-/account?notice=email' : '/-/account', 303);
  });

  app.post<{ Params: { id: string } }>('/-/account/tokens/:id/revoke', policy, async (request, reply) => {
    const session = requireSession(request);
    // Another user's token is a NotFoundError: nobody learns that it exists.
    await commands.revokeAccessToken(request.actor, { session, tokenId: request.params.id, origin: originOf(request) });
    reply.header('cache-control', 'no-store');
    return reply.redirect('/-/account/tokens?notice=revoked', 303);
  });
}
