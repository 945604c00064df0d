import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { UserActor } from '../../access/actor.ts';
import { can } from '../../access/policy.ts';
import { ensureRecentAuth } from '../../auth/reauth.ts';
import type { Organization } from '../../organizations/organizations.ts';
import { AppError, InvalidInputError } from '../../errors.ts';
import type { CloneClearance } from '../../projects/clone-clearance.ts';
import type { ProjectCommands } from '../../projects/commands/index.ts';
import type { ProjectRecord } from '../../projects/projects.ts';
import { isStarter } from '../../projects/starters.ts';
import { sessionCsrfToken } from '../csrf.ts';
import type { ResourceOpener } from '../open-resource.ts';
import { sendPage } from '../page.ts';
import { projectUrl } from '../urls.ts';
import {
  renderNewProjectBody,
  renderProjectCloneBody,
  renderProjectSettingsBody,
  type NewProjectView,
  type ProjectSettingsView,
} from '../views/project-settings.tsx';

interface Deps {
  open: ResourceOpener;
  commands: ProjectCommands;
  /** How sensitive each repository is, for the clone address (shown only to readers cleared for all of it). */
  cloneClearance: Pick<CloneClearance, 'highestClassification'>;
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
  const { open, commands, cloneClearance, secret, publicUrl } = deps;

  /** The organization, for those who may create projects in it; everyone else gets the one 404. */
  const orgFor = (request: FastifyRequest) => open.organization(request, 'create', 'project');
  /** The project, for those allowed `need` on it (manage: admins and owners; read: members); else the one 404. */
  const projectFor = (request: FastifyRequest, need: 'manage' | 'read') => open.project(request, need);

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
    const ctx = await orgFor(request);
    return sendNewProject(request, reply, ctx.org);
  });

  app.post<{ Params: { org: string } }>('/:org/-/projects', { config: { access: 'policy' } }, async (request, reply) => {
    const ctx = await orgFor(request);
    const form = newProjectForm.safeParse(request.body ?? {});
    if (!form.success) throw new InvalidInputError('The form could not be read.');
    const starter = isStarter(form.data.starter) ? form.data.starter : 'empty';
    try {
      const project = await commands.createProject(ctx.actor, { orgId: ctx.org.id, ...form.data, starter });
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
      const ctx = await projectFor(request, 'manage');
      return sendSettings(request, reply, ctx.actor, ctx.project, { notice: NOTICES[request.query.done ?? ''] ?? null });
    },
  );

  app.post<{ Params: ProjectParams }>('/:org/:project/-/settings', { config: { access: 'policy' } }, async (request, reply) => {
    const ctx = await projectFor(request, 'manage');
    const form = settingsForm.safeParse(request.body ?? {});
    if (!form.success) throw new InvalidInputError('The form could not be read.');
    try {
      await commands.changeProjectDetails(ctx.actor, { project: ctx.project, ...form.data });
    } catch (error) {
      if (error instanceof InvalidInputError) return sendSettings(request, reply, ctx.actor, ctx.project, { error: error.message }, 400);
      throw error;
    }
    return reply.redirect(`${projectUrl(ctx.project)}-/settings?done=saved`, 303);
  });

  app.post<{ Params: ProjectParams }>('/:org/:project/-/delete', { config: { access: 'policy' } }, async (request, reply) => {
    const ctx = await projectFor(request, 'manage');
    const form = deleteForm.safeParse(request.body ?? {});
    if (!form.success) throw new InvalidInputError('The form could not be read.');
    // Like a role change: a recent password (and TOTP) confirmation first; the form is submitted again afterwards.
    if (!ensureRecentAuth(request, reply, `${projectUrl(ctx.project)}-/settings`)) return reply;
    try {
      await commands.deleteProject(ctx.actor, { project: ctx.project, confirmation: form.data.confirm });
    } catch (error) {
      if (error instanceof InvalidInputError) return sendSettings(request, reply, ctx.actor, ctx.project, { deleteError: error.message }, 400);
      throw error;
    }
    return reply.redirect('/', 303);
  });

  app.get<{ Params: ProjectParams }>('/:org/:project/-/clone', { config: { access: 'policy' } }, async (request, reply) => {
    const ctx = await projectFor(request, 'read');
    const body = renderProjectCloneBody({
      name: ctx.project.name,
      projectHref: projectUrl(ctx.project),
      cloneUrl: await cloneUrlFor(request, ctx.actor, ctx.project),
    });
    return sendPage(request, reply, secret, { title: `Clone · ${ctx.project.name}`, body });
  });
}
