/**
 * The ustar primitives shared by DocuCommit's two tar formats: the evidence packs (evidence/tar.ts, whole entries
 * in memory, pax `path` records for long names) and the backups (backup/archive.ts, streamed entries, pax `size`
 * records for entries of 8 GiB and more).
 *
 * Each reader keeps its own limits and its own error class at its public surface: the functions here that refuse
 * an archive take the error constructor to throw (`TarFormatError`, `ArchiveFormatError`).
 */
import type { Readable, Writable } from 'node:stream';

/** A tar block: headers are one, entries are padded to a whole number of them. */
export const BLOCK = 512;
/** The largest number an 11-digit octal header field holds (a size, an mtime): 8 GiB - 1. */
export const USTAR_MAX_SIZE = 0o77777777777;

/** The error a reader throws for an archive it refuses (each reader has its own class). */
export type FormatErrorClass = new (message: string) => Error;

/** The file modes the writers use: evidence packs are world-readable, backups are the owner's. */
export type UstarMode = '0000644' | '0000600';

/** How many zero bytes follow an entry of `size` bytes to fill its last block. */
export function paddingOf(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** One ustar header block of a regular file ('0') or a pax extended header ('x'), its checksum filled in. */
export function header(name: string, size: number, mtime: number, type: '0' | 'x', mode: UstarMode): Buffer {
  if (!Number.isSafeInteger(size) || size < 0 || size > USTAR_MAX_SIZE) throw new RangeError(`a ustar header cannot hold the size ${size}`);
  if (!Number.isSafeInteger(mtime) || mtime < 0 || mtime > USTAR_MAX_SIZE) throw new RangeError(`a ustar header cannot hold the time ${mtime}`);
  const block = Buffer.alloc(BLOCK);
  block.write(name, 0, 100, 'utf8');
  block.write(`${mode}\0`, 100, 'ascii');
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

/** Throws `FormatError` unless the header's stored checksum matches its bytes. */
export function checkChecksum(block: Buffer, FormatError: FormatErrorClass): void {
  const stored = octal(block, 148, 8, FormatError);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
  if (sum !== stored) throw new FormatError('a tar header checksum does not match (the archive is damaged)');
}

/** The octal number of a header field (NUL- or space-terminated); `FormatError` when it is not one. */
export function octal(block: Buffer, offset: number, length: number, FormatError: FormatErrorClass): number {
  const raw = block.toString('ascii', offset, offset + length).replace(/[\0 ]+$/g, '').trim();
  if (!/^[0-7]{1,12}$/.test(raw)) throw new FormatError('a tar header field is not an octal number (the archive is damaged)');
  return parseInt(raw, 8);
}

/** The text of a NUL-terminated header field. */
export function text(block: Buffer, offset: number, length: number): string {
  const end = block.indexOf(0, offset);
  return block.toString('utf8', offset, end === -1 || end > offset + length ? offset + length : end);
}

/** `data` followed by the zeros that fill its last block. */
export function padded(data: Buffer): Buffer {
  const pad = paddingOf(data.length);
  return pad === 0 ? data : Buffer.concat([data, Buffer.alloc(pad)]);
}

/** One pax record, "<length> <key>=<value>\n", whose length counts itself. */
export function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const bodyBytes = Buffer.byteLength(body, 'utf8');
  let length = bodyBytes + 1;
  while (String(length).length + bodyBytes !== length) length++;
  return Buffer.from(`${length}${body}`, 'utf8');
}

/** The records of a pax extended header, strictly: a malformed record is `FormatError`. */
export function parsePax(data: Buffer, FormatError: FormatErrorClass): Record<string, string> {
  const out: Record<string, string> = {};
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    if (space === -1) throw new FormatError('a pax header is malformed');
    const length = Number(data.toString('ascii', offset, space));
    if (!Number.isSafeInteger(length) || length <= 0 || offset + length > data.length) throw new FormatError('a pax header is malformed');
    const record = data.toString('utf8', space + 1, offset + length - 1);
    const equals = record.indexOf('=');
    if (equals === -1) throw new FormatError('a pax header is malformed');
    out[record.slice(0, equals)] = record.slice(equals + 1);
    offset += length;
  }
  return out;
}

/** Relative, `/`-separated, without empty, `.` or `..` parts or control characters. */
export function assertEntryName(name: string): void {
  if (name.length === 0 || name.length > 4096 || name.startsWith('/') || /[\0-\x1f\x7f\\]/.test(name)) throw new Error(`unsafe name in archive: ${JSON.stringify(name.slice(0, 200))}`);
  for (const part of name.split('/')) {
    if (part === '' || part === '.' || part === '..') throw new Error(`unsafe name in archive: ${JSON.stringify(name.slice(0, 200))}`);
  }
}

/** `assertEntryName`, refusing with the reader's `FormatError`. */
export function checkEntryName(name: string, FormatError: FormatErrorClass): void {
  try {
    assertEntryName(name);
  } catch (error) {
    throw new FormatError((error as Error).message);
  }
}

/**
 * Writes `chunk` to `out`, waiting for 'drain' when the stream asks to; rejects with `closedMessage` when the
 * output was, or gets, closed first (a reader that goes away, a download cancelled, must not leave the writer
 * waiting for ever).
 */
export async function writeRespectingBackpressure(out: Writable, chunk: Buffer, closedMessage: string): Promise<void> {
  if (out.destroyed) throw new Error(closedMessage);
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
    const onClose = () => done(new Error(closedMessage));
    const onError = (error: Error) => done(error);
    out.on('drain', onDrain);
    out.on('close', onClose);
    out.on('error', onError);
  });
}

/**
 * Writes an entry's content, exactly `size` bytes as its header said, then the padding of its last block. The
 * source must not change meanwhile: one that grows or shrinks is an error that names `name` and says `during`
 * ("added to the archive"), not a damaged archive. `onChunk` sees each chunk before it is written (a digest).
 */
export async function writeEntryContent(
  name: string,
  size: number,
  chunks: AsyncIterable<Buffer> | Iterable<Buffer>,
  write: (chunk: Buffer) => Promise<void>,
  during: string,
  onChunk?: (chunk: Buffer) => void,
): Promise<void> {
  let written = 0;
  for await (const chunk of chunks as AsyncIterable<Buffer>) {
    written += chunk.length;
    if (written > size) throw new Error(`${name} grew while it was ${during}`);
    onChunk?.(chunk);
    await write(chunk);
  }
  if (written !== size) throw new Error(`${name} shrank while it was ${during}`);
  const pad = paddingOf(size);
  if (pad > 0) await write(Buffer.alloc(pad));
}

/** Exact-size and up-to-size reads from a stream of chunks; a stream that ends inside a skip is `FormatError`. */
export class ChunkReader {
  readonly #chunks: AsyncIterator<Buffer>;
  readonly #FormatError: FormatErrorClass;
  #buffer: Buffer = Buffer.alloc(0);
  #done = false;

  constructor(input: Readable, FormatError: FormatErrorClass) {
    this.#chunks = (input as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    this.#FormatError = FormatError;
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

  /** Passes over `size` bytes; `FormatError` when the stream ends first. */
  async skip(size: number): Promise<void> {
    let left = size;
    while (left > 0) {
      const chunk = await this.readSome(left);
      if (chunk === null) throw new this.#FormatError('the archive ends inside an entry (cut short?)');
      left -= chunk.length;
    }
  }
}

/**
 * The next header block, or null at the end of the archive (a zero block, after which only zeros may follow,
 * which are read to the end of the stream). `FormatError` when the stream ends without the end-of-archive block,
 * when data follows it, or when the header's checksum does not match.
 */
export async function readHeader(reader: ChunkReader, FormatError: FormatErrorClass): Promise<Buffer | null> {
  const block = await reader.read(BLOCK);
  if (block === null) throw new FormatError('the archive ends without its end-of-archive blocks (cut short?)');
  if (block.every((byte) => byte === 0)) {
    // what follows the end-of-archive block is padding: zeros only
    for (let rest = await reader.read(BLOCK); rest !== null; rest = await reader.read(BLOCK)) {
      if (!rest.every((byte) => byte === 0)) throw new FormatError('data follows the end of the archive');
    }
    return null;
  }
  checkChecksum(block, FormatError);
  return block;
}
