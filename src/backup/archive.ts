/**
 * The plaintext inside a backup: a POSIX tar stream (ustar, with a pax `size` record for entries of 8 GiB and
 * more), so that an operator can open a backup without DocuCommit (`age -d backup.age | tar -x`). Entries are
 * streamed from files of known size (a repository bundle is never held in memory), each one's SHA-256 is
 * computed on the way, and the manifest that lists them comes last.
 *
 * The evidence packs' tar (evidence/tar.ts) holds whole entries in memory, with a size cap that suits rendered
 * documents, not repositories; this is the streaming variant for backups, with the same name rules.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { assertEntryName } from '../evidence/tar.ts';

const BLOCK = 512;
/** The largest size a ustar header holds (11 octal digits). */
const USTAR_MAX_SIZE = 0o77777777777;

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
      await this.#write(header(`PaxHeader/${name}`.slice(0, 100), record.length, this.#mtime, 'x'));
      await this.#write(padded(record));
    }
    await this.#write(header(name, Math.min(size, USTAR_MAX_SIZE), this.#mtime, '0'));
    const hash = createHash('sha256');
    let written = 0;
    for await (const chunk of chunks as AsyncIterable<Buffer>) {
      written += chunk.length;
      if (written > size) throw new Error(`${name} grew while it was archived`);
      hash.update(chunk);
      await this.#write(chunk);
    }
    if (written !== size) throw new Error(`${name} shrank while it was archived`);
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (pad > 0) await this.#write(Buffer.alloc(pad));
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
    const out = this.#out;
    if (out.destroyed) throw new Error('the backup output was closed');
    if (out.write(chunk)) return;
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        out.off('drain', onDrain);
        out.off('close', onClose);
        out.off('error', onError);
        if (error) reject(error);
        else resolve();
      };
      const onDrain = () => done();
      const onClose = () => done(new Error('the backup output was closed'));
      const onError = (error: Error) => done(error);
      out.on('drain', onDrain);
      out.on('close', onClose);
      out.on('error', onError);
    });
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
  const reader = new ChunkReader(input);
  const seen = new Set<string>();
  let paxSize: number | null = null;
  let entries = 0;
  for (;;) {
    const block = await reader.read(BLOCK);
    if (block === null) throw new ArchiveFormatError('the archive ends without its end-of-archive blocks (cut short?)');
    if (block.every((byte) => byte === 0)) {
      for (let rest = await reader.read(BLOCK); rest !== null; rest = await reader.read(BLOCK)) {
        if (!rest.every((byte) => byte === 0)) throw new ArchiveFormatError('data follows the end of the archive');
      }
      return entries;
    }
    checkChecksum(block);
    const type = String.fromCharCode(block[156]!);
    let size = octal(block, 124, 12);
    if (type === 'x') {
      if (size > 64 * 1024) throw new ArchiveFormatError('a pax header is too large');
      const data = await reader.read(size);
      if (data === null) throw new ArchiveFormatError('the archive ends inside a header (cut short?)');
      await reader.skip((BLOCK - (size % BLOCK)) % BLOCK);
      const value = /(?:^|\n)\d+ size=(\d+)\n/.exec(data.toString('utf8'))?.[1];
      paxSize = value === undefined ? null : Number(value);
      continue;
    }
    if (type !== '0' && type !== '\0') throw new ArchiveFormatError(`unexpected entry type "${type}" in a backup`);
    if (paxSize !== null) size = paxSize;
    paxSize = null;
    const name = text(block, 0, 100);
    try {
      assertEntryName(name);
    } catch (error) {
      throw new ArchiveFormatError((error as Error).message);
    }
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
    await reader.skip((BLOCK - (size % BLOCK)) % BLOCK);
  }
}

function header(name: string, size: number, mtime: number, type: '0' | 'x'): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(name, 0, 100, 'utf8');
  block.write('0000600\0', 100, 'ascii');
  block.write('0000000\0', 108, 'ascii');
  block.write('0000000\0', 116, 'ascii');
  block.write(size.toString(8).padStart(11, '0') + '\0', 124, 'ascii');
  block.write(mtime.toString(8).padStart(11, '0') + '\0', 136, 'ascii');
  block.write('        ', 148, 'ascii');
  block.write(type, 156, 'ascii');
  block.write('ustar\0', 257, 'ascii');
  block.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return block;
}

function checkChecksum(block: Buffer): void {
  const stored = octal(block, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
  if (sum !== stored) throw new ArchiveFormatError('a tar header checksum does not match (the archive is damaged)');
}

function octal(block: Buffer, offset: number, length: number): number {
  const raw = block.toString('ascii', offset, offset + length).replace(/[\0 ]+$/g, '').trim();
  if (!/^[0-7]{1,12}$/.test(raw)) throw new ArchiveFormatError('a tar header field is not an octal number (the archive is damaged)');
  return parseInt(raw, 8);
}

function text(block: Buffer, offset: number, length: number): string {
  const end = block.indexOf(0, offset);
  return block.toString('utf8', offset, end === -1 || end > offset + length ? offset + length : end);
}

function padded(data: Buffer): Buffer {
  const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
  return pad === 0 ? data : Buffer.concat([data, Buffer.alloc(pad)]);
}

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const bodyBytes = Buffer.byteLength(body, 'utf8');
  let length = bodyBytes + 1;
  while (String(length).length + bodyBytes !== length) length++;
  return Buffer.from(`${length}${body}`, 'utf8');
}

/** Exact-size and up-to-size reads from a stream of chunks. */
class ChunkReader {
  readonly #chunks: AsyncIterator<Buffer>;
  #buffer: Buffer = Buffer.alloc(0);
  #done = false;

  constructor(input: Readable) {
    this.#chunks = (input as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  async #fill(): Promise<boolean> {
    while (this.#buffer.length === 0) {
      if (this.#done) return false;
      const next = await this.#chunks.next();
      if (next.done) {
        this.#done = true;
        return false;
      }
      this.#buffer = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    }
    return true;
  }

  /** Between 1 and `max` bytes, or null at the end of the stream. */
  async readSome(max: number): Promise<Buffer | null> {
    if (!(await this.#fill())) return null;
    const take = Math.min(max, this.#buffer.length);
    const chunk = this.#buffer.subarray(0, take);
    this.#buffer = this.#buffer.subarray(take);
    return chunk;
  }

  /** Exactly `size` bytes, or null when the stream ends first. */
  async read(size: number): Promise<Buffer | null> {
    const parts: Buffer[] = [];
    let have = 0;
    while (have < size) {
      const chunk = await this.readSome(size - have);
      if (chunk === null) return null;
      parts.push(chunk);
      have += chunk.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
  }

  async skip(size: number): Promise<void> {
    let left = size;
    while (left > 0) {
      const chunk = await this.readSome(left);
      if (chunk === null) throw new ArchiveFormatError('the archive ends inside an entry (cut short?)');
      left -= chunk.length;
    }
  }
}
