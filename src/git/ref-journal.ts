/**
 * The ref journal: a durable note, written before DocuCommit moves a ref, of the move it is about to make and of
 * what the database must record about it (its audit events). The note is removed once the database has that
 * record. A ref update in git and a database transaction cannot commit together, so this closes the gap: if the
 * process dies between the two, the note is still there on the next start, and the start-up reconciler checks
 * whether the move happened (the ref's reflog, or its current value) and writes the missing record, or drops
 * the note when the move never happened.
 *
 * Notes live in the repository, `<repo>/docucommit/journal/<id>.json` (git ignores the folder; nothing under a
 * repository is ever served). Each is written to a temporary file, fsynced, renamed and its folder fsynced.
 */
import { randomUUID } from 'node:crypto';
import { open, readdir, readFile, rename, rm, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readRefFromFiles } from './ref-read.ts';
import { isOid, refNameProblem, ZERO_OID } from './refs.ts';
import { runGit, userArg } from './run.ts';

/** One ref move: `old` null when the ref is created. */
export interface JournalUpdate {
  ref: string;
  old: string | null;
  new: string;
}

export interface JournalEntry<T = unknown> {
  id: string;
  createdAt: string;
  updates: JournalUpdate[];
  /** What the caller needs to finish the record (for DocuCommit: the audit events, see changes/ref-audit.ts). */
  record: T;
}

const journalDir = (gitDir: string): string => join(resolve(gitDir), 'docucommit', 'journal');
const ID = /^[0-9a-f-]{36}$/;

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes a journal entry durably (it is on disk when this resolves) and returns its id. */
export async function writeJournalEntry<T>(gitDir: string, updates: JournalUpdate[], record: T): Promise<string> {
  for (const update of updates) {
    if (refNameProblem(update.ref) !== null || !isOid(update.new) || (update.old !== null && !isOid(update.old))) {
      throw new Error(`ref journal: invalid update ${JSON.stringify(update).slice(0, 200)}`);
    }
  }
  const dir = journalDir(gitDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const id = randomUUID();
  const entry: JournalEntry<T> = { id, createdAt: new Date().toISOString(), updates, record };
  const temporary = join(dir, `${id}.tmp`);
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(JSON.stringify(entry));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, join(dir, `${id}.json`));
  await fsyncPath(dir);
  return id;
}

/** Removes a journal entry once its record is in the database (or its move is known not to have happened). */
export async function removeJournalEntry(gitDir: string, id: string): Promise<void> {
  if (!ID.test(id)) throw new Error('ref journal: invalid id');
  await rm(join(journalDir(gitDir), `${id}.json`), { force: true });
}

/** Every entry left in the repository's journal, oldest first. Unreadable files (a torn temporary) are dropped. */
export async function listJournalEntries(gitDir: string): Promise<JournalEntry[]> {
  const dir = journalDir(gitDir);
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  const entries: JournalEntry[] = [];
  for (const name of names) {
    const path = join(dir, name);
    // a temporary that never got renamed belongs to a move that never started
    if (!name.endsWith('.json') || !ID.test(name.slice(0, -5))) {
      await rm(path, { force: true, recursive: true });
      continue;
    }
    try {
      const entry = JSON.parse(await readFile(path, 'utf8')) as JournalEntry;
      if (entry.id !== name.slice(0, -5) || !Array.isArray(entry.updates)) throw new Error('malformed');
      entries.push(entry);
    } catch {
      await rm(path, { force: true });
    }
  }
  return entries.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
}

/**
 * Whether a journaled move happened: the ref's reflog (kept forever, core.logAllRefUpdates=always) has the line
 * "<old> <new>", or the ref points at `new` now.
 */
export async function updateApplied(gitDir: string, update: JournalUpdate): Promise<boolean> {
  if (refNameProblem(update.ref) !== null || !isOid(update.new)) return false;
  // the usual answer (the ref holds the new commit) from git's files, without starting git
  if (update.new !== ZERO_OID && (await readRefFromFiles(resolve(gitDir), update.ref)) === update.new) return true;
  const current = await runGit({
    gitDir,
    args: ['rev-parse', '--verify', '--quiet', '--end-of-options', userArg(update.ref)],
    okExitCodes: [0, 1],
  });
  // a deletion (git removes the ref's reflog with it) happened when the ref is gone
  if (update.new === ZERO_OID) return current.exitCode !== 0;
  if (current.exitCode === 0 && current.stdout.toString('ascii').trim() === update.new) return true;
  const reflog = await readFile(join(resolve(gitDir), 'logs', update.ref), 'utf8').catch(() => '');
  const prefix = `${update.old ?? ZERO_OID} ${update.new} `;
  return reflog.split('\n').some((line) => line.startsWith(prefix));
}

/**
 * Who created `ref` as it is now: the identity of its oldest reflog line when that line creates it (git removes
 * a ref's reflog when the ref is deleted, so a branch made again has a new first line), or null.
 */
export async function refCreator(gitDir: string, ref: string): Promise<string | null> {
  if (refNameProblem(ref) !== null) return null;
  const reflog = await readFile(join(resolve(gitDir), 'logs', ref), 'utf8').catch(() => '');
  const line = reflog.split('\n').find((l) => l.trim() !== '');
  const match = line ? /^([0-9a-f]{40}) [0-9a-f]{40} (.*?) \d+ [+-]\d{4}\t?/.exec(line) : null;
  return match && match[1] === ZERO_OID ? match[2]! : null;
}

/** The newest reflog line of `ref` as [old, new, identity], or null. */
export async function lastReflogEntry(gitDir: string, ref: string): Promise<{ old: string; new: string; identity: string } | null> {
  if (refNameProblem(ref) !== null) return null;
  const reflog = await readFile(join(resolve(gitDir), 'logs', ref), 'utf8').catch(() => '');
  const line = reflog.split('\n').filter((l) => l.trim() !== '').at(-1);
  const match = line ? /^([0-9a-f]{40}) ([0-9a-f]{40}) (.*?) \d+ [+-]\d{4}\t?/.exec(line) : null;
  return match ? { old: match[1]!, new: match[2]!, identity: match[3]! } : null;
}
