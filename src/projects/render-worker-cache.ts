/**
 * The render worker's bundle, kept on disk between processes (node_modules/.cache/docucommit/, beside the compiled
 * server of bin/load-sources.mjs). Bundling takes esbuild about half a second of CPU, paid by every process's
 * first large render, on the same cores as the render itself; the cached copy is checked and read in ~20 ms.
 *
 * The cache is valid while every file that went into the bundle is unchanged: a manifest lists each input with
 * the SHA-256 of its content, plus a key naming the bundler and its settings, and the SHA-256 of the bundle.
 * A missing, stale or damaged cache is rebuilt; a cache that cannot be written (read-only install) is skipped.
 * Files are written to a temporary name and renamed, so a process starting beside another never reads half.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const MANIFEST = 'render-worker.json';
const FORMAT = 1;

export interface WorkerBundle {
  code: string;
  /** Absolute paths of every file the bundle was built from. */
  inputs: string[];
}

interface Manifest {
  format: number;
  key: string;
  bundle: string;
  inputs: [path: string, sha256: string][];
}

export type CachedBundle = { code: string; fromCache: boolean };

/**
 * The bundle from `cacheDir` when its inputs are unchanged and `key` (bundler version and settings) matches;
 * otherwise `build()`, stored for the next process.
 */
export async function cachedWorkerBundle(cacheDir: string, key: string, build: () => Promise<WorkerBundle>): Promise<CachedBundle> {
  const cached = readCached(cacheDir, key);
  if (cached !== null) return { code: cached, fromCache: true };
  const built = await build();
  try {
    store(cacheDir, key, built);
  } catch {
    // a cache we cannot write (read-only node_modules) only costs the next process a bundling
  }
  return { code: built.code, fromCache: false };
}

function readCached(cacheDir: string, key: string): string | null {
  try {
    const manifest = JSON.parse(readFileSync(join(cacheDir, MANIFEST), 'utf8')) as Manifest;
    if (manifest.format !== FORMAT || manifest.key !== key || !Array.isArray(manifest.inputs) || !/^[0-9a-f]{64}$/.test(manifest.bundle)) {
      return null;
    }
    for (const [path, digest] of manifest.inputs) {
      if (sha256(readFileSync(path)) !== digest) return null;
    }
    const code = readFileSync(join(cacheDir, bundleName(manifest.bundle)));
    return sha256(code) === manifest.bundle ? code.toString('utf8') : null;
  } catch {
    return null; // no cache yet, an input gone, or a manifest that is not ours
  }
}

function store(cacheDir: string, key: string, built: WorkerBundle): void {
  mkdirSync(cacheDir, { recursive: true });
  const bundle = sha256(Buffer.from(built.code, 'utf8'));
  const manifest: Manifest = { format: FORMAT, key, bundle, inputs: built.inputs.map((path) => [path, sha256(readFileSync(path))]) };
  writeAtomically(join(cacheDir, bundleName(bundle)), built.code);
  // the manifest last: it never names a bundle that is not there
  writeAtomically(join(cacheDir, MANIFEST), JSON.stringify(manifest));
  // Bundles of earlier sources: a process reads its bundle once, at its first large render, so only one
  // starting at this very moment could miss it (and would bundle for itself).
  for (const name of readdirSync(cacheDir)) {
    if (/^render-worker-[0-9a-f]{16}\.cjs$/.test(name) && name !== bundleName(bundle)) rmSync(join(cacheDir, name), { force: true });
  }
}

function writeAtomically(file: string, content: string): void {
  const temporary = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    writeFileSync(temporary, content);
    renameSync(temporary, file);
  } finally {
    rmSync(temporary, { force: true });
  }
}

const bundleName = (digest: string) => `render-worker-${digest.slice(0, 16)}.cjs`;

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
