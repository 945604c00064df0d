import assert from 'node:assert/strict';
import { test } from 'node:test';
import { queueWriteLock, useCrossProcessLock, withWriteLock, type CrossProcessLock } from '../../src/git/write-lock.ts';

const tick = () => new Promise((r) => setTimeout(r, 5));

test('writers of one repository take turns; the lock is re-entered by the chain that holds it', async () => {
  const order: string[] = [];
  const first = withWriteLock('/tmp/repo-a.git', async () => {
    order.push('first in');
    // a commit inside a branch move takes the same lock again: no deadlock
    await withWriteLock('/tmp/repo-a.git', async () => {
      order.push('nested');
      await tick();
    });
    order.push('first out');
  });
  const second = withWriteLock('/tmp/repo-a.git', async () => {
    order.push('second');
  });
  await Promise.all([first, second]);
  assert.deepEqual(order, ['first in', 'nested', 'first out', 'second']);
});

test('work queued from inside the lock (maintenance) waits for the holder instead of re-entering', async () => {
  const order: string[] = [];
  let queued = null as Promise<void> | null;
  await withWriteLock('/tmp/repo-b.git', async () => {
    queued = queueWriteLock('/tmp/repo-b.git', async () => {
      order.push('maintenance');
    });
    await tick();
    order.push('holder done');
  });
  await queued;
  assert.deepEqual(order, ['holder done', 'maintenance']);
});

test('a callback started under the lock and run after its release does not inherit it', async () => {
  const order: string[] = [];
  let late = null as Promise<void> | null;
  await withWriteLock('/tmp/repo-c.git', async () => {
    late = tick().then(() => withWriteLock('/tmp/repo-c.git', async () => {
      order.push('late');
    }));
  });
  const other = withWriteLock('/tmp/repo-c.git', async () => {
    order.push('other');
    await tick();
    await tick();
    order.push('other out');
  });
  await Promise.all([late, other]);
  assert.ok(order.indexOf('late') > order.indexOf('other out') || order.indexOf('late') < order.indexOf('other'), `no overlap: ${order.join(', ')}`);
});

test('with a cross-process lock, each writer holds it around its work, once per chain, and releases it after failures too', async () => {
  const events: string[] = [];
  const shared: CrossProcessLock = {
    async acquire(path) {
      events.push(`acquire ${path}`);
      return async () => {
        events.push(`release ${path}`);
      };
    },
  };
  const undo = useCrossProcessLock(shared);
  try {
    await withWriteLock('/tmp/repo-d.git', async () => {
      events.push('work');
      await withWriteLock('/tmp/repo-d.git', async () => {
        events.push('nested work');
      });
    });
    await assert.rejects(
      withWriteLock('/tmp/repo-d.git', async () => {
        throw new Error('git failed');
      }),
      /git failed/,
    );
  } finally {
    undo();
  }
  assert.deepEqual(events, ['acquire /tmp/repo-d.git', 'work', 'nested work', 'release /tmp/repo-d.git', 'acquire /tmp/repo-d.git', 'release /tmp/repo-d.git']);
  await withWriteLock('/tmp/repo-d.git', async () => {});
  assert.equal(events.length, 6, 'undone: no cross-process lock any more');
});
