/**
 * The HTTP answer for an attachment the reader may fetch: its bytes with a content type and disposition from
 * projects/attachments.ts, an ETag from its blob id, byte ranges, and headers that keep the file from acting as a
 * page of our origin (`nosniff`, a sandboxing Content-Security-Policy).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { deliveryOf, MAX_ATTACHMENT_BYTES } from '../projects/attachments.ts';
import type { SnapshotAttachment } from '../projects/snapshot.ts';

/**
 * Even a file shown inline is a sandboxed document with nothing to load: no script, no plugin, no form, no
 * requests (an SVG's own `<style>` may apply).
 */
export const ATTACHMENT_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox";

/** Answer with the file (`read` is called only when its bytes are needed). */
export async function sendAttachment(
  request: FastifyRequest,
  reply: FastifyReply,
  file: SnapshotAttachment,
  source: { size: () => Promise<number>; read: () => Promise<Buffer> },
): Promise<FastifyReply> {
  const etag = `"${file.blobId}"`;
  reply.header('content-security-policy', ATTACHMENT_CSP);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('cache-control', 'private, no-cache');
  reply.header('etag', etag);
  reply.header('accept-ranges', 'bytes');
  if (matchesEtag(request.headers['if-none-match'], etag)) return reply.code(304).send();
  // never read a file into memory that is too large to send
  if ((await source.size()) > MAX_ATTACHMENT_BYTES) return tooLarge(reply);
  const bytes = await source.read();
  const delivery = deliveryOf(file.path, request.headers['sec-fetch-dest'] === 'image');
  reply.header('content-type', delivery.contentType);
  reply.header('content-disposition', dispositionOf(delivery.disposition, file.path));
  const ifRange = request.headers['if-range'];
  const range = parseRange(request.headers.range, bytes.length, Array.isArray(ifRange) ? ifRange[0] : ifRange, etag);
  if (range === 'unsatisfiable') {
    reply.header('content-range', `bytes */${bytes.length}`);
    return reply.code(416).send();
  }
  if (range) {
    reply.header('content-range', `bytes ${range.start}-${range.end}/${bytes.length}`);
    return reply.code(206).send(bytes.subarray(range.start, range.end + 1));
  }
  return reply.code(200).send(bytes);
}

function tooLarge(reply: FastifyReply): FastifyReply {
  reply.header('content-type', 'text/plain; charset=utf-8');
  return reply.code(413).send(`This file is larger than ${MAX_ATTACHMENT_BYTES / (1024 * 1024)} MB, the most DocuCommit serves. Clone the repository to get it.`);
}

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((tag) => {
    const value = tag.trim().replace(/^W\//, '');
    return value === etag || value === '*';
  });
}

/** `inline` or `attachment`, with the file name (RFC 6266/5987: ASCII fallback plus the UTF-8 name). */
export function dispositionOf(disposition: 'inline' | 'attachment', path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  return `${disposition}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/**
 * One byte range of `Range: bytes=…` (a list of ranges, or a stale `If-Range`, is answered with the whole file,
 * which the standard allows); `unsatisfiable` when it starts past the end.
 */
export function parseRange(
  header: string | undefined,
  size: number,
  ifRange: string | undefined,
  etag: string,
): { start: number; end: number } | 'unsatisfiable' | null {
  if (!header || (ifRange !== undefined && ifRange !== etag)) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return null;
  let start: number;
  let end: number;
  if (match[1] === '') {
    // the last N bytes
    const suffix = Number(match[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
    if (end < start && match[2] !== '') return null;
  }
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}
