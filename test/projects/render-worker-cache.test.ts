import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bundleRenderWorker } from '../../src/projects/render-pool.ts';
import { cachedWorkerBundle, type WorkerBundle } from '../../src/projects/render-worker-cache.ts';

describe('render worker bundle cache', () => {
  let dir: string;
  let cacheDir: string;
  let inputA: string;
  let inputB: string;
  let builds = 0;
  const build = async (): Promise<WorkerBundle> => {
    builds++;
    return { code: `// bundle of ${readFileSync(inputA, 'utf8')} and ${readFileSync(inputB, 'utf8')}\n`, inputs: [inputA, inputB] };
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'dc-worker-cache-'));
    cacheDir = join(dir, 'cache');
    inputA = join(dir, 'a.ts');
    inputB = join(dir, 'b.ts');
    writeFileSync(inputA, 'export const a = 1;');
    writeFileSync(inputB, 'export const b = 2;');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('built once, then read back while no input changed', async () => {
    builds = 0;
    const first = await cachedWorkerBundle(cacheDir, 'k1', build);
    assert.equal(first.fromCache, false);
    const second = await cachedWorkerBundle(cacheDir, 'k1', build);
    assert.equal(second.fromCache, true);
    assert.equal(second.code, first.code);
    assert.equal(builds, 1);
  });

  test('a changed input, another key or a damaged bundle rebuilds; old bundles are removed', async () => {
    await cachedWorkerBundle(cacheDir, 'k1', build);
    builds = 0;
    writeFileSync(inputB, 'export const b = 3;');
    const changed = await cachedWorkerBundle(cacheDir, 'k1', build);
    assert.equal(changed.fromCache, false);
    assert.match(changed.code, /b = 3/);
    assert.equal(readdirSync(cacheDir).filter((n) => n.endsWith('.cjs')).length, 1, 'the stale bundle is gone');

    assert.equal((await cachedWorkerBundle(cacheDir, 'k2', build)).fromCache, false, 'another bundler or settings');
    assert.equal((await cachedWorkerBundle(cacheDir, 'k2', build)).fromCache, true);

    const [bundle] = readdirSync(cacheDir).filter((n) => n.endsWith('.cjs'));
    const bytes = readFileSync(join(cacheDir, bundle!));
    bytes[5] = bytes[5]! ^ 0x20;
    writeFileSync(join(cacheDir, bundle!), bytes);
    const repaired = await cachedWorkerBundle(cacheDir, 'k2', build);
    assert.equal(repaired.fromCache, false, 'a bundle that no longer matches its digest is not run');
    assert.match(repaired.code, /^\/\/ bundle of/);

    rmSync(inputA);
    assert.equal((await cachedWorkerBundle(cacheDir, 'k2', async () => ({ code: 'x', inputs: [inputB] }))).fromCache, false, 'an input gone');
    writeFileSync(inputA, 'export const a = 1;');
    assert.equal(builds, 3);
  });

  test('a manifest that is not ours, or a cache that cannot be written, only costs a bundling', async () => {
    writeFileSync(join(cacheDir, 'render-worker.json'), '{"format":1,"key":"k3","bundle":"../../etc/passwd","inputs":[]}');
    assert.equal((await cachedWorkerBundle(cacheDir, 'k3', build)).fromCache, false);

    const blocked = join(dir, 'not-a-folder');
    writeFileSync(blocked, 'a file where the cache folder should be');
    const result = await cachedWorkerBundle(blocked, 'k1', build);
    assert.equal(result.fromCache, false);
    assert.match(result.code, /^\/\/ bundle of/);
  });

  test('the real bundle names its sources: the worker, the content modules, markdown-it and the bundling settings', async () => {
    const { code, inputs } = await bundleRenderWorker();
    assert.ok(code.length > 100_000);
    for (const wanted of [/src\/projects\/render-worker\.ts$/, /src\/projects\/render-pool\.ts$/, /src\/content\/render-document\.ts$/, /markdown-it\/dist\/markdown-it\.mjs$/]) {
      assert.ok(inputs.some((input) => wanted.test(input)), `${wanted} among the inputs`);
    }
    for (const input of inputs) assert.ok(input.startsWith('/'), `${input} is absolute`);
  });
});
