import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { TooManyOpenRequestsError, type AccessRequests } from '../../access/access-requests.ts';
import type { AccessRequestCommands } from '../../access/commands/index.ts';
import { can } from '../../access/policy.ts';
import { WAITING_CAP, type WaitingRequestCounts } from '../../access/waiting-requests.ts';
import { InvalidInputError } from '../../errors.ts';
import type { OrganizationDirectory } from '../../organizations/directory.ts';
import type { ProjectCatalog } from '../../projects/catalog.ts';
import { sessionCsrfToken } from '../csrf.ts';
import type { ResourceOpener } from '../open-resource.ts';
import { sendPage } from '../page.ts';
import { documentUrl } from '../urls.ts';
import { renderAccessRequestFormBody, renderAccessRequestsBody } from '../views/access-requests.tsx';
import { renderAskForAccessBody } from '../views/ask-for-access.tsx';

declare module 'fastify' {
  interface FastifyRequest {
    /** The top bar's count of access requests waiting for this user's decision, or null (page.ts). */
    waitingRequests: { count: string; href: string } | null;
  }
}

interface Deps {
  open: ResourceOpener;
  organizations: OrganizationDirectory;
  catalog: ProjectCatalog;
  /** Reading requests (a requester's own, an approver's queue); changes go through `commands`. */
  requests: AccessRequests;
  commands: AccessRequestCommands;
  /** The top bar's count (cached per user for a few seconds). */
  waiting: WaitingRequestCounts;
  secret: Buffer;
}

const requestForm = z.object({
  path: z.string().max(2000).default(''),
  reason: z.string().max(4000).default(''),
  ticket: z.string().max(400).default(''),
});

const NOTICES: Record<string, string> = {
  created: 'Your request was sent. Approvers see it now; this page shows the outcome.',
  approved: 'Approved. The requester can read the document now.',
  partly: 'Your approval is recorded. A restricted document needs a second approver.',
  denied: 'The request was denied.',
};

/** The path of an address (a full URL or a path), without query or fragment. */
function pathOf(address: string): string {
  let value = address.trim();
  if (/^https?:\/\//i.test(value)) {
    try {
      value = new URL(value).pathname;
    } catch {
      return '';
    }
  }
  return value.split(/[?#]/)[0]!;
}

/** The organization and project slugs of a document address (`/org/project/...`), or undefined for others. */
function addressSegments(address: string): [string | undefined, string | undefined] {
  const [org, project, third] = pathOf(address).split('/').slice(1);
  if (!org || !project || org.startsWith('-') || project === '-' || third === '-') return [undefined, undefined];
  try {
    return [decodeURIComponent(org), decodeURIComponent(project)];
  } catch {
    return [undefined, undefined];
  }
}

/** The page the browser came from, when it is on this site (the site's referrer policy is same-origin). */
function sameOriginReferer(request: FastifyRequest): string | null {
  const referer = request.headers.referer;
  if (typeof referer !== 'string') return null;
  try {
    const url = new URL(referer);
    return url.origin === new URL(`${request.protocol}://${request.host}`).origin ? url.pathname : null;
  } catch {
    return null;
  }
}

/** Access requests: the request form in a project, and the organization's list for requesters and approvers. */
export function registerAccessRequestRoutes(app: FastifyInstance, deps: Deps): void {
  const { open, organizations, catalog, requests, commands, waiting, secret } = deps;

  // The top bar's count on signed-in pages (browser sessions of managers and above). A failure to count leaves
  // it off: it points to the list, which is always read from the database.
  app.decorateRequest('waitingRequests', null);
  // A callback hook: requests it does not concern (anonymous, tokens, not GET) pass without a promise.
  app.addHook('preHandler', (request, _reply, done) => {
    const actor = request.actor;
    if (request.method !== 'GET' || !request.session || actor.kind !== 'user' || actor.via) return done();
    waiting.countFor(actor).then(
      (found) => {
        if (found.count > 0 && found.orgSlug !== null) {
          request.waitingRequests = {
            count: found.count > WAITING_CAP ? `${WAITING_CAP}+` : String(found.count),
            href: `/${encodeURIComponent(found.orgSlug)}/-/access-requests#pending-heading`,
          };
        }
        done();
      },
      (error: unknown) => {
        request.log.error({ err: error, requestId: request.id }, 'waiting access requests unavailable');
        done();
      },
    );
  });

  // A 404 at an address inside one of the reader's organizations offers to ask for access. The link is the same
  // for every address of that organization (missing document, hidden document, missing project): the address
  // itself travels in the Referer header (same-origin) to the ask route below, so the 404 pages stay identical.
  app.askForAccessHref = async (request) => {
    const actor = request.actor;
    if (actor.kind !== 'user' || actor.via) return null;
    // Every 404 under an organization of the reader's (a document, a missing project, an admin page) carries
    // the same offer, so none of them differs from another.
    let org: string;
    try {
      org = decodeURIComponent(pathOf(request.url).split('/')[1] ?? '');
    } catch {
      return null;
    }
    if (org === '' || org.startsWith('-')) return null;
    const found = await organizations.bySlug(org);
    if (!found || !can(actor, 'create', { kind: 'access_request', orgId: found.id })) return null;
    return `/${encodeURIComponent(found.slug)}/-/access-requests/ask`;
  };

  /**
   * From an address (the Referer of a 404, or typed) to the request form of its project, with the address filled
   * in; the form is the same page whatever is (or is not) at the address.
   */
  app.get<{ Params: { org: string }; Querystring: { address?: string } }>(
    '/:org/-/access-requests/ask',
    { config: { access: 'policy' } },
    async (request, reply) => {
      const { org } = await open.organization(request, 'create', 'access_request');
      const typed = typeof request.query.address === 'string' ? request.query.address.slice(0, 2000) : null;
      const address = typed ?? sameOriginReferer(request);
      let error: string | null = null;
      if (address) {
        const [orgSlug, projectSlug] = addressSegments(address);
        const project = orgSlug === org.slug && projectSlug !== undefined ? await catalog.find(orgSlug, projectSlug) : null;
        if (project && project.orgId === org.id) {
          const path = pathOf(address);
          const target = `/${encodeURIComponent(project.orgSlug)}/${encodeURIComponent(project.slug)}/-/access-requests/new`;
          reply.header('cache-control', 'no-store');
          return reply.redirect(`${target}?path=${encodeURIComponent(path.slice(0, 500))}`, 303);
        }
        if (typed !== null) error = `That address is not inside a project of ${org.name}.`;
      }
      const body = renderAskForAccessBody({ orgSlug: org.slug, orgName: org.name, address: typed ?? '', error });
      return sendPage(request, reply, secret, { title: 'Ask for access', body, status: error ? 400 : 200 });
    },
  );

  type ProjectParams = { org: string; project: string };

  app.get<{ Params: ProjectParams; Querystring: { path?: string } }>(
    '/:org/:project/-/access-requests/new',
    { config: { access: 'policy' } },
    async (request, reply) => {
      const { project } = await open.project(request, 'create', { kind: 'access_request' });
      const path = typeof request.query.path === 'string' ? request.query.path.slice(0, 500) : '';
      return sendForm(request, reply, project, { path, reason: '', ticket: '', error: null });
    },
  );

  app.post<{ Params: ProjectParams }>(
    '/:org/:project/-/access-requests',
    { config: { access: 'policy' } },
    async (request, reply) => {
      const { actor, project } = await open.project(request, 'create', { kind: 'access_request' });
      const form = requestForm.safeParse(request.body ?? {});
      if (!form.success) throw new InvalidInputError('The request could not be read.');
      try {
        await commands.createAccessRequest(actor, { project, ...form.data });
      } catch (error) {
        if (error instanceof InvalidInputError || error instanceof TooManyOpenRequestsError) {
          return sendForm(request, reply, project, { ...form.data, error: error.message }, error.status);
        }
        throw error;
      }
      return reply.redirect(`/${encodeURIComponent(project.orgSlug)}/-/access-requests?done=created`, 303);
    },
  );

  function sendForm(
    request: FastifyRequest,
    reply: FastifyReply,
    project: { orgSlug: string; slug: string; name: string },
    values: { path: string; reason: string; ticket: string; error: string | null },
    status = 200,
  ) {
    const body = renderAccessRequestFormBody({
      csrfToken: sessionCsrfToken(secret, request.session!.idHash),
      orgSlug: project.orgSlug,
      projectSlug: project.slug,
      projectName: project.name,
      ...values,
    });
    return sendPage(request, reply, secret, { title: 'Request access', body, status });
  }

  app.get<{ Params: { org: string }; Querystring: { done?: string; page?: string } }>(
    '/:org/-/access-requests',
    { config: { access: 'policy' } },
    async (request, reply) => {
      const { actor, org } = await open.organization(request, 'list', 'access_request');
      const projects = new Map((await catalog.all()).filter((p) => p.orgId === org.id).map((p) => [p.slug, p]));
      const href = (projectSlug: string, path: string) => {
        const project = projects.get(projectSlug);
        return project ? documentUrl(project, path) : null;
      };
      const approver = can(actor, 'approve', { kind: 'access_request', orgId: org.id, classification: 'confidential', requesterId: '' });
      const [own, pending] = await Promise.all([requests.own(actor, org.id), approver ? requests.pendingFor(actor, org.id, pageNumber(request.query.page)) : null]);
      const body = renderAccessRequestsBody({
        csrfToken: sessionCsrfToken(secret, request.session!.idHash),
        orgSlug: org.slug,
        orgName: org.name,
        notice: NOTICES[request.query.done ?? ''] ?? null,
        own: own.map((r) => ({
          id: r.id,
          projectName: r.projectName,
          path: r.path,
          href: href(r.projectSlug, r.path),
          reason: r.reason,
          ticket: r.ticket,
          status: r.status,
          createdAt: r.createdAt.toISOString(),
          grantExpiresAt: r.grantExpiresAt?.toISOString() ?? null,
          grantLive: r.grantLive,
        })),
        pendingPage: pending ? { page: pending.page, pageCount: pending.pageCount, total: pending.total } : null,
        pending:
          pending?.requests.map((r) => ({
            id: r.id,
            projectName: r.projectName,
            path: r.path,
            href: href(r.projectSlug, r.path),
            title: r.title,
            classification: r.classification,
            requester: `${r.requesterName} <${r.requesterEmail}>`,
            reason: r.reason,
            ticket: r.ticket,
            createdAt: r.createdAt.toISOString(),
            expiresAt: r.expiresAt.toISOString(),
            approvals: r.approvals,
            approvalsNeeded: r.approvalsNeeded,
            approvedByActor: r.approvedByActor,
          })) ?? null,
      });
      return sendPage(request, reply, secret, { title: `Access requests · ${org.name}`, body });
    },
  );

  for (const decision of ['approve', 'deny'] as const) {
    app.post<{ Params: { org: string; id: string } }>(
      `/:org/-/access-requests/:id/${decision}`,
      { config: { access: 'policy' } },
      async (request, reply) => {
        const { actor, org } = await open.organization(request, 'create', 'access_request');
        let done: string;
        if (decision === 'approve') {
          const outcome = await commands.approveAccessRequest(actor, { orgId: org.id, requestId: request.params.id });
          done = outcome.status === 'approved' ? 'approved' : 'partly';
        } else {
          await commands.denyAccessRequest(actor, { orgId: org.id, requestId: request.params.id });
          done = 'denied';
        }
        return reply.redirect(`/${encodeURIComponent(org.slug)}/-/access-requests?done=${done}`, 303);
      },
    );
  }
}

/** `?page=` as a page number (anything else: the first page). */
function pageNumber(value: unknown): number {
  return typeof value === 'string' && /^\d{1,6}$/.test(value) ? Number(value) : 1;
}
