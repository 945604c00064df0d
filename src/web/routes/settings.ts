import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { UserActor } from '../../access/actor.ts';
import { can } from '../../access/policy.ts';
import { ensureRecentAuth, hasRecentAuth } from '../../auth/reauth.ts';
import type { Organization } from '../../organizations/organizations.ts';
import type { OrganizationCommands } from '../../organizations/commands/index.ts';
import type { OrganizationDirectory } from '../../organizations/directory.ts';
import {
  parseSettingsForm,
  settingsAsFormValues,
  settingsFormValues,
  SettingsValidationError,
  SETTINGS_LIMITS,
  type OrgSettings,
  type SettingsFormValues,
} from '../../organizations/settings.ts';
import {
  parseReviewSettingsForm,
  reviewSettingsFormValues,
  ReviewSettingsValidationError,
  submittedReviewSettings,
} from '../../organizations/review-settings.ts';
import type { ReviewSettings } from '../../changes/approval-rules.ts';
import { sessionCsrfToken } from '../csrf.ts';
import type { ResourceOpener } from '../open-resource.ts';
import { sendPage } from '../page.ts';
import { renderSettingsBody, type SettingsView } from '../views/settings.tsx';

interface Deps {
  open: ResourceOpener;
  organizations: OrganizationDirectory;
  commands: OrganizationCommands;
  secret: Buffer;
}

/** `?done=` notices: fixed keys, never reflected text. */
const NOTICES: Record<string, string> = {
  saved: 'Settings saved. New limits apply to new sign-ins and shorten sessions and grants already open.',
  unchanged: 'Nothing changed.',
  'review-saved': 'Review settings saved. They apply to the next save, push and merge.',
};

/** `/{org}/-/settings`: the organization's security settings, for its admins and owners (everyone else: 404). */
export function registerSettingsRoutes(app: FastifyInstance, deps: Deps): void {
  const { open, organizations, commands, secret } = deps;
  const settingsUrl = (org: Organization) => `/${encodeURIComponent(org.slug)}/-/settings`;

  /**
   * The organization and actor: a browser session only, never a personal access token (settings are not part of
   * the API); everyone but its admins and owners gets the one 404 (a missing organization looks the same).
   */
  const resolve = (request: FastifyRequest) => open.organization(request, 'read', 'org-settings', { browserOnly: true });

  async function sendSettings(
    request: FastifyRequest,
    reply: FastifyReply,
    org: Organization,
    actor: UserActor,
    extra: {
      values?: SettingsFormValues;
      notice?: string | null;
      error?: string | null;
      fieldErrors?: SettingsView['fieldErrors'];
      review?: Partial<SettingsView['review']>;
    } = {},
    status = 200,
  ) {
    const saved = await organizations.settings(org.id);
    const view: SettingsView = {
      csrfToken: sessionCsrfToken(secret, request.session!.idHash),
      orgSlug: org.slug,
      orgName: org.name,
      values: extra.values ?? settingsAsFormValues(saved),
      limits: SETTINGS_LIMITS,
      notice: extra.notice ?? null,
      error: extra.error ?? null,
      fieldErrors: extra.fieldErrors ?? {},
      mustEnroll: await organizations.mustEnrollAtNextSignIn(saved, actor.userId, actor.memberships.get(org.id) ?? ''),
      recentlyAuthenticated: hasRecentAuth(request),
      mayManageData: can(actor, 'delete', { kind: 'organization-data', orgId: org.id }),
      review: { values: reviewSettingsFormValues(await organizations.reviewSettings(org.id)), error: null, fieldErrors: {}, ...extra.review },
    };
    return sendPage(request, reply, secret, { title: `Settings · ${org.name}`, body: renderSettingsBody(view), status });
  }

  app.get<{ Params: { org: string }; Querystring: { done?: string } }>(
    '/:org/-/settings',
    { config: { access: 'policy' } },
    async (request, reply) => {
      const ctx = await resolve(request);
      return sendSettings(request, reply, ctx.org, ctx.actor, { notice: NOTICES[request.query.done ?? ''] ?? null });
    },
  );

  app.post<{ Params: { org: string } }>('/:org/-/settings', { config: { access: 'policy' } }, async (request, reply) => {
    const ctx = await resolve(request);
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
    const changed = await commands.changeSettings(ctx.actor, { orgId: ctx.org.id, settings: next, audit: { requestId: String(request.id), ip: request.ip } });
    reply.header('cache-control', 'no-store');
    return reply.redirect(`${settingsUrl(ctx.org)}?done=${changed.length > 0 ? 'saved' : 'unchanged'}`, 303);
  });

  // Review before publishing, per classification (approval rules of change requests; protected main)
  app.post<{ Params: { org: string } }>('/:org/-/settings/review', { config: { access: 'policy' } }, async (request, reply) => {
    const ctx = await resolve(request);
    if (!ensureRecentAuth(request, reply, settingsUrl(ctx.org))) return reply;
    let next: ReviewSettings;
    try {
      next = parseReviewSettingsForm(request.body ?? {});
    } catch (error) {
      if (!(error instanceof ReviewSettingsValidationError)) throw error;
      const review = { values: submittedReviewSettings(request.body ?? {}), error: error.message, fieldErrors: error.fieldErrors };
      return sendSettings(request, reply, ctx.org, ctx.actor, { review }, 400);
    }
    const changed = await commands.changeReviewSettings(ctx.actor, { orgId: ctx.org.id, settings: next, audit: { requestId: String(request.id), ip: request.ip } });
    reply.header('cache-control', 'no-store');
    return reply.redirect(`${settingsUrl(ctx.org)}?done=${changed.length > 0 ? 'review-saved' : 'unchanged'}#review-heading`, 303);
  });
}
