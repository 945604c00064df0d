/**
 * The prepared database image: an embedded (PGlite) database already created and migrated, kept on disk so a
 * new data directory starts from a copy instead of running PostgreSQL's initdb and every migration.
 *
 * Creating a PGlite cluster is the most expensive thing a first start does: initdb runs as a second WebAssembly
 * program and the process peaked at ~720 MB (a container with 512 MB was killed before the first page), while
 * opening an existing data directory peaks around 130 MB. The image is built once per installation — by
 * `npm ci` (scripts/prepare-database-image.mjs, the postinstall script), else by the first start that needs it,
 * in a child process so the server never carries initdb's memory — and stored beside the compiled sources in
 * node_modules/.cache/docucommit/ as
 *
 *   pgdata-<digest>/          the data directory, copied into `<data>/db` by a first start;
 *   pgdata-<digest>.tar.gz    the same as PGlite's dump, loaded by in-memory databases (the tests).
 *
 * The digest covers every migration file, the PGlite version and FORMAT: an image is used only while all three
 * are what built it, so a changed or added migration (or a PGlite upgrade) builds a new one. Migrations still
 * run after opening, which on a current image finds nothing to do. Both files are written under temporary names
 * and renamed, so processes starting together never see half an image.
 */
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** Bump when the way images are built changes (start parameters, what is stored). */
const FORMAT = 1;

export const IMAGE_CACHE_DIR = fileURLToPath(new URL('../../node_modules/.cache/docucommit/', import.meta.url));
export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
const PREPARE_SCRIPT = fileURLToPath(new URL('../../scripts/prepare-database-image.mjs', import.meta.url));

export interface DatabaseImage {
  digest: string;
  /** A complete PGlite data directory. */
  dir: string;
  /** The same data directory as a gzipped tar (PGlite's `loadDataDir`). */
  tarball: string;
}

/** Where the image of `digest` lives (whether or not it exists yet). */
export function databaseImagePaths(cacheDir: string, digest: string): DatabaseImage {
  return { digest, dir: join(cacheDir, `pgdata-${digest}`), tarball: join(cacheDir, `pgdata-${digest}.tar.gz`) };
}

/** The digest an image must carry to match these migration files and the installed PGlite. */
export function databaseImageDigest(migrationsDir = MIGRATIONS_DIR): string {
  const hash = createHash('sha256').update(`format ${FORMAT}\npglite ${pgliteVersion()}\n`);
  for (const name of readdirSync(migrationsDir).filter((n) => n.endsWith('.ts')).sort()) {
    hash.update(`${name}\n`).update(readFileSync(join(migrationsDir, name))).update('\n');
  }
  return hash.digest('hex').slice(0, 24);
}

function pgliteVersion(): string {
  const entry = fileURLToPath(import.meta.resolve('@electric-sql/pglite'));
  const manifest = JSON.parse(readFileSync(join(entry, '..', '..', 'package.json'), 'utf8')) as { version?: string };
  return manifest.version ?? 'unknown';
}

/** The current image when it has been built (both files present), else null. */
export function findDatabaseImage(cacheDir = IMAGE_CACHE_DIR, digest = databaseImageDigest()): DatabaseImage | null {
  const image = databaseImagePaths(cacheDir, digest);
  try {
    if (statSync(image.tarball).size > 0 && existsSync(join(image.dir, 'PG_VERSION'))) return image;
  } catch {
    // not built yet
  }
  return null;
}

/**
 * The current image, built first when missing — in a child process, whose memory (initdb's) is returned to the
 * system when it exits. Null when it cannot be built (e.g. node_modules is read-only); the caller then creates
 * the database itself.
 */
export async function ensureDatabaseImage(): Promise<DatabaseImage | null> {
  const digest = databaseImageDigest();
  const found = findDatabaseImage(IMAGE_CACHE_DIR, digest);
  if (found) return found;
  // One builder at a time (test files start together): the others wait for its image.
  const lock = join(IMAGE_CACHE_DIR, `pgdata-${digest}.lock`);
  for (const deadline = Date.now() + BUILD_TIMEOUT_MS; Date.now() < deadline; ) {
    const taken = takeLock(lock);
    if (taken === null) return null;
    if (taken) {
      try {
        if (!findDatabaseImage(IMAGE_CACHE_DIR, digest)) await buildInChildProcess();
      } finally {
        rmSync(lock, { force: true });
      }
      return findDatabaseImage(IMAGE_CACHE_DIR, digest);
    }
    await sleep(250);
    const built = findDatabaseImage(IMAGE_CACHE_DIR, digest);
    if (built) return built;
  }
  return null;
}

/** A build takes seconds; a lock older than this was left by a process that died. */
const BUILD_TIMEOUT_MS = 3 * 60 * 1000;

/** True when taken, false while another process holds it, null when the cache cannot be written at all. */
function takeLock(lock: string): boolean | null {
  try {
    mkdirSync(dirname(lock), { recursive: true });
    closeSync(openSync(lock, 'wx'));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return null;
    try {
      if (Date.now() - statSync(lock).mtimeMs > BUILD_TIMEOUT_MS) rmSync(lock, { force: true });
    } catch {
      // released meanwhile
    }
    return false;
  }
}

function buildInChildProcess(): Promise<void> {
  return new Promise<void>((resolve) => {
    const child = fork(PREPARE_SCRIPT, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [] });
    child.once('error', () => resolve());
    child.once('exit', () => resolve());
  });
}
