/**
 * POSIX tar (ustar, with pax `path` records for long or non-ASCII names), written and read as streams.
 *
 * Evidence packs are `.tar.gz`: a format every operating system opens without DocuCommit (`tar -xzf`), written
 * with Node's own zlib. No tar package is among our dependencies and the subset needed (regular files, one
 * mtime, pax paths) is small; the reader is strict because `evidence verify` reads archives it does not trust:
 * checksums checked, only regular files and pax headers, no absolute or `..` names, no duplicates, sizes capped.
 */
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
  parsePax,
  paxRecord,
  readHeader,
  text,
  writeEntryContent,
  writeRespectingBackpressure,
} from '../archives/ustar.ts';

const END = Buffer.alloc(BLOCK * 2);
/** Evidence packs' files are world-readable once extracted. */
const MODE = '0000644';

/** Largest single file the reader accepts (the largest rendered document times a margin). */
export const MAX_ENTRY_BYTES = 256 * 1024 * 1024;
/** Most entries the reader accepts. */
export const MAX_ENTRIES = 1_000_000;

export class TarFormatError extends Error {}

/** Writes entries to `out` (a gzip stream, usually), respecting backpressure. */
export class TarWriter {
  readonly #out: Writable;
  readonly #mtime: number;

  constructor(out: Writable, mtime: Date) {
    this.#out = out;
    this.#mtime = Math.floor(mtime.getTime() / 1000);
  }

  /** Add one regular file. */
  async add(name: string, data: Buffer): Promise<void> {
    await this.#header(name, data.length);
    await this.#write(padded(data));
  }

  /** The header of a regular file (after a pax `path` record when the name needs one). */
  async #header(name: string, size: number): Promise<void> {
    assertEntryName(name);
    const nameBytes = Buffer.from(name, 'utf8');
    const ascii = /^[\x20-\x7e]*$/.test(name);
    if (nameBytes.length > 100 || !ascii) {
      const record = paxRecord('path', name);
      await this.#write(header(`PaxHeader/${shortName(name)}`, record.length, this.#mtime, 'x', MODE));
      await this.#write(padded(record));
    }
    await this.#write(header(nameBytes.length > 100 || !ascii ? shortName(name) : name, size, this.#mtime, '0', MODE));
  }

  /**
   * Add one regular file read from `path` in chunks (a git bundle, a long log), so that no entry has to be held
   * in memory whole. The file must not change while it is added: its size is written first.
   */
  async addFile(name: string, path: string): Promise<void> {
    const { size } = await stat(path);
    await this.#header(name, size);
    const chunks = createReadStream(path, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>;
    await writeEntryContent(name, size, chunks, (chunk) => this.#write(chunk), 'added to the archive');
  }

  /** Write the end-of-archive blocks and end the stream. */
  async finish(): Promise<void> {
    await this.#write(END);
    this.#out.end();
  }

  async #write(chunk: Buffer): Promise<void> {
    await writeRespectingBackpressure(this.#out, chunk, 'the archive output was closed');
  }
}

/** Calls `onEntry` for each file of a tar stream (already decompressed), in order. */
export async function readTar(input: Readable, onEntry: (name: string, data: Buffer) => Promise<void> | void): Promise<number> {
  const reader = new ChunkReader(input, TarFormatError);
  const seen = new Set<string>();
  let pendingPath: string | null = null;
  let entries = 0;
  for (;;) {
    const block = await readHeader(reader, TarFormatError);
    if (block === null) return entries;
    const type = String.fromCharCode(block[156]!);
    const size = octal(block, 124, 12, TarFormatError);
    if (size > MAX_ENTRY_BYTES) throw new TarFormatError(`an entry of ${size} bytes is larger than allowed`);
    const data = await reader.read(size);
    if (data === null) throw new TarFormatError('the archive ends inside an entry (cut short?)');
    await reader.skip(paddingOf(size));
    if (type === 'x') {
      pendingPath = parsePax(data, TarFormatError).path ?? null;
      continue;
    }
    if (type !== '0' && type !== '\0') throw new TarFormatError(`unexpected entry type "${type}" (only regular files belong in an evidence pack)`);
    const prefix = text(block, 345, 155);
    const name = pendingPath ?? (prefix ? `${prefix}/${text(block, 0, 100)}` : text(block, 0, 100));
    pendingPath = null;
    checkEntryName(name, TarFormatError);
    if (seen.has(name)) throw new TarFormatError(`the archive holds ${name} twice`);
    seen.add(name);
    if (++entries > MAX_ENTRIES) throw new TarFormatError('the archive holds too many entries');
    await onEntry(name, data);
  }
}

/** A short ASCII stand-in for a name held in a pax record (readers without pax support see this). */
function shortName(name: string): string {
  return name.replace(/[^\x20-\x7e]/g, '_').slice(-99).replace(/^\/+/, '');
}
