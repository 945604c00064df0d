import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { maintainRepository } from '../../src/git/maintenance.ts';
import { Repository } from '../../src/git/repository.ts';
import { acquireWriteLock } from '../../src/git/write-lock.ts';
import { gitOk, tempDir } from './helpers.ts';

const author = { name: 'Ada Lovelace', email: 'ada@acme.test' };
let dir: string;
let cleanup: () => void;
before(() => ({ dir, cleanup } = tempDir('dc-maint-')));
after(() => cleanup());

/** Blob contents whose ids start with "17": git gc --auto estimates loose objects by counting objects/17/. */
function contentsInBucket17(count: number): string[] {
  const found: string[] = [];
  for (let i = 0; found.length < count; i++) {
    const content = `loose object ${i}\n`;
    const id = createHash('sha1').update(`blob ${Buffer.byteLength(content)}\0${content}`).digest('hex');
    if (id.startsWith('17')) found.push(content);
  }
  return found;
}

const looseCount = (path: string) => Number(/^count: (\d+)$/m.exec(gitOk(path, ['count-objects', '-v']))![1]);

test('gc --auto packs loose objects under the write lock, and a running cat-file reader keeps reading', async () => {
  const repo = await Repository.create(join(dir, 'm.git'));
  try {
    const first = await repo.commitFiles({ branch: 'main', expectedOld: null, mode: 'replace-all', changes: [{ path: 'a.md', content: 'first\n' }], author, message: 'first' });
    let head = first.commit;
    const files = contentsInBucket17(4);
    for (const [i, content] of files.entries()) {
      head = (await repo.commitFiles({ branch: 'main', expectedOld: head, mode: 'patch', changes: [{ path: `f${i}.md`, content }], author, message: `c${i}` })).commit;
    }
    // the reader process starts before gc and is the same one afterwards
    const blob = (await repo.listTree(head!)).find((e) => e.path === 'f0.md')!.oid;
    assert.equal((await repo.readBlob(blob)).toString(), files[0]);
    const before = looseCount(repo.path);
    assert.ok(before >= 10, `loose objects before: ${before}`);

    // a low threshold (256 / 256 = more than 1 object in objects/17) makes gc --auto do its work now
    gitOk(repo.path, ['config', 'gc.auto', '256']);
    // gc waits for the writer that holds the lock
    const release = await acquireWriteLock(repo.path);
    let gcDone = false;
    const gc = maintainRepository(repo.path).then(() => (gcDone = true));
    await new Promise((resolveWait) => setImmediate(resolveWait));
    assert.equal(gcDone, false, 'gc does not run while a writer holds the lock');
    assert.equal(looseCount(repo.path), before);
    release();
    await gc;

    assert.equal(looseCount(repo.path), 0, 'every loose object was packed');
    assert.ok(/^packs: [1-9]/m.test(gitOk(repo.path, ['count-objects', '-v'])));
    // the same cat-file process reads objects that moved into the pack, old and new
    assert.equal((await repo.readBlob(blob)).toString(), files[0]);
    assert.equal((await repo.readCommit(first.commit!)).message.trim(), 'first');
    const next = await repo.commitFiles({ branch: 'main', expectedOld: head, mode: 'patch', changes: [{ path: 'after.md', content: 'after gc\n' }], author, message: 'after gc' });
    assert.equal((await repo.readBlob((await repo.listTree(next.commit!)).find((e) => e.path === 'after.md')!.oid)).toString(), 'after gc\n');
    gitOk(repo.path, ['fsck', '--no-progress']);
  } finally {
    await repo.close();
  }
});
