import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CommitMemo } from '../../src/caching/commit-memo.ts';

describe('CommitMemo', () => {
  test('computes a key once: later and concurrent callers share the result', async () => {
    const memo = new CommitMemo<string>(4);
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
    const memo = new CommitMemo<number>(2);
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

  test('does not remember a failure: the next caller computes again', async () => {
    const memo = new CommitMemo<string>(2);
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

  test('refuses a size that cannot hold anything', () => {
    assert.throws(() => new CommitMemo(0), RangeError);
  });
});
