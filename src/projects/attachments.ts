/**
 * Attachments: the non-Markdown files of a project (images, PDFs, spreadsheets…), served at their paths.
 * Nothing a user committed may run in our origin, so a file's answer is decided here from its extension alone:
 * a short list of types is shown inline, SVG only where it is loaded as an image, everything else downloads.
 */
import { isDocumentPath, isReservedPath } from '../content/document-path.ts';
import type { TreeEntry } from '../git/repository.ts';
import { runGit, userArg } from '../git/run.ts';
import type { SnapshotAttachment } from './snapshot.ts';
import type { RepositoryRegistry } from './repositories.ts';
import type { ProjectRecord } from './projects.ts';

/** Largest attachment served; larger files stay in the repository (clone it to get them). */
export const MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024;

/** Regular files that are not documents, outside dot-folders (`.github/`) and the reserved `-/`. */
export function isAttachmentEntry(entry: Pick<TreeEntry, 'mode' | 'type' | 'path'>): boolean {
  if (entry.type !== 'blob' || (entry.mode !== '100644' && entry.mode !== '100755')) return false;
  if (isDocumentPath(entry.path) || isReservedPath(entry.path)) return false;
  return !entry.path.split('/').some((segment) => segment.startsWith('.'));
}

/** The attachments of a tree listing, by path. */
export function attachmentsOf(entries: readonly TreeEntry[]): Map<string, SnapshotAttachment> {
  const attachments = new Map<string, SnapshotAttachment>();
  for (const entry of entries) {
    if (isAttachmentEntry(entry)) attachments.set(entry.path, { path: entry.path, blobId: entry.oid, size: entry.size });
  }
  return attachments;
}

/** How a file is answered: its content type, and whether the browser may show it or must download it. */
export interface AttachmentDelivery {
  contentType: string;
  disposition: 'inline' | 'attachment';
}

// Types a browser shows without running anything from the file. Text types carry a charset; with `nosniff` they
// are never read as HTML.
const INLINE_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  ico: 'image/x-icon',
  bmp: 'image/bmp',
  pdf: 'application/pdf',
  txt: 'text/plain; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  mp4: 'video/mp4',
  webm: 'video/webm',
  mp3: 'audio/mpeg',
};

// Known types offered as downloads (the right type helps the program that opens them).
const DOWNLOAD_TYPES: Record<string, string> = {
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  zip: 'application/zip',
};

/**
 * The delivery of the file at `path`. `asImage`: the browser is loading it for an `<img>` (Sec-Fetch-Dest:
 * image), the only way an SVG is shown — opened as a page it would be a document of our origin, so it downloads.
 * HTML and anything unknown download as opaque bytes.
 */
export function deliveryOf(path: string, asImage: boolean): AttachmentDelivery {
  const extension = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase() ?? '';
  if (extension === 'svg') return asImage ? { contentType: 'image/svg+xml', disposition: 'inline' } : { contentType: 'application/octet-stream', disposition: 'attachment' };
  const inline = INLINE_TYPES[extension];
  if (inline) return { contentType: inline, disposition: 'inline' };
  return { contentType: DOWNLOAD_TYPES[extension] ?? 'application/octet-stream', disposition: 'attachment' };
}

/** Reads attachment bytes from a project's repository (callers authorize first). */
export class AttachmentReader {
  constructor(private readonly repositories: RepositoryRegistry) {}

  async read(project: ProjectRecord, attachment: SnapshotAttachment): Promise<Buffer> {
    const repository = await this.repositories.get(project);
    return repository.readBlob(attachment.blobId);
  }

  /** The file's size: from the tree listing, or asked of git (files added by an incremental publish). */
  async sizeOf(project: ProjectRecord, attachment: SnapshotAttachment): Promise<number> {
    if (attachment.size !== null) return attachment.size;
    const { stdout } = await runGit({ gitDir: this.repositories.pathOf(project), args: ['cat-file', '-s', '--end-of-options', userArg(attachment.blobId)] });
    return Number(stdout.toString('utf8').trim());
  }
}
