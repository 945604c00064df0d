import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { notePolicyDenial } from '../../access/denials.ts';
import { can, clearanceFor } from '../../access/policy.ts';
import { auditActorOf } from '../../audit/actor.ts';
import type { AuditGroupCommit } from '../../audit/group-commit.ts';
import type { OrganizationDirectory } from '../../organizations/directory.ts';
import type { AttachmentReader } from '../../projects/attachments.ts';
import type { Acknowledgments } from '../../evidence/acknowledgments.ts';
import type { ProjectCatalog } from '../../projects/catalog.ts';
import type { ProjectRecord } from '../../projects/projects.ts';
import type { Publisher } from '../../projects/publisher.ts';
import { sendAttachment } from '../attachment-response.ts';
import { redirectToLogin, sendNotFound } from '../error-handler.ts';
import { sendPage } from '../page.ts';
import type { AuditedRead, ReadingPages, ReadingResult } from '../reading-pages.ts';
import { projectUrl } from '../urls.ts';
import { ACK_BANNER_SLOT } from '../views/document.tsx';
import { renderProjectListBody } from '../views/index.ts';
import { acknowledgmentBanner } from './acknowledgment-banner.ts';
import type { Reviews } from '../../evidence/reviews.ts';
import { reviewBanner } from './reviews.ts';
import { isReservedPath } from '../../content/document-path.ts';
import type { TrustedHtml } from '../../content/trusted-html.ts';

interface Deps {
  organizations: Pick<OrganizationDirectory, 'namesOf'>;
  /** For the audit events of confidential and restricted reads. */
  auditReads: AuditGroupCommit;
  catalog: ProjectCatalog;
  publisher: Publisher;
  pages: ReadingPages;
  /** Reads the bytes of the attachments `pages.attachment` lets a reader fetch. */
  attachments: AttachmentReader;
  /** The banner of a document that asks the reader to acknowledge it. */
  acknowledgments?: Acknowledgments;
  /** The review box of a document with a review cadence, for those who may edit it. */
  reviews?: Reviews;
  secret: Buffer;
}

type ProjectParams = { org: string; project: string };

/** The reading pages: project list, project home, documents, sections, tags. */
export function registerReadingRoutes(app: FastifyInstance, deps: Deps): void {
  const { catalog, publisher, pages, secret } = deps;

  app.get('/', { config: { access: 'policy' } }, async (request, reply) => {
    const actor = request.actor;
    const visible = (await catalog.all()).filter((p) => can(actor, 'list', { kind: 'project', orgId: p.orgId }));
    const creatorOf = actor.kind === 'user' ? [...actor.memberships.keys()].filter((orgId) => can(actor, 'create', { kind: 'project', orgId })) : [];
    const newProjectIn = await deps.organizations.namesOf(creatorOf);
    const body = renderProjectListBody({
      signedIn: actor.kind === 'user',
      newProjectIn,
      projects: visible.map((p) => ({
        orgSlug: p.orgSlug,
        orgName: p.orgName,
        slug: p.slug,
        name: p.name,
        description: p.description,
        documentCount: publisher.snapshotOf(p.id)?.countFor(clearanceFor(actor, p.orgId)) ?? 0,
      })),
    });
    return sendPage(request, reply, secret, { title: 'Projects', body });
  });

  app.get<{ Params: ProjectParams }>('/:org/:project', { config: { access: 'policy' } }, async (request, reply) => {
    const { org, project } = request.params;
    // `/org/` matches with an empty project: missing like any other (the organization's page is `/org`, trust-center.ts)
    if (project === '') return answer(request, reply, null);
    return reply.redirect(projectUrl({ orgSlug: org, slug: project }), 301);
  });

  app.get<{ Params: ProjectParams }>('/:org/:project/-/problems', { config: { access: 'policy' } }, async (request, reply) => {
    const project = await catalog.find(request.params.org, request.params.project);
    const result = project ? await pages.problemsPage(project, request.actor) : null;
    return answer(request, reply, result);
  });

  app.get<{ Params: ProjectParams }>('/:org/:project/-/tags', { config: { access: 'policy' } }, async (request, reply) => {
    const project = await catalog.find(request.params.org, request.params.project);
    const result = project ? await pages.tagIndexPage(project, request.actor) : null;
    return answer(request, reply, result);
  });

  app.get<{ Params: ProjectParams & { tag: string } }>(
    '/:org/:project/-/tags/:tag',
    { config: { access: 'policy' } },
    async (request, reply) => {
      const project = await catalog.find(request.params.org, request.params.project);
      const result = project ? await pages.tagPage(project, request.actor, request.params.tag) : null;
      return answer(request, reply, result);
    },
  );

  // The project as in effect on a day: `/{org}/{project}/-/at/{YYYY-MM-DD}/…`, navigation included.
  app.get<{ Params: ProjectParams & { date: string } }>('/:org/:project/-/at/:date', { config: { access: 'policy' } }, async (request, reply) => {
    const { org, project, date } = request.params;
    return reply.redirect(`${projectUrl({ orgSlug: org, slug: project })}-/at/${encodeURIComponent(date)}/`, 301);
  });

  app.get<{ Params: ProjectParams & { date: string; '*': string } }>(
    '/:org/:project/-/at/:date/*',
    { config: { access: 'policy' } },
    async (request, reply) => {
      const rest = request.params['*'];
      if (rest.includes('\0') || rest.split('/').some((s) => s === '..' || s === '.')) return answer(request, reply, null);
      const project = await catalog.find(request.params.org, request.params.project);
      if (!project) return answer(request, reply, null);
      const { date } = request.params;
      // an image or file the documents of that day embed
      const file = rest !== '' && !rest.endsWith('/') && !isReservedPath(rest) ? await pages.attachment(project, request.actor, rest, date) : null;
      if (file) {
        if (file.audit) await auditRead(request, file.audit, 'attachment');
        return sendAttachment(request, reply, file.file, {
          size: () => deps.attachments.sizeOf(project, file.file),
          read: () => deps.attachments.read(project, file.file),
        });
      }
      return answer(request, reply, await pages.asOfPage(project, request.actor, date, rest));
    },
  );

  app.get<{ Params: ProjectParams & { '*': string } }>(
    '/:org/:project/*',
    { config: { access: 'policy' } },
    async (request, reply) => {
      const rest = request.params['*'];
      if (rest.includes('\0') || rest.split('/').some((s) => s === '..' || s === '.')) {
        return answer(request, reply, null);
      }
      const project = await catalog.find(request.params.org, request.params.project);
      if (project && publisher.snapshotOf(project.id)?.attachments.has(rest)) {
        const file = await pages.attachment(project, request.actor, rest);
        if (!file) return answer(request, reply, null);
        if (file.audit) await auditRead(request, file.audit, 'attachment');
        return sendAttachment(request, reply, file.file, {
          size: () => deps.attachments.sizeOf(project, file.file),
          read: () => deps.attachments.read(project, file.file),
        });
      }
      const result = project ? await pages.page(project, request.actor, rest) : null;
      if (!result && project) noteHiddenDocument(request, project, rest);
      return answer(request, reply, result);
    },
  );

  /** A member asking for a document their clearance hides: the 404 is the policy's, so it is audited (access.denied). */
  function noteHiddenDocument(request: FastifyRequest, project: ProjectRecord, rest: string): void {
    if (request.actor.kind !== 'user' || !request.actor.memberships.has(project.orgId)) return;
    const folder = rest.replace(/\/+$/, '');
    const path = rest === '' || rest.endsWith('/') ? (folder === '' ? 'index.md' : `${folder}/index.md`) : `${rest}.md`;
    if (!publisher.snapshotOf(project.id)?.documents.has(path)) return;
    notePolicyDenial(request, { orgId: project.orgId, target: { type: 'document', id: `${project.id}:${path}`, label: path } });
  }

  /**
   * Record a confidential or restricted read (a document, or a file only such documents embed). Reads that arrive
   * together share one commit (audit/group-commit.ts).
   */
  async function auditRead(request: FastifyRequest, read: AuditedRead, type: 'document' | 'attachment'): Promise<void> {
    const { orgId, projectId, path, classification } = read;
    await deps.auditReads.append({
      orgId,
      actor: auditActorOf(request.actor),
      action: 'document.read',
      target: { type, id: `${projectId}:${path}`, label: path },
      outcome: 'success',
      requestId: request.id,
      ip: request.ip,
      details: { classification },
    });
  }

  async function answer(request: FastifyRequest, reply: FastifyReply, result: ReadingResult) {
    if (!result) {
      // Missing and not-readable look the same; anonymous readers are offered sign-in for both.
      return request.actor.kind === 'anonymous' ? redirectToLogin(request, reply) : sendNotFound(request, reply, secret);
    }
    if (result.kind === 'redirect') return reply.redirect(result.location, 301);
    // Durable before the page leaves: no confidential or restricted read without its audit event.
    if (result.audit) await auditRead(request, result.audit, 'document');
    let body: TrustedHtml | Buffer | readonly Buffer[] = result.body;
    const shown = result.document;
    if (shown && !shown.asOf && request.actor.kind === 'user' && request.session) {
      const banners: string[] = [];
      if (shown.asks && !shown.upcoming && deps.acknowledgments) {
        const banner = await acknowledgmentBanner(request, deps.acknowledgments, shown, secret);
        if (banner !== null) banners.push(banner);
      }
      if (shown.reviewed && deps.reviews) {
        const banner = await reviewBanner(request, deps.reviews, shown, secret);
        if (banner !== null) banners.push(banner);
      }
      if (banners.length > 0) body = withBanner(body, banners.length === 1 ? banners[0]! : banners.join(''));
    }
    return sendPage(request, reply, secret, {
      title: result.title,
      body,
      // Audited reads are never cached as whole pages (they are never anonymous either).
      ...(result.cacheKey !== undefined && !result.audit ? { cacheKey: result.cacheKey } : {}),
    });
  }
}

const SLOT_BYTES = Buffer.from(ACK_BANNER_SLOT, 'utf8');

/**
 * A cached body split at its banner slot (searched once per body buffer: a search of every signed-in view showed in
 * its profile); null when it has no slot.
 */
const bodyAroundSlot = new WeakMap<Buffer, readonly [Buffer, Buffer] | null>();

/**
 * The document body with the reader's banner in its slot, as parts the page frame copies once (the cached body
 * itself is never changed).
 */
function withBanner(body: string | Buffer, banner: string): Buffer | readonly Buffer[] {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  let around = bodyAroundSlot.get(bytes);
  if (around === undefined) {
    const at = bytes.indexOf(SLOT_BYTES);
    around = at === -1 ? null : [bytes.subarray(0, at), bytes.subarray(at + SLOT_BYTES.length)];
    if (typeof body !== 'string') bodyAroundSlot.set(bytes, around);
  }
  if (around === null) return bytes;
  return [around[0], bannerBytes(banner), around[1]];
}

/** Banners encoded (the same reader's banner repeats on every view of a document; bounded: emptied when full). */
const encodedBanners = new Map<string, Buffer>();
const ENCODED_BANNERS_MAX = 5_000;

function bannerBytes(banner: string): Buffer {
  let bytes = encodedBanners.get(banner);
  if (bytes === undefined) {
    bytes = Buffer.from(banner, 'utf8');
    if (encodedBanners.size >= ENCODED_BANNERS_MAX) encodedBanners.clear();
    encodedBanners.set(banner, bytes);
  }
  return bytes;
}
