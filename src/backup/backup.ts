/**
 * `docucommit backup`: one encrypted archive (an age file, encryption.ts) holding a consistent dump of the
 * database (database-dump.ts), a git bundle of every project's repository (repository-bundles.ts) and, unless
 * left out, the key files of the data directory; a manifest of every entry's SHA-256 comes last.
 *
 * Consistency. A branch move writes the git ref first and the database after (changes/branch-moves.ts: journal,
 * compare-and-swap, record), all under the repository's write lock (git/write-lock.ts; on PostgreSQL also its
 * advisory lock, so in every process). The backup takes the write locks of every repository at once, then opens
 * its REPEATABLE READ transaction and fixes the snapshot, reads every ref, and lets the locks go: no move is
 * half-way while the refs are read and the snapshot taken, so each repository's recorded refs are exactly what
 * the snapshot's database says happened (every commit it records as published is in a recorded ref, and no ref
 * holds a move the database has not recorded). The dump is then read from the snapshot, and each bundle is
 * written from the recorded commits (objects never change), while saves carry on. A project created while the
 * locks were being taken (its repository not among those locked) makes the backup take the locks again, with it.
 *
 * On the embedded database (PGlite, one session) the server's database work waits while the dump is read.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CompiledQuery, sql } from 'kysely';
import pg from 'pg';
import type { AppContext } from '../app-context.ts';
import { recordAuditEvent } from '../audit/audit-log.ts';
import { secretKey } from '../auth/secret-box.ts';
import { MFA_KEY_FILE, MFA_PREVIOUS_KEYS_FILE, type Config } from '../config/config.ts';
import { withWriteLocks } from '../git/write-lock.ts';
import { ArchiveWriter } from './archive.ts';
import { dumpDatabase, type DatabaseDump, type SqlSession } from './database-dump.ts';
import { encryptStream, type BackupLock } from './encryption.ts';
import { readRefs, writeBundle, type RecordedRepository } from './repository-bundles.ts';

export const BACKUP_FORMAT = 'docucommit-backup';
export const BACKUP_FORMAT_VERSION = 1;
export const MANIFEST_ENTRY = 'manifest.json';
/** The key files of a data directory a backup may hold (config/config.ts). */
export const KEY_FILES = ['secret.key', MFA_KEY_FILE, MFA_PREVIOUS_KEYS_FILE] as const;

/** The last entry of a backup: what it holds and how to check it. */
export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  version: number;
  created_at: string;
  database: { kind: 'pglite' | 'postgres' } & DatabaseDump;
  repositories: RecordedRepository[];
  keys: {
    /** Key files of the data directory in the archive (under keys/). */
    files: string[];
    /** Fingerprints of the MFA keys in use when the backup was made (the secrets in the dump need one of them). */
    mfa_key_ids: string[];
    /** Keys in use that are not in the archive (configured by environment, or --without-keys): kept elsewhere. */
    kept_elsewhere: string[];
  };
  entries: Array<{ name: string; size: number; sha256: string }>;
}

export interface BackupOptions {
  lock: BackupLock;
  /** Put the data directory's key files in the archive (default true). */
  includeKeys?: boolean;
  /** Called once the snapshot is taken and the locks are released (tests make saves here). */
  afterSnapshot?: () => Promise<void>;
}

export interface BackupSummary {
  repositories: number;
  refs: number;
  tables: number;
  rows: number;
  keyFiles: string[];
  keptElsewhere: string[];
}

/** Write a backup of everything `context` serves to `outFile` (written under a temporary name, then renamed). */
export async function writeBackup(context: AppContext, config: Config, options: BackupOptions, outFile: string): Promise<BackupSummary> {
  const work = await mkdtemp(join(config.dataDir, '.backup-'));
  const partial = `${outFile}.${randomBytes(4).toString('hex')}.partial`;
  try {
    const { dump, repositories } = await takeSnapshot(context, config, work);
    await options.afterSnapshot?.();
    const keys = keyMaterial(config, options.includeKeys ?? true);

    const plain = new PassThrough();
    const encrypted = await encryptStream(plain, options.lock);
    const written = pipeline(encrypted, createWriteStream(partial, { mode: 0o600 }));
    written.catch(() => {});
    const archive = new ArchiveWriter(plain, new Date());
    try {
      for (const table of dump.tables) {
        await archive.addFile(`database/${table.entry}`, join(work, table.entry));
        await rm(join(work, table.entry), { force: true });
        table.entry = `database/${table.entry}`;
      }
      for (const repository of repositories) {
        if (repository.refs.length === 0) continue;
        const bundle = join(work, `${repository.dir}.bundle`);
        await writeBundle(join(config.reposDir, repository.dir), repository.refs, bundle);
        repository.entry = `repositories/${repository.dir}.bundle`;
        await archive.addFile(repository.entry, bundle);
        await rm(bundle, { force: true });
      }
      for (const [file, data] of keys.files) await archive.addBuffer(`keys/${file}`, data);
      const manifest: BackupManifest = {
        format: BACKUP_FORMAT,
        version: BACKUP_FORMAT_VERSION,
        created_at: new Date().toISOString(),
        database: { kind: config.databaseUrl ? 'postgres' : 'pglite', ...dump },
        repositories,
        keys: { files: [...keys.files.keys()], mfa_key_ids: keys.mfaKeyIds, kept_elsewhere: keys.keptElsewhere },
        entries: [...archive.entries],
      };
      await archive.addBuffer(MANIFEST_ENTRY, Buffer.from(JSON.stringify(manifest, null, 1) + '\n'));
      await archive.finish();
    } catch (error) {
      plain.destroy(error as Error);
      throw error;
    }
    await written;
    await rename(partial, outFile);
    const summary: BackupSummary = {
      repositories: repositories.length,
      refs: repositories.reduce((n, r) => n + r.refs.length, 0),
      tables: dump.tables.length,
      rows: dump.tables.reduce((n, t) => n + t.rows, 0),
      keyFiles: [...keys.files.keys()],
      keptElsewhere: keys.keptElsewhere,
    };
    // who holds a copy of everything, and when: in the system chain (never the file's place or its key)
    await recordAuditEvent(context.db, {
      orgId: null,
      actor: { type: 'system', id: null, label: 'docucommit backup' },
      action: 'instance.backup_created',
      target: null,
      outcome: 'success',
      details: {
        repositories: summary.repositories,
        refs: summary.refs,
        tables: summary.tables,
        rows: summary.rows,
        encrypted_to: 'passphrase' in options.lock ? 'passphrase' : `${options.lock.recipients.length} recipient(s)`,
        includes_keys: summary.keyFiles.length > 0,
      },
    });
    return summary;
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Under the write locks of every repository: fix a database snapshot and read each project's refs. Then, with
 * the locks released, dump the database from that snapshot into `dir`.
 */
async function takeSnapshot(context: AppContext, config: Config, dir: string): Promise<{ dump: DatabaseDump; repositories: RecordedRepository[] }> {
  let locked = new Set(repositoryDirs(config.reposDir));
  for (let attempt = 0; ; attempt++) {
    // the locks first, then the transaction: a writer holding its lock may be waiting for the database (on PGlite
    // for its one connection), so a transaction opened before the locks could wait on that writer for ever
    const taken = await withWriteLocks(
      [...locked].map((d) => join(config.reposDir, d)),
      async () => {
        const session = await openSnapshotSession(context, config);
        try {
          // the first statement fixes the snapshot
          const projects = await session.query<{ repo_dir: string }>('select repo_dir from public.projects order by repo_dir');
          const missing = projects.filter((p) => !locked.has(p.repo_dir) && existsSync(join(config.reposDir, p.repo_dir)));
          if (missing.length > 0) {
            for (const p of missing) locked.add(p.repo_dir);
            await session.close();
            return null;
          }
          const recorded: RecordedRepository[] = [];
          for (const { repo_dir } of projects) {
            const path = join(config.reposDir, repo_dir);
            const { refs, head } = existsSync(path) ? await readRefs(path) : { refs: [], head: null };
            recorded.push({ dir: repo_dir, refs, head, entry: null });
          }
          return { session, recorded };
        } catch (error) {
          await session.close().catch(() => {});
          throw error;
        }
      },
    );
    if (taken === null) {
      if (attempt >= 5) throw new Error('projects kept being created while the backup took its locks; try again');
      locked = new Set([...locked, ...repositoryDirs(config.reposDir)]);
      continue;
    }
    try {
      const dump = await dumpDatabase(taken.session, dir);
      return { dump, repositories: taken.recorded };
    } finally {
      await taken.session.close().catch(() => {});
    }
  }
}

function repositoryDirs(reposDir: string): string[] {
  if (!existsSync(reposDir)) return [];
  return readdirSync(reposDir).filter((name) => name.endsWith('.git') && !name.startsWith('.'));
}

/**
 * A read-only REPEATABLE READ transaction as the tables' owner: on PostgreSQL a connection of its own with
 * DATABASE_URL (the application's role would see through row-level security); on PGlite a transaction of the
 * one session, switched back to its superuser for the transaction only. The snapshot is fixed by the first query.
 */
async function openSnapshotSession(context: AppContext, config: Config): Promise<SqlSession & { close(): Promise<void> }> {
  if (config.databaseUrl) {
    const client = new pg.Client({ connectionString: config.databaseUrl });
    client.on('error', () => {});
    await client.connect();
    await client.query('begin isolation level repeatable read read only');
    let closed = false;
    return {
      async query<R>(text: string, params: readonly unknown[] = []) {
        return (await client.query(text, [...params])).rows as R[];
      },
      async close() {
        if (closed) return;
        closed = true;
        await client.query('commit').catch(() => {});
        await client.end();
      },
    };
  }
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let opened!: (session: SqlSession) => void;
  const ready = new Promise<SqlSession>((resolve) => (opened = resolve));
  const transaction = context.db.transaction().execute(async (trx) => {
    await sql`set transaction isolation level repeatable read, read only`.execute(trx);
    await sql`set local role none`.execute(trx);
    opened({
      async query<R>(text: string, params: readonly unknown[] = []) {
        return (await trx.executeQuery<R>(CompiledQuery.raw(text, [...params]))).rows;
      },
    });
    await finished;
  });
  const session = await Promise.race([ready, transaction.then(() => null)]);
  if (session === null) throw new Error('the database transaction of the backup ended early');
  return {
    query: (text, params) => session.query(text, params),
    async close() {
      finish();
      await transaction;
    },
  };
}

/** The data directory's key files that are the keys in use (a file an environment variable overrides is left out). */
function keyMaterial(config: Config, include: boolean): { files: Map<string, Buffer>; mfaKeyIds: string[]; keptElsewhere: string[] } {
  const files = new Map<string, Buffer>();
  const keptElsewhere: string[] = [];
  const read = (name: string) => {
    const path = join(config.dataDir, name);
    return existsSync(path) ? readFileSync(path) : null;
  };
  const secretFile = read('secret.key');
  const secretInUse = secretFile !== null && Buffer.from(secretFile.toString('utf8').trim(), 'base64').equals(config.secret);
  const mfaFile = read(MFA_KEY_FILE);
  const mfaInUse = mfaFile !== null && Buffer.from(mfaFile.toString('utf8').trim(), 'base64').equals(config.mfaKeys.current);
  if (include && secretInUse) files.set('secret.key', secretFile);
  else keptElsewhere.push(secretInUse ? 'secret.key' : 'DOCUCOMMIT_SECRET');
  if (include && mfaInUse) {
    files.set(MFA_KEY_FILE, mfaFile);
    const previous = read(MFA_PREVIOUS_KEYS_FILE);
    if (previous !== null) files.set(MFA_PREVIOUS_KEYS_FILE, previous);
  } else keptElsewhere.push(mfaInUse ? MFA_KEY_FILE : 'DOCUCOMMIT_MFA_KEY');
  const mfaKeyIds = [config.mfaKeys.current, ...config.mfaKeys.previous].map((key) => secretKey(key).id);
  return { files, mfaKeyIds, keptElsewhere };
}
