import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { BackupKeyError, decryptStream, encryptStream } from '../../src/backup/encryption.ts';

const PASSPHRASE = 'correct horse battery staple backup';

/** `fn` with NODE_ENV set to `value` (undefined: unset), as a server runs: the test runner's NODE_ENV=test lowers scrypt's cost. */
async function withNodeEnv<T>(value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.NODE_ENV;
  if (value === undefined) delete process.env.NODE_ENV;
  else process.env.NODE_ENV = value;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = saved;
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** The scrypt stanza of an age file's header: `-> scrypt SALT LOG2N`. */
function scryptStanza(archive: Buffer): string[] {
  const line = archive.toString('latin1').split('\n').find((l) => l.startsWith('-> '));
  assert.ok(line, 'the header has a stanza');
  return line.slice(3).split(' ');
}

for (const nodeEnv of [undefined, 'production']) {
  test(`a passphrase backup is locked with age's default scrypt work factor, 2^18 (NODE_ENV ${nodeEnv ?? 'unset'})`, async () => {
    const archive = await withNodeEnv(nodeEnv, async () => readAll(await encryptStream(Readable.from([Buffer.from('payload')]), { passphrase: PASSPHRASE })));
    const [type, , logN] = scryptStanza(archive);
    assert.equal(type, 'scrypt');
    assert.equal(Number(logN), 18);
  });
}

test('under the test runner the work factor is lower; the archive still opens with the passphrase only', async () => {
  const archive = await withNodeEnv('test', async () => readAll(await encryptStream(Readable.from([Buffer.from('payload')]), { passphrase: PASSPHRASE })));
  const [type, , logN] = scryptStanza(archive);
  assert.equal(type, 'scrypt');
  assert.ok(Number(logN) < 18, `work factor ${logN}`);
  assert.equal((await readAll(await decryptStream(Readable.from([archive]), { passphrase: PASSPHRASE }))).toString(), 'payload');
  await assert.rejects(async () => readAll(await decryptStream(Readable.from([archive]), { passphrase: 'not the passphrase at all' })), BackupKeyError);
});
