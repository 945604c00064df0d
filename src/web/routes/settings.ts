import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { UserActor } from '../../access/actor.ts';
import { notePolicyDenial } from '../../access/denials.ts';
import { can } from '../../access/policy.ts';
import { ensureRecentAuth, hasRecentAuth } from '../../auth/reauth.ts';
import type { SessionStore } from '../../auth/sessions.ts';
import type { Db } from '../../db/connection.ts';
import type { Organization } from '../../db/schema.ts';
import { findOrganization } from '../../organizations/organizations.ts';
import {
  mustEnrollAtNextSignIn,
  parseSettingsForm,
  readSettings,
  settingsAsFormValues,
  settingsFormValues,
  SettingsValidationError,
  SETTINGS_LIMITS,
  updateSettings,
  type OrgSettings,
  type SettingsFormValues,
} from '../../organizations/settings.ts';
import { sessionCsrfToken } from '../csrf.ts';
import { redirectToLogin, sendNotFound } from '../error-handler.ts';
import { sendPage } from '../page.ts';
import { renderSettingsBody, type SettingsView } from '../views/settings.tsx';

interface Deps {
  db: Db;
  sessions: SessionStore;
  secret: Buffer;
}

/** `?done=` notices: fixed keys, never reflected text. */
const NOTICES: Record<string, string> = {
  saved: 'Settings saved. New limits apply to new sign-ins and shorten sessions and grants already open.',
  unchanged: 'Nothing changed.',
};

/** `/{org}/-/settings`: the organization's security settings, for its admins and owners (everyone else: 404). */
export function registerSettingsRoutes(app: FastifyInstance, deps: Deps): void {
  const { db, sessions, secret } = deps;
  const settingsUrl = (org: Organization) => `/${encodeURIComponent(org.slug)}/-/settings`;

  /** The organization and actor, or null after answering: sign-in for anonymous and token requests, else 404. */
  async function resolve(request: FastifyRequest<{ Params: { org: string } }>, reply: FastifyReply): Promise<{ org: Organization; actor: UserActor } | null> {
    const actor = request.actor;
    // A browser session only: never a personal access token (settings are not part of the API).
    if (actor.kind !== 'user' || actor.via || !request.session) {
      await redirectToLogin(request, reply);
      return null;
    }
    const org = await findOrganization(db, request.params.org);
    // A missing organization and one whose settings the reader may not see look the same.
    if (!org || !can(actor, 'read', { kind: 'org-settings', orgId: org.id })) {
      if (org) notePolicyDenial(request, { orgId: org.id });
      await sendNotFound(request, reply, secret);
      return null;
    }
    return { org, actor };
  }

  async function sendSettings(
    request: FastifyRequest,
    reply: FastifyReply,
    org: Organization,
    actor: UserActor,
    extra: { values?: SettingsFormValues; notice?: string | null; error?: string | null; fieldErrors?: SettingsView['fieldErrors'] } = {},
    status = 200,
  ) {
    const saved = await readSettings(db, org.id);
    const view: SettingsView = {
      csrfToken: sessionCsrfToken(secret, request.session!.idHash),
      orgSlug: org.slug,
      orgName: org.name,
      values: extra.values ?? settingsAsFormValues(saved),
      limits: SETTINGS_LIMITS,
      notice: extra.notice ?? null,
      error: extra.error ?? null,
      fieldErrors: extra.fieldErrors ?? {},
      mustEnroll: await mustEnrollAtNextSignIn(db, saved, actor.userId, actor.memberships.get(org.id) ?? ''),
      recentlyAuthenticated: hasRecentAuth(request),
    };
    return sendPage(request, reply, secret, { title: `Settings · ${org.name}`, body: renderSettingsBody(view), status });
  }

  app.get<{ Params: { org: string }; Querystring: { done?: string } }>(
    '/:org/-/settings',
    { config: { access: 'policy' } },
    async (request, reply) => {
      const ctx = await resolve(request, reply);
      if (!ctx) return reply;
      return sendSettings(request, reply, ctx.org, ctx.actor, { notice: NOTICES[request.query.done ?? ''] ?? null });
    },
  );

  app.post<{ Params: { org: string } }>('/:org/-/settings', { config: { access: 'policy' } }, async (request, reply) => {
    const ctx = await resolve(request, reply);
    if (!ctx) return reply;
    // A security-relevant change: it needs a recent password (and TOTP) confirmation; the form is shown again after.
    if (!ensureRecentAuth(request, reply, settingsUrl(ctx.org))) return reply;
    let next: OrgSettings;
    try {
      next = parseSettingsForm(request.body ?? {});
    } catch (error) {
      if (!(error instanceof SettingsValidationError)) throw error;
      return sendSettings(
        request,
        reply,
        ctx.org,
        ctx.actor,
        { values: settingsFormValues(request.body ?? {}), error: error.message, fieldErrors: error.fieldErrors },
        400,
      );
    }
    const changed = await updateSettings(db, sessions, ctx.actor, ctx.org.id, next, { requestId: String(request.id), ip: request.ip });
    reply.header('cache-control', 'no-store');
    return reply.redirect(`${settingsUrl(ctx.org)}?done=${changed.length > 0 ? 'saved' : 'unchanged'}`, 303);
  });
}
