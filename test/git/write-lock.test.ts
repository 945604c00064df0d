import assert from 'node:assert/strict';
import { test } from 'node:test';
import { queueWriteLock, useCrossProcessLock, withWriteLock, withWriteLocks, type CrossProcessLock } from '../../src/git/write-lock.ts';

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

test('withWriteLocks holds several repositories at once: it waits for a writer in flight, and no writer runs while it holds them', async () => {
  const events: string[] = [];
  let finishWriter!: () => void;
  const writer = withWriteLock('/tmp/repo-e.git', () => new Promise<void>((resolve) => (finishWriter = () => (events.push('writer e done'), resolve()))));
  let allHeld = false;
  const all = withWriteLocks(['/tmp/repo-f.git', '/tmp/repo-e.git'], async () => {
    allHeld = true;
    events.push('all held');
    await new Promise((resolve) => setTimeout(resolve, 20));
    events.push('all released');
  });
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(allHeld, false, 'waits for the writer of e');
  const later = withWriteLock('/tmp/repo-f.git', async () => {
    events.push('writer f');
  });
  finishWriter();
  await Promise.all([writer, all, later]);
  // the writer of f may go first or after, never while every lock is held
  assert.equal(events[0], 'writer e done');
  assert.equal(events.indexOf('all released') - events.indexOf('all held'), 1, events.join(', '));
  assert.ok(events.includes('writer f'));
});

test('withWriteLocks takes the cross-process locks together (acquireAll), in sorted order, and releases them', async () => {
  const events: string[] = [];
  const shared: CrossProcessLock = {
    async acquire(path) {
      events.push(`acquire ${path}`);
      return async () => void events.push(`release ${path}`);
    },
    async acquireAll(paths) {
      events.push(`acquire all ${paths.join(' ')}`);
      return async () => void events.push('release all');
    },
  };
  const undo = useCrossProcessLock(shared);
  try {
    await withWriteLocks(['/tmp/repo-h.git', '/tmp/repo-g.git', '/tmp/repo-h.git'], async () => void events.push('work'));
  } finally {
    undo();
  }
  assert.deepEqual(events, ['acquire all /tmp/repo-g.git /tmp/repo-h.git', 'work', 'release all']);
});
