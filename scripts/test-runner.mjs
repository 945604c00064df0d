// Runs the test files named on the command line with Node's test runner, longest first (started by
// run-tests.mjs: the files compiled by compile-tests.mjs, in TEST_COMPILED_DIR, else through tsx, which every test
// file's process inherits).
//
// `node --test` sorts its files by name and starts them in that order, so the slowest files (the backups, the
// CLI and server processes, the browser tests) could start last and run alone at the end while the other
// slot idles. Here the files start in order of their last known duration, longest first, and the short ones
// fill in at the end. Durations come from the last run on this machine (node_modules/.cache/docucommit/), else
// from scripts/test-durations.json (committed: a fresh checkout or CI), else from the kind of file.
//
// Usage: node --import tsx scripts/test-runner.mjs FILE...   (env TEST_CONCURRENCY: parallel files, default 2;
// TEST_COMPILED_DIR: run the compiled modules there instead, without tsx)
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { run } from 'node:test';
import { spec, tap } from 'node:test/reporters';
import { fileURLToPath } from 'node:url';
import { compiledTestPath, sourceOfCompiled } from './compile-tests.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const CACHE = join(root, 'node_modules', '.cache', 'docucommit', 'test-durations.json');
const SEED = join(root, 'scripts', 'test-durations.json');
/** Per file, like --test-timeout did: a file that runs longer fails (a guard against a hang, not a speed check). */
const FILE_TIMEOUT_MS = 600_000;

const files = process.argv.slice(2);
const concurrency = Number(process.env.TEST_CONCURRENCY) || 2;

const known = { ...readDurations(SEED), ...readDurations(CACHE) };
/** Seconds a file is expected to take. */
const expected = (file) => known[file] ?? (file.startsWith('test/e2e/') ? 20 : /\.int\.test\.ts$/.test(file) ? 8 : 2);
const ordered = [...files].sort((a, b) => expected(b) - expected(a) || a.localeCompare(b));

// compiled by run-tests.mjs (compile-tests.mjs): each file runs as its compiled module; durations keep its own name
const compiledDir = process.env.TEST_COMPILED_DIR;
const toRun = (file) => (compiledDir ? compiledTestPath(compiledDir, file) : join(root, file));
const sourceOf = (path) => (compiledDir ? sourceOfCompiled(compiledDir, path) : relative(root, path));

const measured = {};
const stream = run({ files: ordered.map(toRun), concurrency, timeout: FILE_TIMEOUT_MS });
stream.on('test:fail', () => {
  process.exitCode = 1;
});
stream.on('test:complete', (event) => {
  // a whole file: its process from start to exit
  if (event.nesting === 0 && event.file && event.name === event.file && event.details?.duration_ms !== undefined) {
    measured[sourceOf(event.file)] = Math.round(event.details.duration_ms / 100) / 10;
  }
});
stream.on('end', () => saveDurations(measured));
stream.compose(process.stdout.isTTY ? new spec() : tap).pipe(process.stdout);

function readDurations(file) {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8'));
    return parsed && typeof parsed === 'object' ? parsed : {};
  } catch {
    return {};
  }
}

/** Merged into the last run's durations (a partial run keeps the others'). */
function saveDurations(durations) {
  if (Object.keys(durations).length === 0) return;
  try {
    const merged = { ...readDurations(CACHE), ...durations };
    const sorted = Object.fromEntries(Object.entries(merged).sort(([a], [b]) => a.localeCompare(b)));
    mkdirSync(join(CACHE, '..'), { recursive: true });
    writeFileSync(`${CACHE}.${process.pid}.tmp`, `${JSON.stringify(sorted, null, 1)}\n`);
    renameSync(`${CACHE}.${process.pid}.tmp`, CACHE);
  } catch {
    // a read-only node_modules: the next run orders by the committed durations
  }
}
