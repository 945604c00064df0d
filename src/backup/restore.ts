/**
 * `docucommit restore`: a backup (backup.ts) back into an empty data directory and, with DATABASE_URL, an empty
 * PostgreSQL database (else the embedded database in DATA/db).
 *
 * Nothing is written to the target before the whole archive has been read and found intact: the archive is
 * decrypted into a staging folder inside the data directory (owner-only; the dump there is no more exposed than
 * the database it becomes), every entry is checked against the manifest, every repository is rebuilt from its
 * bundle with exactly the recorded refs and checked by fsck, the database is loaded in one transaction, and only
 * then are the repositories, database and keys moved into place. A wrong key fails before anything is read; a
 * damaged, cut or altered archive fails at the first unauthenticated chunk (age), and the staging folder is
 * removed. A non-empty target is refused before the archive is opened.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, readdirSync, rmdirSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { acquireDataDirLock } from '../config/data-dir-lock.ts';
import { ConflictError, InvalidInputError } from '../errors.ts';
import { PGliteDialect } from '../db/pglite-dialect.ts';
import { PGliteThread } from '../db/pglite-thread.ts';
import { keepWasmOnBaselineCompiler } from '../db/wasm-tiering.ts';
import { ArchiveFormatError, readArchive } from './archive.ts';
import { BACKUP_FORMAT, BACKUP_FORMAT_VERSION, KEY_FILES, MANIFEST_ENTRY, type BackupManifest } from './backup.ts';
import { restoreDatabase, unknownMigrations } from './database-dump.ts';
import { BackupDamagedError, decryptStream, type BackupKey } from './encryption.ts';
import { isRecordedRepository, restoreRepository } from './repository-bundles.ts';

export interface RestoreTarget {
  dataDir: string;
  /** The PostgreSQL database to restore into (its owner's connection string); null: the embedded database. */
  databaseUrl: string | null;
}

export interface RestoreSummary {
  createdAt: string;
  repositories: number;
  tables: number;
  rows: number;
  keyFiles: string[];
  keptElsewhere: string[];
  mfaKeyIds: string[];
}

/** Entries of the archive that fit no known place are refused (nothing outside the staging folder is written). */
const ENTRY = /^(database\/[a-z0-9_]{1,63}\.jsonl|repositories\/[0-9a-zA-Z][0-9a-zA-Z._-]{0,200}\.git\.bundle|keys\/(secret\.key|mfa\.key|mfa\.key\.previous)|manifest\.json)$/;
const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;

/** Refuses (ConflictError) a data directory or database that holds anything. */
export async function assertEmptyTarget(target: RestoreTarget, ignore: readonly string[] = []): Promise<void> {
  if (existsSync(target.dataDir)) {
    const present = readdirSync(target.dataDir).filter((name) => name !== 'lost+found' && !ignore.includes(name));
    if (present.length > 0) {
      throw new ConflictError(
        `the data directory ${target.dataDir} is not empty (it holds ${present.slice(0, 5).join(', ')}${present.length > 5 ? ', …' : ''}); ` +
          'restore only into an empty directory, so that nothing is overwritten',
      );
    }
  }
  if (target.databaseUrl) {
    const client = new pg.Client({ connectionString: target.databaseUrl });
    client.on('error', () => {});
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string }>(
        `select count(*)::text as n from pg_class where relnamespace = 'public'::regnamespace and relkind in ('r', 'p', 'v', 'm', 'S', 'f')`,
      );
      const n = Number(rows[0]?.n ?? 0);
      if (n > 0) {
        throw new ConflictError(`the database is not empty (${n} tables, views or sequences in its public schema); restore only into an empty database, so that nothing is overwritten`);
      }
    } finally {
      await client.end();
    }
  }
}

/** Restore the backup in `file` into `target`. */
export async function restoreBackup(file: string, key: BackupKey, target: RestoreTarget): Promise<RestoreSummary> {
  if (!existsSync(file)) throw new InvalidInputError(`no such file: ${file}`);
  await assertEmptyTarget(target);
  const createdDir = !existsSync(target.dataDir);
  const lock = acquireDataDirLock(target.dataDir, 'docucommit restore');
  let staging: string | null = null;
  try {
    await assertEmptyTarget({ dataDir: target.dataDir, databaseUrl: null }, ['docucommit.lock']);
    staging = await mkdtemp(join(target.dataDir, '.restore-'));
    await chmod(staging, 0o700);
    const files = join(staging, 'archive');
    const manifest = await unpack(file, key, files);
    const summary = await rebuild(manifest, files, staging, target);
    // everything is checked and built: move it into place
    for (const name of manifest.keys.files) await rename(join(files, 'keys', name), join(target.dataDir, name));
    await rename(join(staging, 'repos'), join(target.dataDir, 'repos'));
    if (!target.databaseUrl) await rename(join(staging, 'db'), join(target.dataDir, 'db'));
    return summary;
  } finally {
    if (staging) await rm(staging, { recursive: true, force: true });
    lock.release();
    // a directory this restore created is removed again when the restore failed (it holds nothing then)
    if (createdDir) {
      try {
        if (readdirSync(target.dataDir).length === 0) rmdirSync(target.dataDir);
      } catch {
        /* it holds the restored data */
      }
    }
  }
}

/** Decrypt and unpack the archive into `dir`, checking every entry against the manifest. */
async function unpack(file: string, key: BackupKey, dir: string): Promise<BackupManifest> {
  const plaintext = await decryptStream(createReadStream(file), key);
  const digests = new Map<string, { size: number; sha256: string }>();
  let manifestText: string | null = null;
  try {
    await readArchive(plaintext, async (name, size, chunks) => {
      if (!ENTRY.test(name)) throw new ArchiveFormatError(`unexpected entry ${name} in the backup`);
      if (manifestText !== null) throw new ArchiveFormatError(`${name} follows the manifest`);
      if (name === MANIFEST_ENTRY) {
        if (size > MAX_MANIFEST_BYTES) throw new ArchiveFormatError('the manifest is too large');
        const parts: Buffer[] = [];
        for await (const chunk of chunks) parts.push(chunk);
        manifestText = Buffer.concat(parts).toString('utf8');
        return;
      }
      const path = join(dir, name);
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      const hash = createHash('sha256');
      const out = createWriteStream(path, { mode: 0o600 });
      await pipeline(
        chunks,
        new Writable({
          write(chunk: Buffer, _encoding, callback) {
            hash.update(chunk);
            out.write(chunk, callback);
          },
          final(callback) {
            out.end(callback);
          },
        }),
      );
      digests.set(name, { size, sha256: hash.digest('hex') });
    });
  } catch (error) {
    plaintext.destroy();
    if (error instanceof ArchiveFormatError) throw new BackupDamagedError(`the backup is not a valid archive: ${error.message} (nothing was written)`);
    throw error;
  }
  if (manifestText === null) throw new BackupDamagedError('the backup has no manifest (nothing was written)');
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(manifestText) as BackupManifest;
  } catch {
    throw new BackupDamagedError('the manifest of the backup does not parse (nothing was written)');
  }
  if (manifest.format !== BACKUP_FORMAT) throw new BackupDamagedError('this is not a DocuCommit backup');
  if (manifest.version !== BACKUP_FORMAT_VERSION) throw new InvalidInputError(`backup format version ${manifest.version} is not supported by this version of DocuCommit`);
  const listed = new Map(manifest.entries.map((e) => [e.name, e]));
  for (const [name, digest] of digests) {
    const expected = listed.get(name);
    if (!expected || expected.size !== digest.size || expected.sha256 !== digest.sha256) throw new BackupDamagedError(`${name} does not match the manifest (nothing was written)`);
  }
  for (const name of listed.keys()) if (!digests.has(name)) throw new BackupDamagedError(`${name} is missing from the backup (nothing was written)`);
  if (!Array.isArray(manifest.repositories) || !manifest.repositories.every(isRecordedRepository)) throw new BackupDamagedError('the manifest lists a malformed repository');
  if (!manifest.keys.files.every((f) => (KEY_FILES as readonly string[]).includes(f) && digests.has(`keys/${f}`))) throw new BackupDamagedError('the manifest lists an unknown key file');
  const unknown = unknownMigrations(manifest.database);
  if (unknown.length > 0) throw new InvalidInputError(`the backup was made by a newer DocuCommit (it has migrations ${unknown.join(', ')}); restore it with that version or later`);
  for (const table of manifest.database.tables) {
    if (!/^[a-z0-9_]{1,63}$/.test(table.name) || table.entry !== `database/${table.name}.jsonl` || !digests.has(table.entry)) {
      throw new BackupDamagedError(`the rows of ${String(table.name).slice(0, 80)} are missing or misnamed`);
    }
  }
  for (const repository of manifest.repositories) {
    if (repository.entry !== null && (repository.entry !== `repositories/${repository.dir}.bundle` || !digests.has(repository.entry))) {
      throw new BackupDamagedError(`the bundle of ${repository.dir} is missing or misnamed`);
    }
  }
  return manifest;
}

/** Repositories into staging/repos, the database into staging/db (or the PostgreSQL database). */
async function rebuild(manifest: BackupManifest, files: string, staging: string, target: RestoreTarget): Promise<RestoreSummary> {
  const repos = join(staging, 'repos');
  await mkdir(repos, { recursive: true });
  for (const repository of manifest.repositories) {
    const bundle = repository.entry === null ? null : join(files, repository.entry);
    if (bundle !== null && !existsSync(bundle)) throw new BackupDamagedError(`the bundle of ${repository.dir} is missing`);
    await restoreRepository(resolve(repos, repository.dir), repository, bundle);
  }
  const dump = { ...manifest.database, tables: manifest.database.tables.map((t) => ({ ...t, entry: t.entry.replace(/^database\//, '') })) };
  if (target.databaseUrl) {
    const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: target.databaseUrl, max: 1 }) }) });
    try {
      await restoreDatabase(db, dump, join(files, 'database'));
    } finally {
      await db.destroy();
    }
  } else {
    keepWasmOnBaselineCompiler();
    const pglite = new PGliteThread({ dataDir: join(staging, 'db'), sharedBuffers: '16MB' });
    const db = new Kysely<unknown>({ dialect: new PGliteDialect({ pglite }) });
    try {
      await pglite.waitReady;
      await restoreDatabase(db, dump, join(files, 'database'));
    } finally {
      await db.destroy();
      await pglite.close();
    }
  }
  return {
    createdAt: manifest.created_at,
    repositories: manifest.repositories.length,
    tables: manifest.database.tables.length,
    rows: manifest.database.tables.reduce((n, t) => n + t.rows, 0),
    keyFiles: manifest.keys.files,
    keptElsewhere: manifest.keys.kept_elsewhere,
    mfaKeyIds: manifest.keys.mfa_key_ids,
  };
}
