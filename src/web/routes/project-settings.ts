import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { UserActor } from '../../access/actor.ts';
import { notePolicyDenial } from '../../access/denials.ts';
import { can } from '../../access/policy.ts';
import { ensureRecentAuth } from '../../auth/reauth.ts';
import type { Organization } from '../../db/schema.ts';
import { AppError, InvalidInputError } from '../../errors.ts';
import { findOrganization } from '../../organizations/organizations.ts';
import type { ProjectCatalog } from '../../projects/catalog.ts';
import { CloneClearance } from '../../projects/clone-clearance.ts';
import { createProject, deleteProject, updateProject, type ProjectAdminDeps } from '../../projects/project-admin.ts';
import type { ProjectRecord } from '../../projects/projects.ts';
import { isStarter } from '../../projects/starters.ts';
import { sessionCsrfToken } from '../csrf.ts';
import { redirectToLogin, sendNotFound } from '../error-handler.ts';
import { sendPage } from '../page.ts';
import { projectUrl } from '../urls.ts';
import {
  renderNewProjectBody,
  renderProjectCloneBody,
  renderProjectSettingsBody,
  type NewProjectView,
  type ProjectSettingsView,
} from '../views/project-settings.tsx';

interface Deps extends ProjectAdminDeps {
  catalog: ProjectCatalog;
  secret: Buffer;
  publicUrl: string | null;
}

const newProjectForm = z.object({
  name: z.string().max(400).default(''),
  slug: z.string().max(200).default(''),
  description: z.string().max(2000).default(''),
  starter: z.string().max(20).default('empty'),
});
const settingsForm = z.object({ name: z.string().max(400).default(''), description: z.string().max(2000).default('') });
const deleteForm = z.object({ confirm: z.string().max(400).default('') });

const NOTICES: Record<string, string> = { saved: 'Saved.', created: 'Project created.' };

/** Creating projects, their settings (rename, description, delete) and their clone page. */
export function registerProjectSettingsRoutes(app: FastifyInstance, deps: Deps): void {
  const { db, catalog, secret, publicUrl } = deps;
  const cloneClearance = new CloneClearance(deps.repositories, deps.publisher);

  function signedIn(request: FastifyRequest, reply: FastifyReply): UserActor | null {
    const actor = request.actor;
    if (actor.kind === 'user') return actor;
    void redirectToLogin(request, reply);
    return null;
  }

  /** The organization, for those who may create projects in it; everyone else gets the one 404. */
  async function orgFor(request: FastifyRequest<{ Params: { org: string } }>, reply: FastifyReply) {
    const actor = signedIn(request, reply);
    if (!actor) return null;
    const org = await findOrganization(db, request.params.org);
    if (!org || !can(actor, 'create', { kind: 'project', orgId: org.id })) {
      if (org) notePolicyDenial(request, { orgId: org.id });
      await sendNotFound(request, reply, secret);
      return null;
    }
    return { actor, org };
  }

  /** The project, for those allowed `need` on it (manage: admins and owners; read: members); else the one 404. */
  async function projectFor(
    request: FastifyRequest<{ Params: { org: string; project: string } }>,
    reply: FastifyReply,
    need: 'manage' | 'read',
  ): Promise<{ actor: UserActor; project: ProjectRecord } | null> {
    const actor = signedIn(request, reply);
    if (!actor) return null;
    const project = await catalog.find(request.params.org, request.params.project);
    if (!project || !can(actor, need, { kind: 'project', orgId: project.orgId })) {
      if (project) notePolicyDenial(request, { orgId: project.orgId });
      await sendNotFound(request, reply, secret);
      return null;
    }
    return { actor, project };
  }

  const origin = (request: FastifyRequest) => (publicUrl ?? `${request.protocol}://${request.host}`).replace(/\/$/, '');

  async function cloneUrlFor(request: FastifyRequest, actor: UserActor, project: ProjectRecord): Promise<string | null> {
    const highestClassification = await cloneClearance.highestClassification(project);
    if (!can(actor, 'clone', { kind: 'project', orgId: project.orgId, highestClassification })) return null;
    return `${origin(request)}/${encodeURIComponent(project.orgSlug)}/${encodeURIComponent(project.slug)}.git`;
  }

  function sendNewProject(request: FastifyRequest, reply: FastifyReply, org: Organization, extra: Partial<NewProjectView> = {}, status = 200) {
    const body = renderNewProjectBody({
      csrfToken: sessionCsrfToken(secret, request.session!.idHash),
      orgSlug: org.slug,
      orgName: org.name,
      values: { name: '', slug: '', description: '', starter: 'handbook' },
      error: null,
      ...extra,
    });
    return sendPage(request, reply, secret, { title: `New project · ${org.name}`, body, status });
  }

  app.get<{ Params: { org: string } }>('/:org/-/projects/new', { config: { access: 'policy' } }, async (request, reply) => {
    const ctx = await orgFor(request, reply);
    if (!ctx) return reply;
    return sendNewProject(request, reply, ctx.org);
  });

  app.post<{ Params: { org: string } }>('/:org/-/projects', { config: { access: 'policy' } }, async (request, reply) => {
    const ctx = await orgFor(request, reply);
    if (!ctx) return reply;
    const form = newProjectForm.safeParse(request.body ?? {});
    if (!form.success) throw new InvalidInputError('The form could not be read.');
    const starter = isStarter(form.data.starter) ? form.data.starter : 'empty';
    try {
      const project = await createProject(deps, ctx.actor, ctx.org.id, { ...form.data, starter });
      catalog.forgetAll();
      return reply.redirect(projectUrl(project), 303);
    } catch (error) {
      if (error instanceof AppError && (error.status === 400 || error.status === 409)) {
        return sendNewProject(request, reply, ctx.org, { values: { ...form.data, starter }, error: error.message }, error.status);
      }
      throw error;
    }
  });

  async function sendSettings(
    request: FastifyRequest,
    reply: FastifyReply,
    actor: UserActor,
    project: ProjectRecord,
    extra: Partial<ProjectSettingsView> = {},
    status = 200,
  ) {
    const body = renderProjectSettingsBody({
      csrfToken: sessionCsrfToken(secret, request.session!.idHash),
      orgSlug: project.orgSlug,
      slug: project.slug,
      name: project.name,
      description: project.description ?? '',
      projectHref: projectUrl(project),
      cloneUrl: await cloneUrlFor(request, actor, project),
      notice: null,
      error: null,
      deleteError: null,
      ...extra,
    });
    return sendPage(request, reply, secret, { title: `Settings · ${project.name}`, body, status });
  }

  type ProjectParams = { org: string; project: string };

  app.get<{ Params: ProjectParams; Querystring: { done?: string } }>(
    '/:org/:project/-/settings',
    { config: { access: 'policy' } },
    async (request, reply) => {
      const ctx = await projectFor(request, reply, 'manage');
      if (!ctx) return reply;
      return sendSettings(request, reply, ctx.actor, ctx.project, { notice: NOTICES[request.query.done ?? ''] ?? null });
    },
  );

  app.post<{ Params: ProjectParams }>('/:org/:project/-/settings', { config: { access: 'policy' } }, async (request, reply) => {
    const ctx = await projectFor(request, reply, 'manage');
    if (!ctx) return reply;
    const form = settingsForm.safeParse(request.body ?? {});
    if (!form.success) throw new InvalidInputError('The form could not be read.');
    try {
      await updateProject(deps, ctx.actor, ctx.project, form.data);
    } catch (error) {
      if (error instanceof InvalidInputError) return sendSettings(request, reply, ctx.actor, ctx.project, { error: error.message }, 400);
      throw error;
    }
    catalog.forgetAll();
    return reply.redirect(`${projectUrl(ctx.project)}-/settings?done=saved`, 303);
  });

  app.post<{ Params: ProjectParams }>('/:org/:project/-/delete', { config: { access: 'policy' } }, async (request, reply) => {
    const ctx = await projectFor(request, reply, 'manage');
    if (!ctx) return reply;
    const form = deleteForm.safeParse(request.body ?? {});
    if (!form.success) throw new InvalidInputError('The form could not be read.');
    // Like a role change: a recent password (and TOTP) confirmation first; the form is submitted again afterwards.
    if (!ensureRecentAuth(request, reply, `${projectUrl(ctx.project)}-/settings`)) return reply;
    try {
      await deleteProject(deps, ctx.actor, ctx.project, form.data.confirm);
    } catch (error) {
      if (error instanceof InvalidInputError) return sendSettings(request, reply, ctx.actor, ctx.project, { deleteError: error.message }, 400);
      throw error;
    }
    catalog.forgetAll();
    return reply.redirect('/', 303);
  });

  app.get<{ Params: ProjectParams }>('/:org/:project/-/clone', { config: { access: 'policy' } }, async (request, reply) => {
    const ctx = await projectFor(request, reply, 'read');
    if (!ctx) return reply;
    const body = renderProjectCloneBody({
      name: ctx.project.name,
      projectHref: projectUrl(ctx.project),
      cloneUrl: await cloneUrlFor(request, ctx.actor, ctx.project),
    });
    return sendPage(request, reply, secret, { title: `Clone · ${ctx.project.name}`, body });
  });
}
