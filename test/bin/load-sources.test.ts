import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
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

test('the command runs from compiled modules in which each source file keeps its own URL', () => {
  const result = run();
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stderr, '', 'no fallback message');
  assert.equal(JSON.parse(result.stdout).title.length > 0, true);
  // the modules of this checkout (the cache may hold other checkouts' too): the directory its manifest names
  const manifest = readManifest();
  assert.match(manifest.dir, /^src-cli-main-ts-[0-9a-f]{16}$/);
  const names = readdirSync(join(CACHE, manifest.dir));
  assert.deepEqual([...names].sort(), manifest.outputs.map(([name]) => name).sort(), 'the manifest lists every module of the directory');
  assert.ok(names.includes(manifest.module), 'the manifest names the entry module');
  const code = names.map((name) => readFileSync(join(CACHE, manifest.dir, name), 'utf8')).join('\n');
  assert.equal(code.includes('import.meta.url'), false, 'every import.meta.url was replaced');
  // files that find their neighbours through import.meta.url still point into src/
  assert.ok(code.includes(JSON.stringify(pathToFileURL(join(ROOT, 'src/git/spawner-client.ts')).href)));
  assert.ok(code.includes(JSON.stringify(pathToFileURL(join(ROOT, 'src/web/assets.ts')).href)));
  assert.match(code, /from "fastify"/, 'packages stay imports of node_modules');
  // each command is a module of its own, loaded when it runs: the entry imports no package at all
  const entry = readFileSync(join(CACHE, manifest.dir, manifest.module), 'utf8');
  assert.doesNotMatch(entry, /from "(fastify|kysely|@electric-sql\/pglite|markdown-it)"/);
  assert.match(entry, /import\("\.\/serve-[A-Z0-9]+\.mjs"\)/);
});

interface Manifest {
  root: string;
  dir: string;
  module: string;
  outputs: Array<[name: string, sha256: string]>;
  inputs: Array<[path: string, sha256: string]>;
}

function manifestPath(): string {
  const name = readdirSync(CACHE).find((n) => /^src-cli-main-ts-[0-9a-f]{12}\.json$/.test(n) && (JSON.parse(readFileSync(join(CACHE, n), 'utf8')) as Manifest).root === ROOT);
  assert.ok(name, 'a manifest of this checkout');
  return join(CACHE, name);
}

function readManifest(): Manifest {
  return JSON.parse(readFileSync(manifestPath(), 'utf8')) as Manifest;
}

test('the manifest lists every source file of the module with its digest; a changed source is compiled again', () => {
  assert.equal(run().status, 0);
  const manifest = readManifest();
  const inputs = new Map(manifest.inputs);
  for (const path of ['src/cli/main.ts', 'src/errors.ts', 'src/web/app.ts', 'tsconfig.json']) {
    assert.equal(inputs.get(path), createHash('sha256').update(readFileSync(join(ROOT, path))).digest('hex'), path);
  }
  // as if src/errors.ts had changed since: the module is not used as it is, the sources are compiled again
  const file = manifestPath();
  writeFileSync(file, JSON.stringify({ ...manifest, inputs: manifest.inputs.map(([path, digest]) => [path, path === 'src/errors.ts' ? '0'.repeat(64) : digest]) }));
  const again = run();
  assert.equal(again.status, 0, again.stderr);
  assert.equal(new Map(readManifest().inputs).get('src/errors.ts'), inputs.get('src/errors.ts'), 'compiled again and recorded');
});

test('DOCUCOMMIT_LOADER=tsx runs the same command through tsx, with the same output', () => {
  const compiled = run();
  const tsx = run({ DOCUCOMMIT_LOADER: 'tsx' });
  assert.equal(tsx.status, 0, tsx.stderr);
  assert.equal(tsx.stdout, compiled.stdout);
});
