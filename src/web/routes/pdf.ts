import type { FastifyInstance } from 'fastify';
import { auditActorOf } from '../../audit/actor.ts';
import type { AuditGroupCommit } from '../../audit/group-commit.ts';
import { documentPathOfAddress } from '../../changes/document-address.ts';
import type { ProjectHistory } from '../../changes/history.ts';
import { versionPdfJob } from '../document-pdf.ts';
import type { ResourceOpener } from '../open-resource.ts';
import type { PdfImageCollector } from '../pdf-images.ts';
import type { PdfRenderer } from '../pdf-renderer.ts';
import type { GrantLookup } from '../reading-pages.ts';

interface Deps {
  open: ResourceOpener;
  history: ProjectHistory;
  /** Audit events of confidential and restricted reads (a PDF is a read, as the version page is). */
  auditReads: AuditGroupCommit;
  grantsFor: GrantLookup;
  renderer: PdfRenderer;
  /** The attachments a version embeds that the reader may fetch (the attachment address's rule). */
  images: PdfImageCollector;
}

/**
 * `/{org}/{project}/-/pdf/{commit}/{path}`: the PDF of one document version. The same rules as the version page
 * (routes/history.ts): members only, the policy's 404 for a version the reader may not read, and a confidential
 * or restricted read recorded before the bytes leave, whether the PDF was printed or cached.
 */
export function registerPdfRoutes(app: FastifyInstance, deps: Deps): void {
  app.get<{ Params: { org: string; project: string; commit: string; '*': string } }>(
    '/:org/:project/-/pdf/:commit/*',
    { config: { access: 'policy' } },
    async (request, reply) => {
      const { actor, project } = await deps.open.project(request, 'read');
      const reader = { actor, project, grants: await deps.grantsFor(actor, project) };
      const path = documentPathOfAddress(request.params['*']);
      const commit = await deps.history.resolveCommit(reader, request.params.commit);
      const version = await deps.history.version(reader, commit, path);
      const images = await deps.images.collect(project, actor, version.path, version.rendered.html);
      const reads = [
        ...version.audit.map((read) => ({ type: 'document' as const, path: read.path, details: { classification: read.classification, commit: read.commit, format: 'pdf' } })),
        // an embedded file only sensitive documents embed: recorded as its own address records it
        ...images.audits.map((read) => ({ type: 'attachment' as const, path: read.path, details: { classification: read.classification, format: 'pdf' } })),
      ];
      await Promise.all(
        reads.map((read) =>
          deps.auditReads.append({
            orgId: project.orgId,
            actor: auditActorOf(actor),
            action: 'document.read',
            target: { type: read.type, id: `${project.id}:${read.path}`, label: read.path },
            outcome: 'success',
            requestId: request.id,
            ip: request.ip,
            details: read.details,
          }),
        ),
      );
      const pdf = await deps.renderer.render(versionPdfJob({ project, version, images }));
      return reply
        .header('content-type', 'application/pdf')
        .header('content-disposition', attachmentName(path, commit))
        .header('cache-control', 'private, no-store')
        .send(pdf);
    },
  );
}

/** `inline` with the file's name and the short commit id: `name-1a2b3c4d.pdf` (RFC 6266, UTF-8 form too). */
function attachmentName(path: string, commit: string): string {
  const base = (path.split('/').pop() ?? 'document.md').replace(/\.md$/i, '');
  const name = `${base}-${commit.slice(0, 8)}.pdf`;
  const ascii = name.replace(/[^A-Za-z0-9._-]/g, '_');
  return `inline; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}
