import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeBackup } from '../../backup/backup.ts';
import { identitiesFrom, recipientsFrom, type BackupKey, type BackupLock } from '../../backup/encryption.ts';
import { restoreBackup } from '../../backup/restore.ts';
import { AdvisoryRepositoryLocks } from '../../cluster/repository-locks.ts';
import { applicationUrlOf } from '../../db/connection.ts';
import { useCrossProcessLock } from '../../git/write-lock.ts';
import { CliUsageError, say, type CliIO, type Command } from '../command.ts';
import { DATA_OPTIONS, withDataContext } from '../data-context.ts';

export const backupCommand: Command = {
  name: 'backup',
  help: `Usage: docucommit backup --out FILE (--passphrase-stdin | --passphrase-file FILE | --recipient AGE_KEY... | --recipients-file FILE)
                        [--without-keys] [--data DIR]

Writes one age-encrypted file (https://age-encryption.org) holding a consistent dump of the database (the
embedded one, or PostgreSQL with DATABASE_URL), a git bundle of every project's repository with exactly the
refs the database knows at the same moment, and the data directory's key files (secret.key, mfa.key: TOTP
and other sealed secrets in the dump need them; leave them out with --without-keys when you keep them
elsewhere, and keep them elsewhere in any case when they come from DOCUCOMMIT_SECRET / DOCUCOMMIT_MFA_KEY).

Encrypted to a passphrase (at least 12 characters, read from standard input or the first line of a file), or
to one or more age public keys ("age1..."; --recipient may repeat; a recipients file has one per line): the
matching private key, kept offline, is then needed to restore. The archive is written under a temporary name
and renamed when complete. Saves and pushes carry on while it runs (on the embedded database, database work
pauses while the dump is read). A running server makes the backup itself.

Restore with "docucommit restore". Exit status: 0 written, 1 failed, 2 wrong arguments.

Examples:
  docucommit backup --out /backups/docucommit-$(date +%F).age --recipient age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
  printf '%s' "$BACKUP_PASSPHRASE" | docucommit backup --out nightly.age --passphrase-stdin
`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        ...DATA_OPTIONS,
        out: { type: 'string' },
        'passphrase-stdin': { type: 'boolean' },
        'passphrase-file': { type: 'string' },
        recipient: { type: 'string', multiple: true },
        'recipients-file': { type: 'string' },
        'without-keys': { type: 'boolean' },
      },
    });
    if (positionals.length > 0) throw new CliUsageError(`unexpected argument "${positionals[0]}"`);
    if (!values.out) throw new CliUsageError('--out FILE is required');
    const cwd = io.cwd ?? process.cwd();
    const lock = await backupLock(values, io, cwd);
    const out = resolve(cwd, values.out);
    return withDataContext(values, io, 'docucommit backup', async (context, config) => {
      // a command of its own on PostgreSQL takes the repositories' locks in every process, as servers do
      const url = io.server ? null : applicationUrlOf(context.db);
      const locks = url ? new AdvisoryRepositoryLocks(url) : null;
      const undo = locks ? useCrossProcessLock(locks) : null;
      try {
        const summary = await writeBackup(context, config, { lock, includeKeys: !values['without-keys'] }, out);
        say(io.stdout, `Wrote ${out}: ${summary.tables} tables (${summary.rows} rows), ${summary.repositories} repositories (${summary.refs} refs).`);
        if (summary.keyFiles.length > 0) say(io.stdout, `Key files in the archive: ${summary.keyFiles.join(', ')}.`);
        if (summary.keptElsewhere.length > 0) say(io.stdout, `Not in the archive (keep them safe separately, a restore needs them): ${summary.keptElsewhere.join(', ')}.`);
        return 0;
      } finally {
        undo?.();
        await locks?.close();
      }
    });
  },
};

export const restoreCommand: Command = {
  name: 'restore',
  help: `Usage: docucommit restore FILE --data DIR (--passphrase-stdin | --passphrase-file FILE | --identity FILE)

Restores a backup made by "docucommit backup" into DIR, which must be empty or missing, and, when
DATABASE_URL is set, into that PostgreSQL database, which must be empty (connect as the role that will own
the tables; the application's role is created by the migrations as on a first start). Without DATABASE_URL
the embedded database is restored into DIR/db.

The archive is opened with its passphrase or an age identity file (age-keygen's output). Nothing is written
to DIR or the database until the whole archive has been read and checked: a wrong key, a damaged, cut or
altered file is refused and leaves the target as it was. Repositories get exactly the recorded refs (checked,
and fsck'd); the database is loaded in one transaction. Then start the server on DIR and run
"docucommit audit verify".

Exit status: 0 restored, 1 refused or failed, 2 wrong arguments.

Example:
  docucommit restore /backups/docucommit-2026-12-01.age --data /srv/docucommit --identity ~/backup-key.txt
`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        ...DATA_OPTIONS,
        'passphrase-stdin': { type: 'boolean' },
        'passphrase-file': { type: 'string' },
        identity: { type: 'string', multiple: true },
      },
    });
    if (positionals.length !== 1) throw new CliUsageError('give exactly one backup FILE');
    if (!values.data) throw new CliUsageError('--data DIR is required (the empty directory to restore into)');
    const cwd = io.cwd ?? process.cwd();
    const chosen = [values['passphrase-stdin'], values['passphrase-file'], values.identity].filter((v) => v !== undefined && v !== false);
    if (chosen.length !== 1) throw new CliUsageError('give one of --passphrase-stdin, --passphrase-file or --identity');
    let key: BackupKey;
    if (values.identity) key = { identities: values.identity.flatMap((file) => identitiesFrom(readFileSync(resolve(cwd, file), 'utf8'))) };
    else key = { passphrase: values['passphrase-file'] ? firstLine(readFileSync(resolve(cwd, values['passphrase-file']), 'utf8')) : await readStdin(io) };
    const databaseUrl = io.env.DATABASE_URL || null;
    const dataDir = resolve(cwd, values.data);
    const summary = await restoreBackup(resolve(cwd, positionals[0]!), key, { dataDir, databaseUrl });
    say(io.stdout, `Restored the backup of ${summary.createdAt} into ${dataDir}${databaseUrl ? ' and the PostgreSQL database' : ''}: ${summary.tables} tables (${summary.rows} rows), ${summary.repositories} repositories.`);
    if (summary.keptElsewhere.length > 0) {
      say(io.stdout, `The backup did not hold ${summary.keptElsewhere.join(', ')}: configure the same keys before starting the server (MFA secrets were sealed under key ${summary.mfaKeyIds.join(' or ')}).`);
    }
    say(io.stdout, 'Next: start the server on it and run "docucommit audit verify".');
    return 0;
  },
};

async function backupLock(
  values: { 'passphrase-stdin'?: boolean; 'passphrase-file'?: string; recipient?: string[]; 'recipients-file'?: string },
  io: CliIO,
  cwd: string,
): Promise<BackupLock> {
  const chosen = [values['passphrase-stdin'], values['passphrase-file'], values.recipient ?? values['recipients-file']].filter((v) => v !== undefined && v !== false);
  if (chosen.length !== 1) throw new CliUsageError('give one of --passphrase-stdin, --passphrase-file, or --recipient / --recipients-file');
  if (values['passphrase-stdin']) return { passphrase: await readStdin(io) };
  if (values['passphrase-file']) return { passphrase: firstLine(readFileSync(resolve(cwd, values['passphrase-file']), 'utf8')) };
  const recipients = [...(values.recipient ?? [])];
  if (values['recipients-file']) recipients.push(...recipientsFrom(readFileSync(resolve(cwd, values['recipients-file']), 'utf8')));
  return { recipients };
}

function firstLine(text: string): string {
  const line = text.split(/\r?\n/)[0] ?? '';
  if (!line) throw new CliUsageError('the passphrase file is empty');
  return line;
}

async function readStdin(io: CliIO): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  const passphrase = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (!passphrase) throw new CliUsageError('--passphrase-stdin given but standard input was empty');
  return passphrase;
}
