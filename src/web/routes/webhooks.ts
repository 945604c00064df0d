import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Organization } from '../../organizations/organizations.ts';
import { webhookFormValues, WebhookValidationError, type WebhookFormValues } from '../../webhooks/webhook-form.ts';
import type { WebhookSettings } from '../../webhooks/webhook-settings.ts';
import { sessionCsrfToken } from '../csrf.ts';
import type { ResourceOpener } from '../open-resource.ts';
import { sendPage } from '../page.ts';
import { renderNewWebhookBody, renderWebhookDetailBody, renderWebhookListBody } from '../views/webhooks.tsx';

interface Deps {
  open: ResourceOpener;
  webhooks: WebhookSettings;
  secret: Buffer;
}

/** `?done=` notices: fixed keys, never reflected text. */
const NOTICES: Record<string, string> = {
  saved: 'Webhook saved.',
  unchanged: 'Nothing changed.',
  deleted: 'Webhook deleted.',
  redelivered: 'Queued for redelivery: it is sent within seconds.',
};

type Params = { org: string };
type HookParams = { org: string; webhook: string };

const EMPTY_FORM: WebhookFormValues = { url: '', events: [], active: true };

/**
 * `/{org}/-/settings/webhooks`: an organization's webhooks, for its admins and owners in a browser (everyone
 * else, and any webhook of another organization: the one 404). List and create; one webhook's settings,
 * delivery log, Redeliver and Delete.
 */
export function registerWebhookRoutes(app: FastifyInstance, deps: Deps): void {
  const { open, webhooks, secret } = deps;
  const listUrl = (org: Organization) => `/${encodeURIComponent(org.slug)}/-/settings/webhooks`;
  const resolve = (request: FastifyRequest) => open.organization(request, 'manage', 'webhooks', { browserOnly: true });
  const audit = (request: FastifyRequest) => ({ requestId: String(request.id), ip: request.ip });
  const csrf = (request: FastifyRequest) => sessionCsrfToken(secret, request.session!.idHash);

  async function sendList(request: FastifyRequest, reply: FastifyReply, org: Organization, extra: { values?: WebhookFormValues; notice?: string | null; error?: string | null; fieldErrors?: Partial<Record<'url' | 'events', string>> } = {}, status = 200) {
    const body = renderWebhookListBody({
      csrfToken: csrf(request),
      orgSlug: org.slug,
      orgName: org.name,
      webhooks: await webhooks.list(org.id),
      values: extra.values ?? EMPTY_FORM,
      notice: extra.notice ?? null,
      error: extra.error ?? null,
      fieldErrors: extra.fieldErrors ?? {},
    });
    return sendPage(request, reply, secret, { title: `Webhooks · ${org.name}`, body, status });
  }

  async function sendDetail(request: FastifyRequest<{ Params: HookParams }>, reply: FastifyReply, org: Organization, extra: { values?: WebhookFormValues; notice?: string | null; error?: string | null; fieldErrors?: Partial<Record<'url' | 'events', string>> } = {}, status = 200) {
    const { webhook, deliveries } = await webhooks.detail(org.id, request.params.webhook);
    const body = renderWebhookDetailBody({
      csrfToken: csrf(request),
      orgSlug: org.slug,
      orgName: org.name,
      webhook,
      deliveries,
      values: extra.values ?? { url: webhook.url, events: webhook.events, active: webhook.active },
      notice: extra.notice ?? null,
      error: extra.error ?? null,
      fieldErrors: extra.fieldErrors ?? {},
    });
    return sendPage(request, reply, secret, { title: `Webhook · ${org.name}`, body, status });
  }

  app.get<{ Params: Params; Querystring: { done?: string } }>('/:org/-/settings/webhooks', { config: { access: 'policy' } }, async (request, reply) => {
    const { org } = await resolve(request);
    return sendList(request, reply, org, { notice: NOTICES[request.query.done ?? ''] ?? null });
  });

  app.post<{ Params: Params }>('/:org/-/settings/webhooks', { config: { access: 'policy' } }, async (request, reply) => {
    const { org, actor } = await resolve(request);
    try {
      const input = webhooks.parse(request.body ?? {});
      const created = await webhooks.create(actor, org.id, input, audit(request));
      // the secret's one showing: a page of its own (never a redirect carrying it), not stored by any cache
      const body = renderNewWebhookBody({ csrfToken: csrf(request), orgSlug: org.slug, orgName: org.name, webhookId: created.id, url: input.url, secret: created.secret });
      return sendPage(request, reply, secret, { title: `Webhook added · ${org.name}`, body, noStore: true });
    } catch (error) {
      if (!(error instanceof WebhookValidationError)) throw error;
      return sendList(request, reply, org, { values: webhookFormValues(request.body ?? {}), error: error.message, fieldErrors: error.fieldErrors }, 400);
    }
  });

  app.get<{ Params: HookParams; Querystring: { done?: string } }>('/:org/-/settings/webhooks/:webhook', { config: { access: 'policy' } }, async (request, reply) => {
    const { org } = await resolve(request);
    return sendDetail(request, reply, org, { notice: NOTICES[request.query.done ?? ''] ?? null });
  });

  app.post<{ Params: HookParams }>('/:org/-/settings/webhooks/:webhook', { config: { access: 'policy' } }, async (request, reply) => {
    const { org, actor } = await resolve(request);
    try {
      const input = webhooks.parse(request.body ?? {});
      const changed = await webhooks.update(actor, org.id, request.params.webhook, input, audit(request));
      return reply.redirect(`${listUrl(org)}/${encodeURIComponent(request.params.webhook)}?done=${changed.length > 0 ? 'saved' : 'unchanged'}`, 303);
    } catch (error) {
      if (!(error instanceof WebhookValidationError)) throw error;
      return sendDetail(request, reply, org, { values: webhookFormValues(request.body ?? {}), error: error.message, fieldErrors: error.fieldErrors }, 400);
    }
  });

  app.post<{ Params: HookParams }>('/:org/-/settings/webhooks/:webhook/delete', { config: { access: 'policy' } }, async (request, reply) => {
    const { org, actor } = await resolve(request);
    await webhooks.remove(actor, org.id, request.params.webhook, audit(request));
    return reply.redirect(`${listUrl(org)}?done=deleted`, 303);
  });

  app.post<{ Params: HookParams & { delivery: string } }>(
    '/:org/-/settings/webhooks/:webhook/deliveries/:delivery/redeliver',
    { config: { access: 'policy' } },
    async (request, reply) => {
      const { org, actor } = await resolve(request);
      await webhooks.redeliver(actor, org.id, request.params.webhook, request.params.delivery, audit(request));
      return reply.redirect(`${listUrl(org)}/${encodeURIComponent(request.params.webhook)}?done=redelivered`, 303);
    },
  );
}
