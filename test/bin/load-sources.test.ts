import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from 'node:test';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/docucommit.mjs');
const CACHE = join(ROOT, 'node_modules/.cache/docucommit');

function run(env: Record<string, string> = {}) {
  // started from another directory on purpose: nothing may depend on the working directory
  return spawnSync(process.execPath, [BIN, 'render', join(ROOT, 'test/content/fixtures/data-handling.md'), '--json'], {
    cwd: '/',
    encoding: 'utf8',
    env: { ...process.env, ...env, NODE_OPTIONS: '' },
  });
}

test('the command runs from one compiled module in which each source file keeps its own URL', () => {
  const result = run();
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stderr, '', 'no fallback message');
  assert.equal(JSON.parse(result.stdout).title.length > 0, true);
  const compiled = readdirSync(CACHE).filter((name) => /^src-cli-main-ts-[0-9a-f]{16}\.mjs$/.test(name));
  assert.ok(compiled.length >= 1, 'the compiled module is cached');
  const code = readFileSync(join(CACHE, compiled[0]!), 'utf8');
  assert.equal(code.includes('import.meta.url'), false, 'every import.meta.url was replaced');
  // files that find their neighbours through import.meta.url still point into src/
  assert.ok(code.includes(JSON.stringify(pathToFileURL(join(ROOT, 'src/git/spawner-client.ts')).href)));
  assert.ok(code.includes(JSON.stringify(pathToFileURL(join(ROOT, 'src/web/assets.ts')).href)));
  assert.match(code, /from "fastify"/, 'packages stay imports of node_modules');
});

test('DOCUCOMMIT_LOADER=tsx runs the same command through tsx, with the same output', () => {
  const compiled = run();
  const tsx = run({ DOCUCOMMIT_LOADER: 'tsx' });
  assert.equal(tsx.status, 0, tsx.stderr);
  assert.equal(tsx.stdout, compiled.stdout);
});
