import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createGzip } from 'node:zlib';
import type { UserActor } from '../../access/actor.ts';
import type { EvidencePacks } from '../../evidence/evidence-packs.ts';
import { InvalidInputError } from '../../errors.ts';
import type { Organization } from '../../organizations/organizations.ts';
import { sessionCsrfToken } from '../csrf.ts';
import type { ResourceOpener } from '../open-resource.ts';
import { sendPage } from '../page.ts';
import type { PdfRenderer } from '../pdf-renderer.ts';
import { registerPdfJob } from '../register-pdf.ts';
import { renderEvidenceBody, type EvidenceView } from '../views/evidence.tsx';

interface Deps {
  open: ResourceOpener;
  evidence: EvidencePacks;
  renderer: PdfRenderer;
  secret: Buffer;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * `/{org}/-/evidence`: the auditor's evidence pack, for admins and owners (everyone else: the one 404), in the
 * browser only. `/{org}/-/evidence-key`: the public key packs are signed with, public by design (an auditor who
 * is not a member must be able to fetch it independently of a pack); 404 for an organization without one.
 */
export function registerEvidenceRoutes(app: FastifyInstance, deps: Deps): void {
  const { open, evidence, secret } = deps;
  const resolve = (request: FastifyRequest) => open.organization(request, 'read', 'audit-log', { browserOnly: true });

  async function sendForm(request: FastifyRequest, reply: FastifyReply, org: Organization, actor: UserActor, values: EvidenceView['values'], error: string | null, status = 200) {
    const overview = await evidence.overview(actor, org.id);
    const view: EvidenceView = {
      csrfToken: sessionCsrfToken(secret, request.session!.idHash),
      orgSlug: org.slug,
      orgName: org.name,
      projects: overview.projects,
      values,
      error,
      fingerprint: overview.fingerprint,
    };
    return sendPage(request, reply, secret, { title: `Evidence · ${org.name}`, body: renderEvidenceBody(view), status });
  }

  app.get<{ Params: { org: string } }>('/:org/-/evidence', { config: { access: 'policy' } }, async (request, reply) => {
    const { actor, org } = await resolve(request);
    const today = new Date();
    const yearAgo = new Date(today.getTime() - 364 * DAY_MS);
    return sendForm(request, reply, org, actor, { from: yearAgo.toISOString().slice(0, 10), to: today.toISOString().slice(0, 10), project: '' }, null);
  });

  app.post<{ Params: { org: string }; Body: Record<string, unknown> }>('/:org/-/evidence', { config: { access: 'policy' } }, async (request, reply) => {
    const { actor, org } = await resolve(request);
    const values = periodFields(request.body);
    let write;
    try {
      write = await evidence.start(actor, org, { from: values.from, to: values.to, projectSlug: values.project || null }, { requestId: String(request.id), ip: request.ip });
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      return sendForm(request, reply, org, actor, values, error.message, 400);
    }
    // checked and recorded: the pack is streamed as it is built (a failure part-way leaves a pack that does not verify)
    const gzip = createGzip();
    // a download cancelled part-way stops the work
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) gzip.destroy();
    });
    write(gzip).catch((error: unknown) => {
      request.log.error({ err: error }, 'evidence pack failed part-way');
      gzip.destroy(error as Error);
    });
    const name = `evidence-${org.slug}${values.project ? `-${values.project}` : ''}-${values.from}-${values.to}.tar.gz`;
    return reply
      .header('cache-control', 'no-store')
      .header('content-disposition', `attachment; filename="${name.replace(/[^A-Za-z0-9._-]/g, '_')}"`)
      .type('application/gzip')
      .send(gzip);
  });

  // the register alone, as a PDF: the same form (its second button), access and checks; recorded before it is read
  app.post<{ Params: { org: string }; Body: Record<string, unknown> }>('/:org/-/evidence/register.pdf', { config: { access: 'policy' } }, async (request, reply) => {
    const { actor, org } = await resolve(request);
    const values = periodFields(request.body);
    let register;
    try {
      register = await evidence.register(actor, org, { from: values.from, to: values.to, projectSlug: values.project || null }, { requestId: String(request.id), ip: request.ip });
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      return sendForm(request, reply, org, actor, values, error.message, 400);
    }
    const pdf = await deps.renderer.render(registerPdfJob(register));
    const name = `register-${org.slug}${values.project ? `-${values.project}` : ''}-${values.from}-${values.to}.pdf`;
    return reply
      .header('cache-control', 'private, no-store')
      .header('content-disposition', `inline; filename="${name.replace(/[^A-Za-z0-9._-]/g, '_')}"`)
      .type('application/pdf')
      .send(pdf);
  });

  app.get<{ Params: { org: string } }>('/:org/-/evidence-key', { config: { access: 'public' } }, async (request, reply) => {
    const pem = await evidence.publicKey(request.params.org);
    return reply.header('cache-control', 'no-cache').type('application/x-pem-file; charset=utf-8').send(pem);
  });
}

/** The period form's fields (trimmed, at most 100 characters each). */
function periodFields(body: Record<string, unknown> | undefined): EvidenceView['values'] {
  const field = (name: string) => (typeof body?.[name] === 'string' ? body[name].trim().slice(0, 100) : '');
  return { from: field('from'), to: field('to'), project: field('project') };
}
