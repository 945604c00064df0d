import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShortLivedCache } from '../../src/caching/short-lived-cache.ts';

/** A read that resolves when told to, counting how often it was started. */
function controlledRead() {
  let reads = 0;
  let release: ((value: string) => void) | null = null;
  let fail: ((error: Error) => void) | null = null;
  const read = () => {
    reads++;
    return new Promise<string>((resolve, reject) => {
      release = resolve;
      fail = reject;
    });
  };
  return { read, reads: () => reads, release: (v: string) => release!(v), fail: (e: Error) => fail!(e) };
}

test('concurrent requests for a key share one read', async () => {
  const cache = new ShortLivedCache<string>({ ttlMs: 1000, maxStaleMs: 5000, maxEntries: 10, now: () => 0 });
  const r = controlledRead();
  const all = Array.from({ length: 64 }, () => cache.get('acme', r.read));
  r.release('v1');
  assert.deepEqual(new Set(await Promise.all(all)), new Set(['v1']));
  assert.equal(r.reads(), 1);
  assert.equal(await cache.get('acme', r.read), 'v1', 'remembered');
  assert.equal(r.reads(), 1);
});

test('after the time is up, the last value answers at once while one refresh runs; too old, requests wait for it', async () => {
  let clock = 0;
  const cache = new ShortLivedCache<string>({ ttlMs: 1000, maxStaleMs: 5000, maxEntries: 10, now: () => clock });
  const r = controlledRead();
  const first = cache.get('acme', r.read);
  r.release('v1');
  await first;
  clock = 2000; // stale, not too old
  const during = await Promise.all(Array.from({ length: 10 }, () => cache.get('acme', r.read)));
  assert.deepEqual(new Set(during), new Set(['v1']), 'the stale value, without waiting');
  assert.equal(r.reads(), 2, 'one refresh for the ten');
  r.release('v2');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(await cache.get('acme', r.read), 'v2');
  clock = 10_000; // older than maxStaleMs
  let settled = false;
  const waiting = cache.get('acme', r.read).then((v) => ((settled = true), v));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(settled, false, 'too old: waits for the refresh');
  r.release('v3');
  assert.equal(await waiting, 'v3');
});

test('a failed read reaches those waiting and is tried again next time; forget drops every value', async () => {
  let clock = 0;
  const cache = new ShortLivedCache<string>({ ttlMs: 1000, maxStaleMs: 1000, maxEntries: 10, now: () => clock });
  const r = controlledRead();
  const failing = cache.get('acme', r.read);
  r.fail(new Error('database gone'));
  await assert.rejects(failing, /database gone/);
  const retried = cache.get('acme', r.read);
  assert.equal(r.reads(), 2);
  r.release('v1');
  assert.equal(await retried, 'v1');
  cache.forget();
  const fresh = cache.get('acme', r.read);
  assert.equal(r.reads(), 3, 'read again after forget');
  r.release('v2');
  assert.equal(await fresh, 'v2');
  clock = 0;
});

test('the number of keys stays bounded', async () => {
  const cache = new ShortLivedCache<number>({ ttlMs: 1000, maxStaleMs: 1000, maxEntries: 3, now: () => 0 });
  let reads = 0;
  for (let i = 0; i < 10; i++) await cache.get(`k${i}`, async () => ++reads);
  assert.equal(await cache.get('k0', async () => ++reads), 11, 'k0 was forgotten when the bound was reached');
});

test('delete forgets one key: the next request reads it again, other keys are kept', async () => {
  const cache = new ShortLivedCache<string>({ ttlMs: 1000, maxStaleMs: 5000, maxEntries: 10, now: () => 0 });
  const r = controlledRead();
  const first = cache.get('acme', r.read);
  r.release('v1');
  assert.equal(await first, 'v1');
  assert.equal(await cache.get('globex', async () => 'g1'), 'g1');
  cache.delete('acme');
  const second = cache.get('acme', r.read);
  assert.equal(r.reads(), 2, 'read again');
  r.release('v2');
  assert.equal(await second, 'v2');
  assert.equal(await cache.get('globex', async () => 'other'), 'g1', 'other keys are kept');
});

test('getNow: a value that may answer is returned as it is, else the read in flight (shared with get)', async () => {
  let clock = 0;
  const cache = new ShortLivedCache<string | null>({ ttlMs: 1000, maxStaleMs: 5000, maxEntries: 10, now: () => clock });
  const r = controlledRead();
  const first = cache.getNow('acme', r.read);
  assert.ok(first instanceof Promise, 'nothing remembered: the read');
  const second = cache.get('acme', r.read);
  r.release('v1');
  assert.equal(await first, 'v1');
  assert.equal(await second, 'v1');
  assert.equal(r.reads(), 1, 'one read for both');
  assert.equal(cache.getNow('acme', r.read), 'v1', 'remembered: no promise');
  clock = 2000;
  assert.equal(cache.getNow('acme', r.read), 'v1', 'stale, not too old: the last value at once');
  assert.equal(r.reads(), 2, 'while one refresh runs');
  r.release('v2');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(cache.getNow('acme', r.read), 'v2');
  clock = 10_000;
  const waited = cache.getNow('acme', r.read);
  assert.ok(waited instanceof Promise, 'too old: the caller waits for the refresh');
  r.release('v3');
  assert.equal(await waited, 'v3');
  const empty = new ShortLivedCache<string | null>({ ttlMs: 1000, maxStaleMs: 5000, maxEntries: 10, now: () => 0 });
  const none = empty.getNow('gone', async () => null);
  assert.equal(await none, null);
  assert.equal(empty.getNow('gone', r.read), null, 'a remembered null answers as it is');
});
