/**
 * Opening a route's organization or project: the one way a route turns `/:org` or `/:org/:project` into the
 * thing it works on, for a signed-in actor the policy allows. Every refusal is the same:
 *
 * - nobody signed in (or, with `browserOnly`, a personal access token or no browser session): a redirect to
 *   the sign-in page that comes back here (SignInRequiredError, whatever the method);
 * - an unknown slug, an organization the actor is not in, or an action the policy refuses: the one 404 of a
 *   missing page, byte for byte (a refusal is also recorded as `access.denied`: `authorize` with `hidden`).
 *
 * Use it at the top of a handler and let the errors reach the error handler:
 *
 *   const open = new ResourceOpener({ organizations, projects: catalog }); // once, in the route module
 *
 *   app.get('/:org/-/members', { config: { access: 'policy' } }, async (request, reply) => {
 *     const { actor, org } = await open.organization(request, 'list', 'members');
 *     ...
 *   });
 *   app.post('/:org/:project/-/settings', { config: { access: 'policy' } }, async (request, reply) => {
 *     const { actor, project } = await open.project(request, 'manage');
 *     ...
 *   });
 *
 * A page any member may open, whose actions the command then checks (answering 403 to members without the
 * role), opens with `organization(request, 'read', 'organization')` or `project(request, 'read')`.
 */
import type { FastifyRequest } from 'fastify';
import type { UserActor } from '../access/actor.ts';
import { authorize } from '../access/authorize.ts';
import type { Action } from '../access/policy.ts';
import type { Organization } from '../organizations/organizations.ts';
import { NotFoundError, SignInRequiredError } from '../errors.ts';
import type { OrganizationDirectory } from '../organizations/directory.ts';
import type { ProjectCatalog } from '../projects/catalog.ts';
import type { ProjectRecord } from '../projects/projects.ts';

/** Resource kinds of the policy that are a whole organization's (resource `{ kind, orgId }`). */
export type OrganizationResourceKind = 'organization' | 'members' | 'org-settings' | 'audit-log' | 'project' | 'access_request' | 'webhooks';

export interface OpenOptions {
  /** Pages that are not part of the API: a personal access token, or a request without a browser session, is sent to sign in. */
  browserOnly?: boolean;
}

export interface OpenedOrganization {
  actor: UserActor;
  org: Organization;
}

export interface OpenedProject {
  actor: UserActor;
  project: ProjectRecord;
}

/** The services an opener looks slugs up in. */
export interface ResourceLookups {
  organizations: Pick<OrganizationDirectory, 'bySlug'>;
  projects: Pick<ProjectCatalog, 'find'>;
}

export class ResourceOpener {
  constructor(private readonly lookups: ResourceLookups) {}

  /** The request's signed-in actor, or SignInRequiredError. */
  signedIn(request: FastifyRequest, options: OpenOptions = {}): UserActor {
    const actor = request.actor;
    if (actor.kind !== 'user' || (options.browserOnly === true && (actor.via !== undefined || !request.session))) {
      throw new SignInRequiredError();
    }
    return actor;
  }

  /** The organization of `/:org`, for an actor allowed `action` on its `kind` (see the module comment for refusals). */
  async organization(request: FastifyRequest, action: Action, kind: OrganizationResourceKind, options: OpenOptions = {}): Promise<OpenedOrganization> {
    const actor = this.signedIn(request, options);
    const slug = paramOf(request, 'org');
    const org = slug === null ? null : await this.lookups.organizations.bySlug(slug);
    if (!org) throw new NotFoundError();
    authorize(actor, action, { kind, orgId: org.id }, { hidden: true });
    return { actor, org };
  }

  /**
   * The project of `/:org/:project`, for an actor allowed `action` on it (see the module comment for refusals).
   * `kind`: to ask about another resource of the project's organization instead (filing an access request, say).
   */
  async project(request: FastifyRequest, action: Action, options: OpenOptions & { kind?: OrganizationResourceKind } = {}): Promise<OpenedProject> {
    const actor = this.signedIn(request, options);
    const orgSlug = paramOf(request, 'org');
    const projectSlug = paramOf(request, 'project');
    const project = orgSlug === null || projectSlug === null ? null : await this.lookups.projects.find(orgSlug, projectSlug);
    if (!project) throw new NotFoundError();
    authorize(actor, action, { kind: options.kind ?? 'project', orgId: project.orgId }, { hidden: true });
    return { actor, project };
  }
}

function paramOf(request: FastifyRequest, name: string): string | null {
  const value = (request.params as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : null;
}
