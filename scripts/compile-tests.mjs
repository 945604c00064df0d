// Compiles the test files of one run (and what they import from this project) to plain ES modules, so the test
// processes start without a TypeScript loader (used by run-tests.mjs).
//
// Through tsx every module a test process loads - our ~400 sources and every package file - went through tsx's
// loader thread one by one: a test file that imports the web app spent ~3 s of CPU before its first test, ~2 s
// more than the same code compiled. One esbuild build of all the run's test files instead (~2 s, once per run),
// with code splitting: what several test files import is one shared chunk, each test file an entry of its own.
// Packages stay ordinary imports (resolved from node_modules, where the output lives). Every source file keeps its
// own `import.meta.url` (bin/load-sources.mjs), so fixtures, assets and workers are found beside their source.
// Source maps point stack traces and failure locations at the TypeScript files.
//
// The output goes to a directory of its own under node_modules/.cache/docucommit/ (packages must resolve from
// it), removed after the run. Should compiling fail, the run goes through tsx as before (TEST_LOADER=tsx forces
// that).
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { keepModuleUrls } from '../bin/load-sources.mjs';

/** Where the compiled module of test file `file` (relative to the root) is, under `outDir`. */
export function compiledTestPath(outDir, file) {
  return join(outDir, file.replace(/\.tsx?$/, '.mjs'));
}

/** The test file (relative to the root) a compiled module under `outDir` came from. */
export function sourceOfCompiled(outDir, compiled) {
  return relative(outDir, compiled).replace(/\.mjs$/, '.ts');
}

/**
 * Compile `files` (paths relative to `root`) into a new directory under the cache; returns that directory.
 * Throws when esbuild is missing or a file does not compile.
 */
export async function compileTests(root, files) {
  const esbuild = await import('esbuild');
  const cache = join(root, 'node_modules', '.cache', 'docucommit');
  removeAbandoned(cache);
  const outDir = join(cache, `tests-${process.pid}-${Date.now().toString(36)}`);
  try {
    const result = await esbuild.build({
      entryPoints: files.map((file) => join(root, file)),
      outdir: outDir,
      outbase: root,
      absWorkingDir: root,
      bundle: true,
      splitting: true,
      write: false,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      tsconfig: join(root, 'tsconfig.json'),
      charset: 'utf8',
      sourcemap: 'linked',
      outExtension: { '.js': '.mjs' },
      logLevel: 'silent',
      plugins: [keepModuleUrls],
    });
    for (const output of result.outputFiles) {
      mkdirSync(dirname(output.path), { recursive: true });
      writeFileSync(output.path, output.path.endsWith('.map') ? absoluteSources(output.path, output.text) : output.contents);
    }
  } catch (error) {
    rmSync(outDir, { recursive: true, force: true });
    throw error;
  } finally {
    await esbuild.stop();
  }
  return outDir;
}

/**
 * A source map whose sources are absolute file URLs: esbuild writes them relative to the map, which Node resolves
 * from the map's real path (node_modules may be a link to another checkout's).
 */
function absoluteSources(mapPath, text) {
  const map = JSON.parse(text);
  map.sources = map.sources.map((source) => pathToFileURL(resolve(dirname(mapPath), source)).href);
  return JSON.stringify(map);
}

/** Output of runs that were killed before they could remove it (a run takes minutes; a day is long past it). */
function removeAbandoned(cache) {
  const dayAgo = Date.now() - 24 * 60 * 60 * 1000;
  let names = [];
  try {
    names = readdirSync(cache);
  } catch {
    return;
  }
  for (const name of names) {
    if (!/^tests-\d+-[0-9a-z]+$/.test(name)) continue;
    try {
      if (statSync(join(cache, name)).mtimeMs < dayAgo) rmSync(join(cache, name), { recursive: true, force: true });
    } catch {
      // removed by another run meanwhile
    }
  }
}
