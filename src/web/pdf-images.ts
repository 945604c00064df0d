/**
 * The images of a document version's PDF: the attachments its HTML embeds (`<img src="…">` relative to the
 * document, so a file of the same project) that the reader may fetch, by the attachment address's own rule
 * (`ReadingPages.attachment`: they may read a published document that embeds it, or edit the project), within a
 * size budget. The PDF renderer answers the print page's requests for exactly these addresses from memory
 * (pdf-renderer.ts `resources`); every other request is still refused, so a hostile document reaches nothing.
 */
import type { Actor } from '../access/actor.ts';
import { deliveryOf, type AttachmentReader } from '../projects/attachments.ts';
import type { ProjectRecord } from '../projects/projects.ts';
import type { PdfResource } from './pdf-renderer.ts';
import type { AttachmentAnswer, AuditedRead } from './reading-pages.ts';

/** The made-up origin the print page is given as its base: nothing on the network answers for it, only us. */
export const PRINT_ORIGIN = 'https://print.docucommit.invalid';

export interface PdfImageLimits {
  /** Largest single image embedded (larger ones are left out). */
  imageBytes: number;
  /** Total bytes of the images of one PDF (those past it are left out). */
  totalBytes: number;
  /** Most images of one PDF. */
  images: number;
}

export const DEFAULT_PDF_IMAGE_LIMITS: PdfImageLimits = { imageBytes: 5 * 1024 * 1024, totalBytes: 20 * 1024 * 1024, images: 50 };

/** The images of one PDF: the renderer's answers by URL, the base URL of the page, and what they add to the cache key. */
export interface PdfImages {
  baseUrl: string;
  resources: Map<string, PdfResource>;
  /** Sorted `path@blob` of the embedded files (a reader who may fetch fewer files gets another PDF). */
  key: string;
  /** Reads of files only confidential or restricted documents embed (recorded as the attachment address does). */
  audits: AuditedRead[];
}

type AttachmentAccess = (project: ProjectRecord, actor: Actor, path: string) => Promise<AttachmentAnswer | null>;

/** The character references the sanitizer writes in an attribute, by name (decoded to find the file). */
const REFERENCES: Record<string, string> = { amp: '&', quot: '"', '#39': "'", '#x27': "'", lt: '<', gt: '>' };

export class PdfImageCollector {
  constructor(
    private readonly access: AttachmentAccess,
    private readonly reader: Pick<AttachmentReader, 'read' | 'sizeOf'>,
    private readonly limits: PdfImageLimits = DEFAULT_PDF_IMAGE_LIMITS,
  ) {}

  /** The images `html` (the sanitized HTML of the document at `documentPath`) embeds that `actor` may fetch. */
  async collect(project: ProjectRecord, actor: Actor, documentPath: string, html: string): Promise<PdfImages> {
    const folder = documentPath.split('/').slice(0, -1);
    const baseUrl = `${PRINT_ORIGIN}/${folder.map(encodeURIComponent).join('/')}${folder.length > 0 ? '/' : ''}`;
    const resources = new Map<string, PdfResource>();
    const audits: AuditedRead[] = [];
    const embedded: string[] = [];
    let total = 0;
    for (const [url, path] of imageAddresses(html, baseUrl)) {
      if (resources.size >= this.limits.images) break;
      const type = deliveryOf(path, true).contentType;
      if (!type.startsWith('image/')) continue;
      const answer = await this.access(project, actor, path);
      if (!answer) continue;
      const size = await this.reader.sizeOf(project, answer.file);
      if (size > this.limits.imageBytes || total + size > this.limits.totalBytes) continue;
      const body = await this.reader.read(project, answer.file);
      total += body.length;
      resources.set(url, { contentType: type, body });
      embedded.push(`${path}@${answer.file.blobId}`);
      if (answer.audit) audits.push(answer.audit);
    }
    return { baseUrl, resources, key: embedded.sort().join('\n'), audits };
  }
}

/** Each distinct relative image address of `html`, resolved against `baseUrl`: URL → attachment path. */
function imageAddresses(html: string, baseUrl: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const match of html.matchAll(/<img\b[^>]*?\ssrc="([^"]*)"/gi)) {
    const src = match[1]!.replace(/&(amp|quot|#39|#x27|lt|gt);/g, (reference, name: string) => REFERENCES[name] ?? reference);
    // only the project's own files: no scheme, no other host
    if (/^[a-z][a-z0-9+.-]*:/i.test(src) || src.startsWith('//') || src.startsWith('\\')) continue;
    let url: URL;
    try {
      url = new URL(src, baseUrl);
    } catch {
      continue;
    }
    if (url.origin !== PRINT_ORIGIN || url.search !== '') continue;
    url.hash = '';
    let path: string;
    try {
      path = decodeURIComponent(url.pathname.slice(1));
    } catch {
      continue;
    }
    if (path === '' || path.includes('\0') || path.split('/').some((s) => s === '' || s === '.' || s === '..')) continue;
    found.set(url.href, path);
  }
  return found;
}
