import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { test } from 'node:test';
import {
  BLOCK,
  checkChecksum,
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
  USTAR_MAX_SIZE,
  writeEntryContent,
  writeRespectingBackpressure,
} from '../../src/archives/ustar.ts';
import { ArchiveFormatError, ArchiveWriter, readArchive } from '../../src/backup/archive.ts';
import { readTar, TarFormatError, TarWriter } from '../../src/evidence/tar.ts';

class OneFormatError extends Error {}
class OtherFormatError extends Error {}

const MTIME = Date.UTC(2026, 2, 1, 12) / 1000;

/** A tiny archive made of the primitives alone: (pax record), header, content, end blocks. */
function archive(entries: Array<{ name: string; data: Buffer; pax?: Buffer }>): Buffer {
  const parts: Buffer[] = [];
  for (const { name, data, pax } of entries) {
    if (pax) parts.push(header(`PaxHeader/${name.slice(-90)}`, pax.length, MTIME, 'x', '0000644'), padded(pax));
    parts.push(header(pax ? name.slice(-99) : name, data.length, MTIME, '0', '0000644'), padded(data));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

/** Reads an archive made by `archive()` back with the shared reader primitives, in chunks of `chunkSize`. */
async function readBack(bytes: Buffer, chunkSize = 7): Promise<Array<{ name: string; data: string }>> {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(bytes.subarray(i, i + chunkSize));
  const reader = new ChunkReader(Readable.from(chunks), OneFormatError);
  const out: Array<{ name: string; data: string }> = [];
  let pending: string | null = null;
  for (;;) {
    const block = await readHeader(reader, OneFormatError);
    if (block === null) return out;
    const size = octal(block, 124, 12, OneFormatError);
    const data = await reader.read(size);
    assert.ok(data);
    await reader.skip(paddingOf(size));
    if (block[156] === 'x'.charCodeAt(0)) {
      pending = parsePax(data, OneFormatError).path ?? null;
      continue;
    }
    out.push({ name: pending ?? text(block, 0, 100), data: data.toString('utf8') });
    pending = null;
  }
}

test('a header holds its name, size, time, type and mode, and its checksum checks', () => {
  const block = header('policies/travel.md', 1234, MTIME, '0', '0000600');
  assert.equal(block.length, BLOCK);
  assert.equal(text(block, 0, 100), 'policies/travel.md');
  assert.equal(octal(block, 124, 12, OneFormatError), 1234);
  assert.equal(octal(block, 136, 12, OneFormatError), MTIME);
  assert.equal(octal(block, 100, 8, OneFormatError), 0o600);
  assert.equal(String.fromCharCode(block[156]!), '0');
  assert.equal(block.toString('ascii', 257, 263), 'ustar\0');
  checkChecksum(block, OneFormatError);
  assert.equal(octal(header('a', 0, 0, 'x', '0000644'), 100, 8, OneFormatError), 0o644);
});

test('the primitives round-trip an archive, whatever the chunking of the stream', async () => {
  const bytes = archive([
    { name: 'a.txt', data: Buffer.from('alpha') },
    { name: 'empty', data: Buffer.alloc(0) },
    { name: 'exact', data: Buffer.alloc(BLOCK, 'x') },
  ]);
  assert.equal(bytes.length % BLOCK, 0);
  for (const chunkSize of [1, 7, 512, 100_000]) {
    assert.deepEqual(await readBack(bytes, chunkSize), [
      { name: 'a.txt', data: 'alpha' },
      { name: 'empty', data: '' },
      { name: 'exact', data: 'x'.repeat(BLOCK) },
    ]);
  }
});

test('GNU tar reads what the primitives write, and the primitives read what GNU tar writes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ustar-'));
  try {
    const longName = `${'deep/'.repeat(30)}Richtlinie für Reisen.md`;
    writeFileSync(join(dir, 'ours.tar'), archive([{ name: longName, data: Buffer.from('über'), pax: paxRecord('path', longName) }]));
    assert.equal(execFileSync('tar', ['-tf', join(dir, 'ours.tar')], { encoding: 'utf8' }), `${longName}\n`);
    assert.equal(execFileSync('tar', ['-xOf', join(dir, 'ours.tar')], { encoding: 'utf8' }), 'über');

    writeFileSync(join(dir, 'short.md'), 'short');
    execFileSync('tar', ['--format=ustar', '-cf', join(dir, 'theirs.tar'), '-C', dir, 'short.md']);
    assert.deepEqual(await readBack(readFileSync(join(dir, 'theirs.tar'))), [{ name: 'short.md', data: 'short' }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a pax record counts its own length, across the digit boundaries', () => {
  for (const value of ['x', 'a'.repeat(90), 'a'.repeat(94), 'a'.repeat(95), 'a'.repeat(995), 'ü'.repeat(400)]) {
    const record = paxRecord('path', value);
    const length = Number(record.toString('ascii', 0, record.indexOf(0x20)));
    assert.equal(length, record.length, `value of ${value.length} characters`);
    assert.equal(record.at(-1), 0x0a);
    assert.deepEqual(parsePax(record, OneFormatError), { path: value });
  }
  const two = Buffer.concat([paxRecord('path', 'a/b'), paxRecord('size', '9000000000')]);
  assert.deepEqual(parsePax(two, OneFormatError), { path: 'a/b', size: '9000000000' });
});

test('long and non-ASCII names travel in pax path records', async () => {
  const longName = `${'section/'.repeat(20)}policy.md`;
  const accented = 'politiques/congés.md';
  const bytes = archive([
    { name: longName, data: Buffer.from('long'), pax: paxRecord('path', longName) },
    { name: accented, data: Buffer.from('accent'), pax: paxRecord('path', accented) },
  ]);
  assert.deepEqual(await readBack(bytes), [
    { name: longName, data: 'long' },
    { name: accented, data: 'accent' },
  ]);
});

test('a malformed pax header is refused with the caller’s error', () => {
  for (const bad of ['no space', '99 path=too long\n', '0 =\n', '12 novalue\n', 'x path=a\n']) {
    assert.throws(() => parsePax(Buffer.from(bad), OneFormatError), (error: unknown) => error instanceof OneFormatError && /pax header is malformed/.test((error as Error).message), bad);
  }
});

test('a damaged header fails its checksum, with the error class the caller gives', () => {
  const block = header('a.txt', 5, MTIME, '0', '0000644');
  const damaged = Buffer.from(block);
  damaged[3] = damaged[3]! ^ 0x01;
  assert.throws(() => checkChecksum(damaged, OneFormatError), OneFormatError);
  assert.throws(() => checkChecksum(damaged, OtherFormatError), (error: unknown) => error instanceof OtherFormatError && !(error instanceof OneFormatError));
  const noNumber = Buffer.from(block);
  noNumber.write('zzzzzz', 148, 'ascii');
  assert.throws(() => checkChecksum(noNumber, OneFormatError), /not an octal number/);
});

test('the end of an archive: zero padding only, and a stream cut short is refused', async () => {
  const good = archive([{ name: 'a', data: Buffer.from('1') }]);
  assert.deepEqual(await readBack(Buffer.concat([good, Buffer.alloc(BLOCK * 4)])), [{ name: 'a', data: '1' }]);
  const trailing = Buffer.concat([good, Buffer.alloc(BLOCK, 1)]);
  await assert.rejects(readBack(trailing), (error: unknown) => error instanceof OneFormatError && /data follows the end/.test((error as Error).message));
  const cut = good.subarray(0, BLOCK * 2);
  await assert.rejects(readBack(cut), (error: unknown) => error instanceof OneFormatError && /ends without its end-of-archive/.test((error as Error).message));
  const inside = good.subarray(0, BLOCK + 1);
  const reader = new ChunkReader(Readable.from([inside]), OtherFormatError);
  await reader.read(BLOCK);
  await assert.rejects(reader.skip(BLOCK), OtherFormatError);
});

test('limits: sizes and times beyond what 11 octal digits hold are refused, not written corrupt', () => {
  assert.equal(USTAR_MAX_SIZE, 8 * 1024 ** 3 - 1);
  const largest = header('big', USTAR_MAX_SIZE, MTIME, '0', '0000600');
  assert.equal(octal(largest, 124, 12, OneFormatError), USTAR_MAX_SIZE);
  checkChecksum(largest, OneFormatError);
  assert.throws(() => header('big', USTAR_MAX_SIZE + 1, MTIME, '0', '0000600'), RangeError);
  assert.throws(() => header('neg', -1, MTIME, '0', '0000600'), RangeError);
  assert.throws(() => header('frac', 1.5, MTIME, '0', '0000600'), RangeError);
  assert.throws(() => header('old', 1, -1, '0', '0000600'), RangeError);
  assert.throws(() => header('late', 1, USTAR_MAX_SIZE + 1, '0', '0000600'), RangeError);
});

test('unsafe entry names are refused with the caller’s error', () => {
  for (const name of ['', '/etc/passwd', '../up', 'a/../b', 'a//b', './a', 'a/.', 'back\\slash', 'nul\0', 'x'.repeat(4097)]) {
    assert.throws(() => checkEntryName(name, OneFormatError), OneFormatError, JSON.stringify(name.slice(0, 20)));
  }
  checkEntryName('policies/travel.md', OneFormatError);
});

test('an entry is written whole and padded; a source that grows or shrinks is an error', async () => {
  const written: Buffer[] = [];
  const seen: number[] = [];
  const write = async (chunk: Buffer) => void written.push(chunk);
  await writeEntryContent('a', 5, [Buffer.from('ab'), Buffer.from('cde')], write, 'archived', (chunk) => seen.push(chunk.length));
  assert.equal(Buffer.concat(written).toString('utf8'), `abcde${'\0'.repeat(BLOCK - 5)}`);
  assert.deepEqual(seen, [2, 3]);
  await assert.rejects(writeEntryContent('grows', 2, [Buffer.from('abc')], write, 'archived'), /grows grew while it was archived/);
  await assert.rejects(writeEntryContent('shrinks', 4, [Buffer.from('abc')], write, 'added to the archive'), /shrinks shrank while it was added to the archive/);
});

test('writing waits for drain, and a closed output is an error rather than a wait for ever', async () => {
  const out = new PassThrough({ highWaterMark: 4 });
  const pending = writeRespectingBackpressure(out, Buffer.alloc(64), 'closed!');
  let settled = false;
  void pending.then(() => (settled = true));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(settled, false, 'waits while the output is full');
  out.resume();
  await pending;
  const full = new PassThrough({ highWaterMark: 4 });
  const stuck = writeRespectingBackpressure(full, Buffer.alloc(64), 'closed!');
  full.destroy();
  await assert.rejects(stuck, /closed!/);
  await assert.rejects(writeRespectingBackpressure(full, Buffer.alloc(1), 'closed!'), /closed!/);
});

test('both readers keep their own limits and error classes on the shared primitives', async () => {
  // evidence packs: a pax path for a long name; a backup: short names only, a damaged one is ArchiveFormatError
  const tar = new PassThrough();
  const tarBytes: Buffer[] = [];
  tar.on('data', (chunk: Buffer) => tarBytes.push(chunk));
  const writer = new TarWriter(tar, new Date(MTIME * 1000));
  const longName = `${'dir/'.repeat(40)}file.md`;
  await writer.add(longName, Buffer.from('content'));
  await writer.finish();
  const names: string[] = [];
  assert.equal(await readTar(Readable.from([Buffer.concat(tarBytes)]), (name) => void names.push(name)), 1);
  assert.deepEqual(names, [longName]);
  assert.equal(octal(Buffer.concat(tarBytes).subarray(BLOCK * 2), 100, 8, OneFormatError), 0o644);

  const backup = new PassThrough();
  const backupBytes: Buffer[] = [];
  backup.on('data', (chunk: Buffer) => backupBytes.push(chunk));
  const archiver = new ArchiveWriter(backup, new Date(MTIME * 1000));
  await archiver.addBuffer('manifest.json', Buffer.from('{}'));
  await archiver.finish();
  const whole = Buffer.concat(backupBytes);
  assert.equal(octal(whole, 100, 8, OneFormatError), 0o600);
  const read: string[] = [];
  assert.equal(await readArchive(Readable.from([whole]), async (name) => void read.push(name)), 1);
  assert.deepEqual(read, ['manifest.json']);

  const damaged = Buffer.from(whole);
  damaged[0] = damaged[0]! ^ 0x01;
  await assert.rejects(readArchive(Readable.from([damaged]), async () => {}), ArchiveFormatError);
  const damagedTar = Buffer.concat(tarBytes);
  damagedTar[0] = damagedTar[0]! ^ 0x01;
  await assert.rejects(readTar(Readable.from([damagedTar]), () => {}), TarFormatError);

  // the backup reader refuses a pax header over 64 KiB; the evidence reader takes one (its cap is per entry)
  const bigPax = paxRecord('comment', 'c'.repeat(70 * 1024));
  const withBigPax = Buffer.concat([header('PaxHeader/x', bigPax.length, MTIME, 'x', '0000600'), padded(bigPax), header('x', 0, MTIME, '0', '0000600'), Buffer.alloc(BLOCK * 2)]);
  await assert.rejects(readArchive(Readable.from([withBigPax]), async () => {}), (error: unknown) => error instanceof ArchiveFormatError && /pax header is too large/.test((error as Error).message));
  assert.equal(await readTar(Readable.from([withBigPax]), () => {}), 1);
});
