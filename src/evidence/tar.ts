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

const BLOCK = 512;
const END = Buffer.alloc(BLOCK * 2);

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
      await this.#write(header(`PaxHeader/${shortName(name)}`, record.length, this.#mtime, 'x'));
      await this.#write(padded(record));
    }
    await this.#write(header(nameBytes.length > 100 || !ascii ? shortName(name) : name, size, this.#mtime, '0'));
  }

  /**
   * Add one regular file read from `path` in chunks (a git bundle, a long log), so that no entry has to be held
   * in memory whole. The file must not change while it is added: its size is written first.
   */
  async addFile(name: string, path: string): Promise<void> {
    const { size } = await stat(path);
    await this.#header(name, size);
    let written = 0;
    for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>) {
      written += chunk.length;
      if (written > size) throw new Error(`${name} grew while it was added to the archive`);
      await this.#write(chunk);
    }
    if (written !== size) throw new Error(`${name} shrank while it was added to the archive`);
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (pad > 0) await this.#write(Buffer.alloc(pad));
  }

  /** Write the end-of-archive blocks and end the stream. */
  async finish(): Promise<void> {
    await this.#write(END);
    this.#out.end();
  }

  async #write(chunk: Buffer): Promise<void> {
    const out = this.#out;
    if (out.destroyed) throw new Error('the archive output was closed');
    if (out.write(chunk)) return;
    // a reader that goes away (a download cancelled) must not leave the writer waiting for ever
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        out.off('drain', onDrain);
        out.off('close', onClose);
        out.off('error', onError);
        if (error) reject(error);
        else resolve();
      };
      const onDrain = () => done();
      const onClose = () => done(new Error('the archive output was closed'));
      const onError = (error: Error) => done(error);
      out.on('drain', onDrain);
      out.on('close', onClose);
      out.on('error', onError);
    });
  }
}

/** Calls `onEntry` for each file of a tar stream (already decompressed), in order. */
export async function readTar(input: Readable, onEntry: (name: string, data: Buffer) => Promise<void> | void): Promise<number> {
  const reader = new BlockReader(input);
  const seen = new Set<string>();
  let pendingPath: string | null = null;
  let entries = 0;
  for (;;) {
    const block = await reader.read(BLOCK);
    if (block === null) throw new TarFormatError('the archive ends without its end-of-archive blocks (cut short?)');
    if (block.every((byte) => byte === 0)) {
      // what follows the end-of-archive block is padding: zeros only
      for (let rest = await reader.read(BLOCK); rest !== null; rest = await reader.read(BLOCK)) {
        if (!rest.every((byte) => byte === 0)) throw new TarFormatError('data follows the end of the archive');
      }
      return entries;
    }
    checkChecksum(block);
    const type = String.fromCharCode(block[156]!);
    const size = octal(block, 124, 12);
    if (size > MAX_ENTRY_BYTES) throw new TarFormatError(`an entry of ${size} bytes is larger than allowed`);
    const data = await reader.read(size);
    if (data === null) throw new TarFormatError('the archive ends inside an entry (cut short?)');
    await reader.skip((BLOCK - (size % BLOCK)) % BLOCK);
    if (type === 'x') {
      pendingPath = parsePax(data).path ?? null;
      continue;
    }
    if (type !== '0' && type !== '\0') throw new TarFormatError(`unexpected entry type "${type}" (only regular files belong in an evidence pack)`);
    const prefix = text(block, 345, 155);
    const name = pendingPath ?? (prefix ? `${prefix}/${text(block, 0, 100)}` : text(block, 0, 100));
    pendingPath = null;
    try {
      assertEntryName(name);
    } catch (error) {
      throw new TarFormatError((error as Error).message);
    }
    if (seen.has(name)) throw new TarFormatError(`the archive holds ${name} twice`);
    seen.add(name);
    if (++entries > MAX_ENTRIES) throw new TarFormatError('the archive holds too many entries');
    await onEntry(name, data);
  }
}

/** Relative, `/`-separated, without empty, `.` or `..` parts or control characters. */
export function assertEntryName(name: string): void {
  if (name.length === 0 || name.length > 4096 || name.startsWith('/') || /[\0-\x1f\x7f\\]/.test(name)) throw new Error(`unsafe name in archive: ${JSON.stringify(name.slice(0, 200))}`);
  for (const part of name.split('/')) {
    if (part === '' || part === '.' || part === '..') throw new Error(`unsafe name in archive: ${JSON.stringify(name.slice(0, 200))}`);
  }
}

function header(name: string, size: number, mtime: number, type: '0' | 'x'): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(name, 0, 100, 'utf8');
  block.write('0000644\0', 100, 'ascii');
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
  if (sum !== stored) throw new TarFormatError('a tar header checksum does not match (the archive is damaged)');
}

function octal(block: Buffer, offset: number, length: number): number {
  const raw = block.toString('ascii', offset, offset + length).replace(/[\0 ]+$/g, '').trim();
  if (!/^[0-7]{1,12}$/.test(raw)) throw new TarFormatError('a tar header field is not an octal number (the archive is damaged)');
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

/** A short ASCII stand-in for a name held in a pax record (readers without pax support see this). */
function shortName(name: string): string {
  return name.replace(/[^\x20-\x7e]/g, '_').slice(-99).replace(/^\/+/, '');
}

/** One pax record, "<length> <key>=<value>\n", whose length counts itself. */
function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const bodyBytes = Buffer.byteLength(body, 'utf8');
  let length = bodyBytes + 1;
  while (String(length).length + bodyBytes !== length) length++;
  return Buffer.from(`${length}${body}`, 'utf8');
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    if (space === -1) throw new TarFormatError('a pax header is malformed');
    const length = Number(data.toString('ascii', offset, space));
    if (!Number.isSafeInteger(length) || length <= 0 || offset + length > data.length) throw new TarFormatError('a pax header is malformed');
    const record = data.toString('utf8', space + 1, offset + length - 1);
    const equals = record.indexOf('=');
    if (equals === -1) throw new TarFormatError('a pax header is malformed');
    out[record.slice(0, equals)] = record.slice(equals + 1);
    offset += length;
  }
  return out;
}

/** Exact-size reads from a stream of chunks. */
class BlockReader {
  readonly #chunks: AsyncIterator<Buffer>;
  #buffer: Buffer = Buffer.alloc(0);
  #done = false;

  constructor(input: Readable) {
    this.#chunks = (input as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  /** Exactly `size` bytes, or null when the stream ends first. */
  async read(size: number): Promise<Buffer | null> {
    const parts: Buffer[] = [];
    let have = 0;
    while (have < size) {
      if (this.#buffer.length === 0) {
        if (this.#done) return null;
        const next = await this.#chunks.next();
        if (next.done) {
          this.#done = true;
          return null;
        }
        this.#buffer = next.value;
        continue;
      }
      const take = Math.min(size - have, this.#buffer.length);
      parts.push(this.#buffer.subarray(0, take));
      this.#buffer = this.#buffer.subarray(take);
      have += take;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
  }

  async skip(size: number): Promise<void> {
    if (size > 0 && (await this.read(size)) === null) throw new TarFormatError('the archive ends inside an entry (cut short?)');
  }
}
