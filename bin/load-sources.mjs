// Loads a TypeScript entry point of ours (src/cli/main.ts, bench/run.ts) as compiled ES modules.
//
// The sources are TypeScript. Run through tsx, every process carries a module-loader thread and its compile
// caches (~70 MB of a server's memory). Instead, esbuild (already a dependency: it bundles the editor island and
// the render worker) compiles our own files in about 0.2 s into the entry's module plus one module per dynamic
// `import()` (code splitting: each CLI command is one, so a command loads only what it runs); packages in
// node_modules stay ordinary imports. The modules are written to a directory under node_modules/.cache/docucommit/,
// named by a digest of their content (a new one only when the sources changed), so package imports resolve as
// usual. Should compiling be impossible (esbuild missing, node_modules read-only), the sources load through tsx
// as before.
//
// A manifest beside the directory lists every source file that went into it, and every module in it, with the
// SHA-256 of its content: while they are all unchanged, a later process imports the entry without starting
// esbuild at all (compiling cost each command ~1 s of CPU, esbuild's service process included; checking the ~400
// files takes ~20 ms).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSCONFIG = join(ROOT, 'tsconfig.json');
const CACHE = join(ROOT, 'node_modules', '.cache', 'docucommit');

/** Import `entry` (a path relative to the project root): compiled when possible, else through tsx. */
export async function loadSources(entry) {
  const file = process.env.DOCUCOMMIT_LOADER === 'tsx' ? null : await compile(entry).catch((error) => {
    process.stderr.write(`docucommit: running through tsx (could not compile the sources: ${error instanceof Error ? error.message : error})\n`);
    return null;
  });
  // how this process runs our code (the benchmark reports it)
  process.env.DOCUCOMMIT_LOADED_AS = file ? 'compiled' : 'tsx';
  if (file) return import(pathToFileURL(file).href);
  const { register } = await import('tsx/esm/api');
  // Our own tsconfig.json, wherever the command is started from: it sets the JSX runtime (Preact) the views
  // need. Left to itself tsx would look in the current directory.
  register({ tsconfig: TSCONFIG });
  return import(pathToFileURL(join(ROOT, entry)).href);
}

/** Bump when the way modules are compiled changes (the options below, the plugin, the layout of the output). */
const FORMAT = 2;

/** The compiled module of `entry`: the one the manifest names while its sources are unchanged, else compiled now. */
async function compile(entry) {
  const prefix = `${entry.replace(/[^A-Za-z0-9]+/g, '-')}-`;
  // one manifest per checkout: the module names its source files by absolute URL
  const manifest = join(CACHE, `${prefix}${sha256(ROOT).slice(0, 12)}.json`);
  return compiledFromManifest(manifest) ?? (await compileNow(entry, prefix, manifest));
}

/** The module a manifest names, when every input it lists is unchanged and every output file intact; else null. */
function compiledFromManifest(manifest) {
  try {
    const saved = JSON.parse(readFileSync(manifest, 'utf8'));
    if (saved.format !== FORMAT || saved.root !== ROOT || saved.node !== process.versions.node || !Array.isArray(saved.inputs)) return null;
    if (!/^[A-Za-z0-9-]+$/.test(saved.dir) || !Array.isArray(saved.outputs) || !saved.outputs.some(([name]) => name === saved.module)) return null;
    for (const [path, digest] of saved.inputs) {
      if (sha256(readFileSync(join(ROOT, path))) !== digest) return null;
    }
    for (const [name, digest] of saved.outputs) {
      if (!/^[A-Za-z0-9._-]+\.mjs$/.test(name) || sha256(readFileSync(join(CACHE, saved.dir, name))) !== digest) return null;
    }
    return join(CACHE, saved.dir, saved.module);
  } catch {
    return null; // no manifest yet, an input gone, or a module removed
  }
}

/**
 * Compile `entry` and what it imports from this project into a directory of modules; returns the entry's path.
 * Code splitting: what an entry imports with `import()` (each CLI command, commands/index.ts) is a module of its
 * own, with the packages it needs, so a process loads only what its command runs.
 */
async function compileNow(entry, prefix, manifest) {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [join(ROOT, entry)],
    absWorkingDir: ROOT,
    metafile: true,
    bundle: true,
    splitting: true,
    outdir: join(CACHE, 'compiling'),
    entryNames: '[name]',
    chunkNames: '[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    tsconfig: TSCONFIG,
    charset: 'utf8',
    logLevel: 'silent',
    plugins: [keepModuleUrls],
  });
  // esbuild's service process (~40 MB) would otherwise live as long as this one; a later build (the editor
  // island, the render worker bundle) starts it again for as long as it needs it.
  await esbuild.stop();
  const files = result.outputFiles.map((file) => ({ name: basename(file.path), code: file.text })).sort((a, b) => (a.name < b.name ? -1 : 1));
  // the entry's own module (the modules of its dynamic imports are entry points of esbuild's too)
  const module = basename(Object.entries(result.metafile.outputs).find(([, output]) => output.entryPoint === entry)?.[0] ?? '');
  if (!files.some((file) => file.name === module)) throw new Error('esbuild produced no output');
  const outputs = files.map((file) => [file.name, sha256(file.code)]);
  // the directory is named by a digest of everything in it: a new one only when the output changed
  const dir = `${prefix}${sha256(JSON.stringify(outputs)).slice(0, 16)}`;
  if (!existsSync(join(CACHE, dir, module))) {
    // written under a temporary name, then renamed: processes starting together never see a half-written one
    const temporary = join(CACHE, `${dir}.${process.pid}.tmp`);
    rmSync(temporary, { recursive: true, force: true });
    mkdirSync(temporary, { recursive: true });
    for (const file of files) writeFileSync(join(temporary, file.name), file.code);
    try {
      renameSync(temporary, join(CACHE, dir));
    } catch (error) {
      rmSync(temporary, { recursive: true, force: true });
      // another process renamed its (identical) directory first
      if (!existsSync(join(CACHE, dir, module))) throw error;
    }
    removeOldVersions(prefix, dir);
  }
  // the manifest last, so it never names a module that is not there; tsconfig.json shapes the output too
  const inputs = [...Object.keys(result.metafile.inputs), 'tsconfig.json'].map((path) => [path, sha256(readFileSync(join(ROOT, path)))]);
  writeAtomically(manifest, JSON.stringify({ format: FORMAT, root: ROOT, node: process.versions.node, dir, module, outputs, inputs }));
  return join(CACHE, dir, module);
}

function sha256(data) {
  return createHash('sha256').update(data).digest('hex');
}

/** A unique temporary name, then rename: processes starting together never see a half-written file. */
function writeAtomically(file, content) {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, content);
  renameSync(temporary, file);
}

/** Earlier compilations of the same entry (sources since changed), once no process can still be starting one. */
function removeOldVersions(prefix, keep) {
  const hourAgo = Date.now() - 60 * 60 * 1000;
  for (const other of readdirSync(CACHE)) {
    // directories of modules, and the single modules of the earlier format
    if (!other.startsWith(prefix) || other === keep || !/^[A-Za-z0-9-]+(\.mjs)?$/.test(other.slice(prefix.length))) continue;
    if (other.endsWith('.json')) continue;
    try {
      if (statSync(join(CACHE, other)).mtimeMs < hourAgo) rmSync(join(CACHE, other), { recursive: true, force: true });
    } catch {
      // removed by another process meanwhile
    }
  }
}

/**
 * Each source file keeps its own `import.meta.url`: files find their neighbours with `new URL('./x', import.meta.url)`
 * (assets, migrations' helpers, the git spawner and hooks), which must not resolve against the compiled module.
 * Also used by the test runner's compiled test files (scripts/compile-tests.mjs).
 */
export const keepModuleUrls = {
  name: 'keep-module-urls',
  setup(build) {
    build.onLoad({ filter: /\.(ts|tsx|mts)$/ }, (args) => {
      if (args.path.includes(`${join('node_modules', '')}`)) return undefined;
      const source = readFileSync(args.path, 'utf8');
      return {
        contents: source.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)),
        loader: args.path.endsWith('.tsx') ? 'tsx' : 'ts',
      };
    });
  },
};
