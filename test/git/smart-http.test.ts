import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { parseRefUpdates, refProblem } from '../../src/git/push-checks.ts';
import { gitProtocolFrom, packObjectCount, PackObjectLimit, PushTooLargeError, requestBody, RequestTooLargeError } from '../../src/git/smart-http.ts';

const A = 'a'.repeat(40);
const Z = '0'.repeat(40);

test('only branches and tags whose name parts do not start with "-" may be pushed', () => {
  assert.equal(refProblem('refs/heads/main'), null);
  assert.equal(refProblem('refs/tags/v1.0'), null);
  assert.match(refProblem('refs/heads/-x') ?? '', /must not start with "-"/);
  assert.match(refProblem('refs/tags/a/-b') ?? '', /must not start with "-"/);
  assert.match(refProblem('refs/notes/commits') ?? '', /only branches/);
  assert.match(refProblem('refs/replace/abc') ?? '', /only branches/);
  assert.match(refProblem('HEAD') ?? '', /only branches/);
});

test('pre-receive input is parsed line by line and anything else is refused', () => {
  assert.deepEqual(parseRefUpdates(`${Z} ${A} refs/heads/main\n`), [{ oldOid: Z, newOid: A, ref: 'refs/heads/main' }]);
  assert.throws(() => parseRefUpdates('garbage\n'));
});

test('Git-Protocol header values are passed only in git\'s own syntax', () => {
  assert.equal(gitProtocolFrom('version=2'), 'version=2');
  assert.equal(gitProtocolFrom('version=2:object-format=sha1'), 'version=2:object-format=sha1');
  assert.equal(gitProtocolFrom('version=2\nX=1'), undefined);
  assert.equal(gitProtocolFrom(undefined), undefined);
});

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

test('a gzip request body is decompressed, and capped after decompression (gzip bomb)', async () => {
  const body = Buffer.from('0032want 0123456789012345678901234567890123456789\n0000');
  assert.deepEqual(await drain(requestBody(Readable.from([gzipSync(body)]), 'gzip', 1024)), body);
  const bomb = gzipSync(Buffer.alloc(4 * 1024 * 1024));
  await assert.rejects(drain(requestBody(Readable.from([bomb]), 'gzip', 1024 * 1024)), RequestTooLargeError);
  assert.throws(() => requestBody(Readable.from([body]), 'br', 1024));
});

test('a push whose pack announces too many objects is cut off at the pack header', async () => {
  const pkt = (text: string) => `${(text.length + 4).toString(16).padStart(4, '0')}${text}`;
  const header = (count: number) => {
    const bytes = Buffer.alloc(12);
    bytes.write('PACK', 0, 'latin1');
    bytes.writeUInt32BE(2, 4);
    bytes.writeUInt32BE(count, 8);
    return bytes;
  };
  const command = pkt(`${'0'.repeat(40)} ${'1'.repeat(40)} refs/heads/x\0report-status side-band-64k\n`);
  const withOptions = pkt(`${'0'.repeat(40)} ${'1'.repeat(40)} refs/heads/x\0report-status push-options\n`);
  assert.equal(packObjectCount(Buffer.concat([Buffer.from(`${command}0000`), header(7)])), 7);
  assert.equal(packObjectCount(Buffer.from(`${command}00`)), undefined);
  assert.equal(packObjectCount(Buffer.from(`${command}0000`)), undefined);
  assert.equal(packObjectCount(Buffer.concat([Buffer.from(`${withOptions}0000${pkt('ci.skip')}0000`), header(9)])), 9);
  assert.equal(packObjectCount(Buffer.from(`${command}0000JUNKJUNKJUNK`)), null);

  const body = Buffer.concat([Buffer.from(`${command}0000`), header(5_000_000), Buffer.alloc(100)]);
  // fed a byte at a time: the header is found across chunks
  const chunks = [...body].map((byte) => Buffer.from([byte]));
  await assert.rejects(
    async () => {
      for await (const _ of Readable.from(chunks).pipe(new PackObjectLimit(1000))) void _;
    },
    (error: unknown) => error instanceof PushTooLargeError && /5000000 objects, over the limit of 1000/.test(error.message),
  );
  const small = Buffer.concat([Buffer.from(`${command}0000`), header(3), Buffer.alloc(100)]);
  const passed: Buffer[] = [];
  for await (const chunk of Readable.from([small]).pipe(new PackObjectLimit(1000))) passed.push(chunk as Buffer);
  assert.deepEqual(Buffer.concat(passed), small);
});
