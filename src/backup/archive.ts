/**
 * The plaintext inside a backup: a POSIX tar stream (ustar, with a pax `size` record for entries of 8 GiB and
 * more), so that an operator can open a backup without DocuCommit (`age -d backup.age | tar -x`). Entries are
 * streamed from files of known size (a repository bundle is never held in memory), each one's SHA-256 is
 * computed on the way, and the manifest that lists them comes last.
 *
 * The evidence packs' tar (evidence/tar.ts) holds whole entries in memory, with a size cap that suits rendered
 * documents, not repositories; this is the streaming variant for backups, with the same name rules and the same
 * ustar primitives (archives/ustar.ts).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import {
  assertEntryName,
  BLOCK,
  checkEntryName,
  ChunkReader,
  header,
  octal,
  padded,
  paddingOf,
  paxRecord,
  readHeader,
  text,
  USTAR_MAX_SIZE,
  writeEntryContent,
  writeRespectingBackpressure,
} from '../archives/ustar.ts';

/** A backup's files are the owner's alone once extracted. */
const MODE = '0000600';
/** The largest pax header the reader accepts (a backup's hold one `size` record). */
const MAX_PAX_HEADER_BYTES = 64 * 1024;

export class ArchiveFormatError extends Error {}

/** What the manifest records of each entry. */
export interface ArchiveEntryDigest {
  name: string;
  size: number;
  sha256: string;
}

/** Writes entries to `out`, respecting backpressure, and remembers their digests. */
export class ArchiveWriter {
  readonly #out: Writable;
  readonly #mtime: number;
  readonly entries: ArchiveEntryDigest[] = [];

  constructor(out: Writable, mtime: Date) {
    this.#out = out;
    this.#mtime = Math.floor(mtime.getTime() / 1000);
  }

  /** Add a file's content under `name`, streamed from disk. */
  async addFile(name: string, path: string): Promise<ArchiveEntryDigest> {
    const { size } = await stat(path);
    return this.#add(name, size, createReadStream(path, { highWaterMark: 256 * 1024 }));
  }

  /** Add a small entry from memory. */
  async addBuffer(name: string, data: Buffer): Promise<ArchiveEntryDigest> {
    return this.#add(name, data.length, [data]);
  }

  async #add(name: string, size: number, chunks: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<ArchiveEntryDigest> {
    assertEntryName(name);
    if (!/^[\x21-\x7e]{1,100}$/.test(name)) throw new Error(`archive entry name not short ASCII: ${name}`);
    if (size > USTAR_MAX_SIZE) {
      const record = paxRecord('size', String(size));
      await this.#write(header(`PaxHeader/${name}`.slice(0, 100), record.length, this.#mtime, 'x', MODE));
      await this.#write(padded(record));
    }
    await this.#write(header(name, Math.min(size, USTAR_MAX_SIZE), this.#mtime, '0', MODE));
    const hash = createHash('sha256');
    await writeEntryContent(name, size, chunks, (chunk) => this.#write(chunk), 'archived', (chunk) => hash.update(chunk));
    const digest = { name, size, sha256: hash.digest('hex') };
    this.entries.push(digest);
    return digest;
  }

  /** Write the end-of-archive blocks and end the stream. */
  async finish(): Promise<void> {
    await this.#write(Buffer.alloc(BLOCK * 2));
    this.#out.end();
  }

  async #write(chunk: Buffer): Promise<void> {
    await writeRespectingBackpressure(this.#out, chunk, 'the backup output was closed');
  }
}

/**
 * Calls `onEntry` for each regular file of a tar stream, in order, with its content as chunks (which `onEntry`
 * must consume). Strict: checksums checked, only regular files and pax headers, safe names, no duplicates.
 * Resolves with the number of entries; rejects when the stream ends early or holds anything else.
 */
export async function readArchive(
  input: Readable,
  onEntry: (name: string, size: number, chunks: AsyncIterable<Buffer>) => Promise<void>,
): Promise<number> {
  const reader = new ChunkReader(input, ArchiveFormatError);
  const seen = new Set<string>();
  let paxSize: number | null = null;
  let entries = 0;
  for (;;) {
    const block = await readHeader(reader, ArchiveFormatError);
    if (block === null) return entries;
    const type = String.fromCharCode(block[156]!);
    let size = octal(block, 124, 12, ArchiveFormatError);
    if (type === 'x') {
      if (size > MAX_PAX_HEADER_BYTES) throw new ArchiveFormatError('a pax header is too large');
      const data = await reader.read(size);
      if (data === null) throw new ArchiveFormatError('the archive ends inside a header (cut short?)');
      await reader.skip(paddingOf(size));
      const value = /(?:^|\n)\d+ size=(\d+)\n/.exec(data.toString('utf8'))?.[1];
      paxSize = value === undefined ? null : Number(value);
      continue;
    }
    if (type !== '0' && type !== '\0') throw new ArchiveFormatError(`unexpected entry type "${type}" in a backup`);
    if (paxSize !== null) size = paxSize;
    paxSize = null;
    const name = text(block, 0, 100);
    checkEntryName(name, ArchiveFormatError);
    if (seen.has(name)) throw new ArchiveFormatError(`the archive holds ${name} twice`);
    seen.add(name);
    entries++;
    let consumed = 0;
    const chunks = (async function* () {
      while (consumed < size) {
        const chunk = await reader.readSome(size - consumed);
        if (chunk === null) throw new ArchiveFormatError('the archive ends inside an entry (cut short?)');
        consumed += chunk.length;
        yield chunk;
      }
    })();
    await onEntry(name, size, chunks);
    // whatever onEntry left unread is skipped, so the next header is found
    for await (const _ of chunks) void _;
    if (consumed < size) await reader.skip(size - consumed);
    await reader.skip(paddingOf(size));
  }
}
