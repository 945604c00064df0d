import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InvalidInputError } from '../../src/errors.ts';
import { CatFileBatch } from '../../src/git/cat-file.ts';
import { alive, eventually, gitIn, gitOk, tempDir } from './helpers.ts';

describe('CatFileBatch (real git)', () => {
  let cleanup: () => void;
  let repo: string;
  const blobs = new Map<string, Buffer>();
  let bigOid: string;
  let big: Buffer;

  const store = (content: Buffer): string => {
    const oid = gitOk(repo, ['hash-object', '-w', '--stdin'], content);
    blobs.set(oid, content);
    return oid;
  };

  before(() => {
    let dir: string;
    ({ dir, cleanup } = tempDir('dc-catfile-'));
    repo = join(dir, 'r.git');
    assert.equal(gitIn(dir, ['init', '--quiet', '--bare', repo]).status, 0);
    for (let i = 0; i < 300; i++) store(Buffer.from(`document ${i}\n`.repeat(i % 17)));
    // content that looks like protocol lines must not confuse the parser
    store(Buffer.from('0123456789012345678901234567890123456789 blob 5\nhello\n\n\nmissing\n'));
    store(randomBytes(70_000));
    store(Buffer.alloc(0));
    big = randomBytes(5 * 1024 * 1024 + 7);
    bigOid = store(big);
  });
  after(() => cleanup());

  test('many concurrent reads on one process each get their own object', async () => {
    const reader = new CatFileBatch(repo);
    try {
      const oids = [...blobs.keys()];
      const results = await Promise.all([...oids, ...oids].map((oid) => reader.read(oid)));
      results.forEach((object, i) => {
        const oid = [...oids, ...oids][i]!;
        assert.equal(object?.oid, oid);
        assert.equal(object?.type, 'blob');
        assert.deepEqual(object?.content, blobs.get(oid));
      });
      const pid = reader.pid;
      await reader.read(oids[0]!);
      assert.equal(reader.pid, pid, 'the process is reused');
    } finally {
      await reader.close();
    }
  });

  test('binary and large objects arrive intact', async () => {
    const reader = new CatFileBatch(repo);
    try {
      const object = await reader.read(bigOid);
      assert.equal(object?.size, big.length);
      assert.ok(object?.content.equals(big));
    } finally {
      await reader.close();
    }
  });

  test('a missing object is null and later reads stay in step', async () => {
    const reader = new CatFileBatch(repo);
    try {
      const [first] = blobs.keys();
      const [missing, present] = await Promise.all([reader.read('1'.repeat(40)), reader.read(first!)]);
      assert.equal(missing, null);
      assert.deepEqual(present?.content, blobs.get(first!));
    } finally {
      await reader.close();
    }
  });

  test('only full object ids are accepted: no rev:path expressions, no extra lines', async () => {
    const reader = new CatFileBatch(repo);
    try {
      for (const bad of ['HEAD:../../etc/passwd', 'main', `${'a'.repeat(40)}\n${'b'.repeat(40)}`, 'A'.repeat(40)]) {
        await assert.rejects(reader.read(bad), InvalidInputError);
      }
      assert.equal(reader.pid, undefined, 'git was not even started');
    } finally {
      await reader.close();
    }
  });

  test('an object over the size cap is refused without losing sync', async () => {
    const reader = new CatFileBatch(repo, { maxObjectBytes: 1024 * 1024 });
    try {
      const small = [...blobs.keys()][5]!;
      const [tooBig, after] = await Promise.allSettled([reader.read(bigOid), reader.read(small)]);
      assert.equal(tooBig.status, 'rejected');
      assert.ok(tooBig.status === 'rejected' && tooBig.reason instanceof InvalidInputError);
      assert.ok(after.status === 'fulfilled' && after.value?.content.equals(blobs.get(small)!));
    } finally {
      await reader.close();
    }
  });

  test('when git dies, reads in flight are retried and the next read starts a new process', async () => {
    const reader = new CatFileBatch(repo);
    try {
      const oids = [...blobs.keys()];
      await reader.read(oids[0]!);
      const pid = reader.pid!;
      const inFlight = Promise.all([bigOid, ...oids.slice(0, 50)].map((oid) => reader.read(oid)));
      process.kill(pid, 'SIGKILL');
      const results = await inFlight;
      assert.ok(results[0]?.content.equals(big));
      assert.ok(await eventually(() => !alive(pid)));
      const again = await reader.read(oids[1]!);
      assert.deepEqual(again?.content, blobs.get(oids[1]!));
      assert.notEqual(reader.pid, pid);
    } finally {
      await reader.close();
    }
  });

  test('close() stops git; later reads are refused', async () => {
    const reader = new CatFileBatch(repo);
    await reader.read([...blobs.keys()][0]!);
    const pid = reader.pid!;
    await reader.close();
    assert.ok(await eventually(() => !alive(pid)));
    await assert.rejects(reader.read([...blobs.keys()][0]!), /closed/);
  });
});
