#!/usr/bin/env node
// Runs the test suite with Node's built-in runner (the test files compiled by compile-tests.mjs): unit,
// integration and the browser tests in test/e2e/ (which need Debian's Chromium; see scripts/ensure-chromium.sh),
// the slowest files first.
// Usage: node scripts/run-tests.mjs [unit|integration|e2e | FILE.test.ts...]   (no argument: everything)
// Environment: TEST_CONCURRENCY (files at a time, default 2); TEST_TMPDIR=keep (temporary files where TMPDIR says,
// not on /dev/shm); TEST_LOADER=tsx (the test files through tsx instead of compiled, see compile-tests.mjs).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileTests } from './compile-tests.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const which = process.argv[2] ?? 'all';

function findTests(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) found.push(...findTests(full));
    else if (name.endsWith('.test.ts')) found.push(relative(root, full));
  }
  return found.sort();
}

const all = findTests(join(root, 'test'));
const isE2e = (f) => f.startsWith('test/e2e/');
const isIntegration = (f) => /\.int\.test\.ts$/.test(f);
const groups = {
  unit: all.filter((f) => !isE2e(f) && !isIntegration(f)),
  integration: all.filter((f) => !isE2e(f) && isIntegration(f)),
  e2e: all.filter(isE2e),
};
const named = process.argv.slice(2).filter((a) => a.endsWith('.test.ts'));
const selected =
  named.length > 0
    ? named.map((f) => (all.includes(relative(root, join(root, f))) ? relative(root, join(root, f)) : die(`no test file ${f}`)))
    : which === 'all'
      ? [...groups.unit, ...groups.integration, ...groups.e2e]
      : (groups[which] ?? die(`unknown group ${which}`));

if (selected.some(isE2e)) {
  const ensure = spawnSync('bash', [join(root, 'scripts/ensure-chromium.sh')], { stdio: 'inherit' });
  if (ensure.status !== 0) die('the browser tests need Chromium; see the message above');
}

if (!process.env.TEST_DATABASE_URL) {
  console.log('TEST_DATABASE_URL is not set: database tests run on embedded PGlite only.');
} else {
  console.log('Database tests run on PGlite and on PostgreSQL (TEST_DATABASE_URL).');
}

// The tests' temporary files (data directories, repositories, embedded databases, archives) on a memory-backed
// file system when the machine has one: an fsync there is free, on a disk it was milliseconds, and the embedded
// databases flush every commit. One directory per run, removed at the end whatever the tests left in it.
const scratch = memoryBackedScratch();
// The test files compiled to plain modules (compile-tests.mjs), else run through tsx.
const compiled = process.env.TEST_LOADER === 'tsx' ? null : await compileTests(root, selected).catch((error) => {
  console.log(`Running the tests through tsx (could not compile them: ${error instanceof Error ? error.message.split('\n')[0] : error})`);
  return null;
});
// Ctrl-C reaches the test runner too: wait for it to stop, then remove the directories
if (scratch || compiled) process.on('SIGINT', () => {});

// Node's test runner (scripts/test-runner.mjs: two files at a time, the longest first, 600 s per file); each test
// file's process inherits its options: source maps for the compiled files' stack traces, or tsx.
const result = spawnSync(
  process.execPath,
  [...(compiled ? ['--enable-source-maps'] : ['--import', 'tsx']), join(root, 'scripts/test-runner.mjs'), ...selected],
  {
    stdio: 'inherit',
    cwd: root,
    env: { ...process.env, NODE_ENV: 'test', ...(scratch ? { TMPDIR: scratch } : {}), ...(compiled ? { TEST_COMPILED_DIR: compiled } : {}) },
  },
);
if (scratch) rmSync(scratch, { recursive: true, force: true });
if (compiled) rmSync(compiled, { recursive: true, force: true });
process.exit(result.status ?? 1);

function memoryBackedScratch() {
  if (process.env.TEST_TMPDIR === 'keep') return null;
  try {
    accessSync('/dev/shm', constants.W_OK);
    return mkdtempSync('/dev/shm/docucommit-tests-');
  } catch {
    return null;
  }
}

function die(message) {
  console.error(message);
  process.exit(2);
}
