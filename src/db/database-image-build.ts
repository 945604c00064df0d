import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEmbeddedDatabase } from './connection.ts';
import { databaseImageDigest, databaseImagePaths, findDatabaseImage, IMAGE_CACHE_DIR, type DatabaseImage } from './database-image.ts';

/**
 * Build the prepared database image (database-image.ts): a fresh PGlite cluster in a temporary directory,
 * migrated, dumped as a tarball, closed, then both renamed into place. A concurrent builder that finished first
 * wins; ours is discarded. Costs initdb's memory (~700 MB): run it in a process of its own.
 */
export async function buildDatabaseImage(cacheDir = IMAGE_CACHE_DIR, digest = databaseImageDigest()): Promise<DatabaseImage> {
  const existing = findDatabaseImage(cacheDir, digest);
  if (existing) return existing;
  const image = databaseImagePaths(cacheDir, digest);
  mkdirSync(cacheDir, { recursive: true });
  const temporary = `${image.dir}.${process.pid}.tmp`;
  rmSync(temporary, { recursive: true, force: true });
  try {
    const pglite = await createEmbeddedDatabase(temporary);
    const tarball = await pglite.dumpDataDir('gzip');
    await pglite.close();
    writeFileSync(`${image.tarball}.${process.pid}.tmp`, Buffer.from(await tarball.arrayBuffer()));
    renameSync(`${image.tarball}.${process.pid}.tmp`, image.tarball);
    try {
      renameSync(temporary, image.dir);
    } catch (error) {
      // another process renamed its (identical) image first
      if (!findDatabaseImage(cacheDir, digest)) throw error;
    }
  } finally {
    rmSync(temporary, { recursive: true, force: true });
    rmSync(`${image.tarball}.${process.pid}.tmp`, { force: true });
  }
  removeOtherImages(cacheDir, digest);
  return image;
}

/** Images of earlier migrations or PGlite versions, once no process can still be copying one (an hour). */
function removeOtherImages(cacheDir: string, keep: string): void {
  const hourAgo = Date.now() - 60 * 60 * 1000;
  for (const name of readdirSafe(cacheDir)) {
    if (!name.startsWith('pgdata-') || name.startsWith(`pgdata-${keep}`)) continue;
    try {
      const path = join(cacheDir, name);
      if (statSync(path).mtimeMs < hourAgo) rmSync(path, { recursive: true, force: true });
    } catch {
      // removed by another process meanwhile
    }
  }
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

