/**
 * Rendered HTML, kept in pack files under DATA/rendered/<project>/<renderer version>/: each render batch writes
 * one pack holding the HTML of its documents one after another, and each document's rendered_documents row
 * records where its HTML is (pack, offset, length). It is a cache of what the Markdown in git renders to: the
 * database keeps the metadata (title, links, TOC); anything missing or damaged here is rendered again from git.
 * Render workers write packs themselves, so a full import's ~70 MB of HTML never crosses to the main thread or
 * through SQL (that was a quarter of an import's CPU), and one file per batch rather than per document keeps
 * file creation (costly on a busy journaling file system) out of the way.
 *
 * A pack is written to a temporary name and renamed before any row names it. Each record carries the SHA-256 and
 * length of its HTML: a pack cut short by a crash (a rename without fsync can leave an empty or partial file)
 * is detected when read and treated as missing. Used by the main thread (async) and by render workers (sync),
 * so it imports nothing but Node built-ins and the renderer version.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { mkdir, open, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RENDERER_VERSION } from '../content/render-document.ts';
import type { TrustedHtml } from '../content/trusted-html.ts';

/** Where one document's HTML is: a pack of the project's HTML folder, and the record's place in it. */
export interface HtmlLocation {
  pack: string;
  offset: number;
  length: number;
}

const RECORD_HEADER = /^docucommit-html 1 ([0-9a-f]{64}) (\d+)$/;
const PACK_NAME = /^[0-9a-f]{32}$/;
const PROJECT_ID = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
/** Longest record header: the fixed text, a digest, a length. */
const MAX_HEADER_BYTES = 120;

/** The folder holding one project's HTML for the current renderer version. */
export function projectHtmlDir(root: string, projectId: string): string {
  // ids come from our own database; refuse anything that could leave the folder all the same
  if (!PROJECT_ID.test(projectId)) throw new Error(`unexpected project id ${JSON.stringify(projectId)}`);
  return join(root, projectId, RENDERER_VERSION);
}

/** A pack's file, fanned out over 256 folders. The name comes from a database row: anything odd is refused. */
function packFile(dir: string, pack: string): { folder: string; file: string } {
  if (!PACK_NAME.test(pack)) throw new Error(`unexpected HTML pack name ${JSON.stringify(pack)}`);
  const folder = join(dir, pack.slice(0, 2));
  return { folder, file: join(folder, `${pack.slice(2)}.pack`) };
}

/** One record: a header line with the HTML's digest and length, then the HTML. */
export function encodeHtmlRecord(html: string): Buffer {
  const body = Buffer.from(html, 'utf8');
  const digest = createHash('sha256').update(body).digest('hex');
  return Buffer.concat([Buffer.from(`docucommit-html 1 ${digest} ${body.length}\n`, 'ascii'), body]);
}

/** The HTML of one record as written by encodeHtmlRecord, or null when it is not one or is incomplete. */
export function decodeHtmlRecord(record: Buffer): string | null {
  const newline = record.subarray(0, MAX_HEADER_BYTES).indexOf(0x0a);
  if (newline === -1) return null;
  const match = RECORD_HEADER.exec(record.toString('ascii', 0, newline));
  if (!match) return null;
  const body = record.subarray(newline + 1);
  if (body.length !== Number(match[2])) return null;
  if (createHash('sha256').update(body).digest('hex') !== match[1]) return null;
  return body.toString('utf8');
}

/** The records of `htmls` in one buffer, with each one's place. */
function buildPack(htmls: readonly string[]): { pack: string; content: Buffer; locations: HtmlLocation[] } {
  const pack = randomBytes(16).toString('hex');
  const records = htmls.map(encodeHtmlRecord);
  let offset = 0;
  const locations = records.map((record) => {
    const location = { pack, offset, length: record.length };
    offset += record.length;
    return location;
  });
  return { pack, content: Buffer.concat(records), locations };
}

/**
 * Fan-out folders this thread has made or seen: a recursive mkdir per pack cost more than writing it. Should one
 * vanish (the cache cleared while running), the write fails with ENOENT and the folder is made again.
 */
const knownFolders = new Set<string>();

/** Write the HTML of a batch of documents as one pack (render workers: synchronous, off the main thread). */
export function writeHtmlPackSync(dir: string, htmls: readonly string[]): HtmlLocation[] {
  const { pack, content, locations } = buildPack(htmls);
  const { folder, file } = packFile(dir, pack);
  if (!knownFolders.has(folder)) mkdirSync(folder, { recursive: true });
  try {
    writeFileSync(`${file}.tmp`, content);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    mkdirSync(folder, { recursive: true });
    writeFileSync(`${file}.tmp`, content);
  }
  knownFolders.add(folder);
  renameSync(`${file}.tmp`, file);
  return locations;
}

/** Write the HTML of a batch of documents as one pack (main thread). */
export async function writeHtmlPack(dir: string, htmls: readonly string[]): Promise<HtmlLocation[]> {
  const { pack, content, locations } = buildPack(htmls);
  const { folder, file } = packFile(dir, pack);
  if (!knownFolders.has(folder)) await mkdir(folder, { recursive: true });
  try {
    await writeFile(`${file}.tmp`, content);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(folder, { recursive: true });
    await writeFile(`${file}.tmp`, content);
  }
  knownFolders.add(folder);
  await rename(`${file}.tmp`, file);
  return locations;
}

/**
 * The HTML at `location`, or null when its pack is missing or the record is damaged. Packs hold only what the
 * sanitizer wrote (rendered documents), and a damaged record is refused by its checksum: it is trusted again.
 */
export async function readHtml(dir: string, location: HtmlLocation): Promise<TrustedHtml | null> {
  let handle;
  try {
    handle = await open(packFile(dir, location.pack).file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const record = Buffer.alloc(location.length);
    const { bytesRead } = await handle.read(record, 0, location.length, location.offset);
    return bytesRead === location.length ? (decodeHtmlRecord(record) as TrustedHtml | null) : null;
  } finally {
    await handle.close();
  }
}

/**
 * The HTML at each location (null where missing or damaged), opening each pack once: a bulk reader (the search
 * index of a whole project) reads thousands of records from a few hundred packs.
 */
export async function readHtmlMany(dir: string, locations: readonly HtmlLocation[]): Promise<(TrustedHtml | null)[]> {
  const result: (TrustedHtml | null)[] = locations.map(() => null);
  const byPack = new Map<string, number[]>();
  locations.forEach((location, i) => {
    const list = byPack.get(location.pack);
    if (list) list.push(i);
    else byPack.set(location.pack, [i]);
  });
  for (const [pack, indexes] of byPack) {
    let handle;
    try {
      handle = await open(packFile(dir, pack).file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    try {
      for (const i of indexes) {
        const location = locations[i]!;
        const record = Buffer.alloc(location.length);
        const { bytesRead } = await handle.read(record, 0, location.length, location.offset);
        result[i] = bytesRead === location.length ? (decodeHtmlRecord(record) as TrustedHtml | null) : null;
      }
    } finally {
      await handle.close();
    }
  }
  return result;
}
