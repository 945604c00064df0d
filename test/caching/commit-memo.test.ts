import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CommitMemo } from '../../src/caching/commit-memo.ts';

describe('CommitMemo', () => {
  test('computes a key once: later and concurrent callers share the result', async () => {
    const memo = new CommitMemo<string>({ maxEntries: 4 });
    let computed = 0;
    const compute = async () => {
      computed += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return 'value';
    };
    const [a, b] = await Promise.all([memo.get('k', compute), memo.get('k', compute)]);
    assert.equal(await memo.get('k', compute), 'value');
    assert.deepEqual([a, b, computed], ['value', 'value', 1]);
  });

  test('keeps at most maxEntries, forgetting the least recently used first', async () => {
    const memo = new CommitMemo<number>({ maxEntries: 2 });
    const calls: string[] = [];
    const get = (key: string) => memo.get(key, async () => (calls.push(key), key.length));
    await get('a');
    await get('bb');
    await get('a'); // a is now the most recently used
    await get('ccc'); // forgets bb
    assert.equal(memo.size, 2);
    await get('a');
    await get('bb');
    assert.deepEqual(calls, ['a', 'bb', 'ccc', 'bb']);
  });

  test('keeps at most maxWeight of results: the least recently used go first; one too heavy is not kept', async () => {
    const memo = new CommitMemo<number[]>({ maxEntries: 100, weigh: (list) => list.length, maxWeight: 10 });
    const calls: string[] = [];
    const get = (key: string, size: number) => memo.get(key, async () => (calls.push(key), Array.from({ length: size }, (_, i) => i)));
    await get('four', 4);
    await get('five', 5);
    assert.equal(memo.weight, 9);
    await get('three', 3); // 12 > 10: forgets "four"
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(memo.weight, 8);
    assert.equal(memo.size, 2);
    await get('huge', 11); // heavier than the bound on its own: answered, not kept
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(memo.weight <= 10);
    await get('huge', 11);
    await get('four', 4);
    assert.deepEqual(calls, ['four', 'five', 'three', 'huge', 'huge', 'four']);
  });

  test('does not remember a failure: the next caller computes again', async () => {
    const memo = new CommitMemo<string>({ maxEntries: 2 });
    let attempt = 0;
    const compute = async () => {
      attempt += 1;
      if (attempt === 1) throw new Error('git failed');
      return 'second';
    };
    await assert.rejects(memo.get('k', compute), /git failed/);
    assert.equal(await memo.get('k', compute), 'second');
    assert.equal(attempt, 2);
  });

  test('a computation that does not settle in time is no longer shared: a later caller starts its own', async () => {
    const memo = new CommitMemo<string>({ maxEntries: 2, settleWithinMs: 20 });
    const stalled = memo.get('k', () => new Promise<string>(() => {}));
    await new Promise((resolve) => setTimeout(resolve, 40));
    assert.equal(await memo.get('k', async () => 'fresh'), 'fresh');
    assert.equal(await Promise.race([stalled, Promise.resolve('still waiting')]), 'still waiting');
  });

  test('refuses a size that cannot hold anything', () => {
    assert.throws(() => new CommitMemo({ maxEntries: 0 }), RangeError);
  });
});
