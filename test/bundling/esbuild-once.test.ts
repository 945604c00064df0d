import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
// loaded before the baseline below: the TypeScript loader may start a helper of its own to load a module
import 'esbuild';
import { buildOnce } from '../../src/bundling/esbuild-once.ts';

/** esbuild helper processes that are children of this process (Linux /proc). */
function esbuildChildren(): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const parent = Number(ppid);
      if (state !== 'Z' && parent === process.pid && readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('esbuild')) found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

const build = (contents: string) =>
  buildOnce({ stdin: { contents, loader: 'js' }, bundle: false, write: false, format: 'esm', logLevel: 'silent' });

test('builds that run together share one esbuild helper, and none is left running once they are done', async () => {
  // the TypeScript loader running this test may have an esbuild helper of its own
  const loaders = new Set(esbuildChildren());
  const ours = () => esbuildChildren().filter((pid) => !loaders.has(pid));
  /** Our helpers once a stopped one has had time to exit (stop() signals it; the kernel ends it a moment later). */
  const left = async () => {
    for (let i = 0; i < 50 && ours().length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    return ours();
  };
  const [a, b] = await Promise.all([build('export const a = 1 + 1;'), build('export const b = 2 * 3;')]);
  assert.match(a.outputFiles[0]!.text, /a = 1 \+ 1/);
  assert.match(b.outputFiles[0]!.text, /b = 2 \* 3/);
  assert.deepEqual(await left(), []);
  // a later build starts a new helper and stops it again
  const c = await build('export const c = "again";');
  assert.match(c.outputFiles[0]!.text, /again/);
  assert.deepEqual(await left(), []);
});
