import assert from 'node:assert/strict';
import { test } from 'node:test';
import { queueWriteLock, useCrossProcessLock, withWriteLock, withWriteLocks, type CrossProcessLock } from '../../src/git/write-lock.ts';

const tick = () => new Promise((r) => setTimeout(r, 5));

test('writers of one repository take turns; the lock is re-entered by a holder that shows its proof', async () => {
  const order: string[] = [];
  const first = withWriteLock('/tmp/repo-a.git', async (held) => {
    order.push('first in');
    // a commit inside a branch move takes the same lock again: no deadlock
    await withWriteLock('/tmp/repo-a.git', async () => {
      order.push('nested');
      await tick();
    }, held);
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

test('a proof kept past its release, or shown for another repository, re-enters nothing', async () => {
  const order: string[] = [];
  let late = null as Promise<void> | null;
  await withWriteLock('/tmp/repo-c.git', async (held) => {
    late = tick().then(() => withWriteLock('/tmp/repo-c.git', async () => {
      order.push('late');
    }, held));
  });
  const other = withWriteLock('/tmp/repo-c.git', async () => {
    order.push('other');
    await tick();
    await tick();
    order.push('other out');
  });
  await Promise.all([late, other]);
  assert.ok(order.indexOf('late') > order.indexOf('other out') || order.indexOf('late') < order.indexOf('other'), `no overlap: ${order.join(', ')}`);

  const sequence: string[] = [];
  const holder = withWriteLock('/tmp/repo-e.git', async (held) => {
    sequence.push('e in');
    // the proof of repo-e does not open repo-f, which another writer holds
    await withWriteLock('/tmp/repo-f.git', async () => {
      sequence.push('f by e');
    }, held);
    sequence.push('e out');
  });
  const otherF = withWriteLock('/tmp/repo-f.git', async () => {
    sequence.push('f in');
    await tick();
    sequence.push('f out');
  });
  await Promise.all([holder, otherF]);
  assert.ok(sequence.indexOf('f by e') > sequence.indexOf('f out'), `waited for repo-f's holder: ${sequence.join(', ')}`);
});

test('without its proof, a writer inside the lock queues behind the holder (never re-enters by accident)', async () => {
  const order: string[] = [];
  let inner = null as Promise<void> | null;
  await withWriteLock('/tmp/repo-g.git', async () => {
    inner = withWriteLock('/tmp/repo-g.git', async () => {
      order.push('inner');
    });
    await tick();
    order.push('holder done');
  });
  await inner;
  assert.deepEqual(order, ['holder done', 'inner']);
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
    await withWriteLock('/tmp/repo-d.git', async (held) => {
      events.push('work');
      await withWriteLock('/tmp/repo-d.git', async () => {
        events.push('nested work');
      }, held);
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
