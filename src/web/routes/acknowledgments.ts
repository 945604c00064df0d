import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { authorize } from '../../access/authorize.ts';
import { InvalidInputError } from '../../errors.ts';
import { acknowledgmentStatusCsv, overdueAcknowledgmentsCsv } from '../../evidence/acknowledgment-csv.ts';
import { OPEN_TASKS_CAP, type AcknowledgmentTask, type Acknowledgments } from '../../evidence/acknowledgments.ts';
import type { ResourceOpener } from '../open-resource.ts';
import { sendPage } from '../page.ts';
import { documentUrl, projectUrl } from '../urls.ts';
import { renderAckStatusBody, renderAcknowledgmentsBody, type AckTaskRow } from '../views/acknowledgments.tsx';

declare module 'fastify' {
  interface FastifyRequest {
    /** The top bar's count of documents waiting for this user's acknowledgment, or null (page.ts). */
    openAcknowledgments: { count: string; href: string } | null;
  }
}

interface Deps {
  open: ResourceOpener;
  acknowledgments: Acknowledgments;
  secret: Buffer;
}

const acknowledgeForm = z.object({
  path: z.string().min(1).max(1000),
  blob: z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/),
});

const orgListUrl = (orgSlug: string) => `/${encodeURIComponent(orgSlug)}/-/acknowledgments`;
const statusUrl = (project: { orgSlug: string; slug: string }, path: string) =>
  `${projectUrl(project)}-/acknowledgments/${path.split('/').map(encodeURIComponent).join('/')}`;

/** The redline of what changed for this person: the version they last acknowledged against the current one. */
export function redlineHref(task: AcknowledgmentTask): string | null {
  const last = task.lastAcknowledged;
  if (task.status !== 'open' || !last || last.commit === task.currentCommit) return null;
  const project = { orgSlug: task.orgSlug, slug: task.projectSlug };
  return `${projectUrl(project)}-/compare/${last.commit}..${task.currentCommit}/${task.path.split('/').map(encodeURIComponent).join('/')}`;
}

/** Acknowledgments: the button on a document, the organization's list, the managers' status and its CSV. */
export function registerAcknowledgmentRoutes(app: FastifyInstance, deps: Deps): void {
  const { open, acknowledgments, secret } = deps;

  // The top bar's count on signed-in pages (browser sessions). A failure to count leaves it off.
  app.decorateRequest('openAcknowledgments', null);
  // A callback hook: requests it does not concern (anonymous, tokens, not GET) pass without a promise.
  app.addHook('preHandler', (request, _reply, done) => {
    const actor = request.actor;
    if (request.method !== 'GET' || !request.session || actor.kind !== 'user' || actor.via) return done();
    acknowledgments.openCount(actor).then(
      (found) => {
        if (found.count > 0 && found.orgSlug !== null) {
          request.openAcknowledgments = {
            count: found.count > OPEN_TASKS_CAP ? `${OPEN_TASKS_CAP}+` : String(found.count),
            href: orgListUrl(found.orgSlug),
          };
        }
        done();
      },
      (error: unknown) => {
        request.log.error({ err: error, requestId: request.id }, 'open acknowledgments unavailable');
        done();
      },
    );
  });

  app.get<{ Params: { org: string } }>('/:org/-/acknowledgments', { config: { access: 'policy' } }, async (request, reply) => {
    const { actor, org } = await open.organization(request, 'read', 'organization');
    const tasks = await acknowledgments.tasksFor(actor, org.id);
    const row = (task: AcknowledgmentTask): AckTaskRow => ({
      title: task.title,
      projectName: task.projectName,
      path: task.path,
      href: documentUrl({ orgSlug: task.orgSlug, slug: task.projectSlug }, task.path),
      dueAt: task.dueAt,
      overdue: task.overdue,
      status: task.status,
      redlineHref: redlineHref(task),
      acknowledgedAt: task.lastAcknowledged?.at ?? null,
    });
    const documents = acknowledgments.mayTrack(actor, org.id) ? await acknowledgments.documentSummaries(actor, org.id) : null;
    const body = renderAcknowledgmentsBody({
      orgName: org.name,
      overdueCsvHref: documents ? `${orgListUrl(org.slug)}/overdue.csv` : null,
      open: tasks.filter((task) => task.status === 'open').map(row),
      done: tasks.filter((task) => task.status === 'done').map(row),
      documents:
        documents?.map((doc) => ({
          ...doc,
          statusHref: statusUrl({ orgSlug: org.slug, slug: doc.projectSlug }, doc.path),
        })) ?? null,
    });
    return sendPage(request, reply, secret, { title: `Acknowledgments · ${org.name}`, body });
  });

  // managers and above: every overdue acknowledgment of the documents they may read, one row per person
  app.get<{ Params: { org: string } }>('/:org/-/acknowledgments/overdue.csv', { config: { access: 'policy' } }, async (request, reply) => {
    const { actor, org } = await open.organization(request, 'read', 'organization');
    const rows = await acknowledgments.overdueFor(actor, org.id);
    return reply
      .header('content-disposition', `attachment; filename="overdue-acknowledgments-${org.slug}.csv"`)
      .header('cache-control', 'no-store')
      .type('text/csv; charset=utf-8')
      .send(overdueAcknowledgmentsCsv(rows));
  });

  app.post<{ Params: { org: string; project: string } }>(
    '/:org/:project/-/acknowledge',
    { config: { access: 'policy' } },
    async (request, reply) => {
      const signedIn = open.signedIn(request);
      // an acknowledgment is the person's own statement, made signed in, never by an access token
      authorize(signedIn, 'create', { kind: 'acknowledgment', userId: signedIn.userId }, 'Acknowledge documents in the browser, signed in as yourself.');
      const { actor, project } = await open.project(request, 'read');
      const form = acknowledgeForm.safeParse(request.body);
      if (!form.success) throw new InvalidInputError('The form is missing the document or its version. Reload the page.');
      await acknowledgments.acknowledge(actor, project, form.data.path, form.data.blob, { requestId: request.id, ip: request.ip });
      return reply.redirect(documentUrl(project, form.data.path), 303);
    },
  );

  app.get<{ Params: { org: string; project: string; '*': string }; Querystring: { format?: string } }>(
    '/:org/:project/-/acknowledgments/*',
    { config: { access: 'policy' } },
    async (request, reply) => {
      const { actor, project } = await open.project(request, 'read');
      const path = request.params['*'];
      const status = await acknowledgments.documentStatus(actor, project, path);
      if (request.query.format === 'csv') {
        const name = path.replace(/\.md$/i, '').replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 100);
        return reply
          .header('content-disposition', `attachment; filename="acknowledgments-${name}.csv"`)
          .header('cache-control', 'no-store')
          .type('text/csv; charset=utf-8')
          .send(acknowledgmentStatusCsv(status));
      }
      const body = renderAckStatusBody({
        orgName: project.orgName,
        projectName: project.name,
        title: status.title,
        path: status.path,
        documentHref: documentUrl(project, status.path),
        listHref: orgListUrl(project.orgSlug),
        csvHref: `${statusUrl(project, status.path)}?format=csv`,
        dueAt: status.dueAt,
        notice: null,
        rows: status.rows,
      });
      return sendPage(request, reply, secret, { title: `Acknowledgments: ${status.title} · ${project.name}`, body });
    },
  );
}

