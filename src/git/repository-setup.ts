/**
 * Creating a bare repository with DocuCommit's settings and hooks, and checking (repairing) them on every start,
 * so repositories made by older versions, or moved to another data folder, get the current ones.
 */
import { appendFile, chmod, lstat, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PUBLISHED_BRANCH } from '../content/published-branch.ts';
import { ConflictError } from '../errors.ts';
import { runGit, userArg } from './run.ts';

/** Largest pack a push may send (receive.maxInputSize; smart-http also caps the request body). */
export const MAX_PUSH_BYTES = 100 * 1024 * 1024;

/**
 * Settings of every repository (single-valued keys, written to the repository's own config):
 * - objects are checked on receive and fetch; history cannot be rewritten or deleted by a push;
 * - objects, pack indexes and refs are fsynced before git reports success (git ≥ 2.36 `core.fsync`), so an
 *   acknowledged commit or push survives a power loss, not only a killed process;
 * - every ref move is logged and the logs are never expired (the start-up reconciler and forensics read them);
 * - receive-pack does not start its own (detached, unlocked) gc: DocuCommit runs `gc --auto` itself, in the
 *   foreground and under the repository's write lock (maintenance.ts);
 * - the hooks folder is the repository's own, spelled out so no other setting can redirect it.
 */
export function repositorySettings(gitDir: string): [string, string][] {
  return [
    ['receive.fsckObjects', 'true'],
    ['fetch.fsckObjects', 'true'],
    ['transfer.fsckObjects', 'true'],
    ['receive.denyNonFastForwards', 'true'],
    ['receive.denyDeletes', 'true'],
    ['receive.maxInputSize', String(MAX_PUSH_BYTES)],
    ['receive.autogc', 'false'],
    ['core.fsync', 'objects,derived-metadata,reference'],
    ['core.fsyncMethod', 'fsync'],
    ['core.logAllRefUpdates', 'always'],
    ['gc.reflogExpire', 'never'],
    ['gc.reflogExpireUnreachable', 'never'],
    ['gc.auto', '6700'],
    ['gc.autoPackLimit', '50'],
    ['gc.autoDetach', 'false'],
    // a repack of hostile content stays within a bounded amount of memory
    ['pack.windowMemory', '256m'],
    ['core.hooksPath', join(resolve(gitDir), 'hooks')],
  ];
}

/** The repository's own config as key → values (keys lower-cased as git prints them). */
async function readLocalConfig(gitDir: string): Promise<Map<string, string[]>> {
  const result = await runGit({ gitDir, args: ['config', '--local', '--null', '--list'], okExitCodes: [0, 1] });
  const values = new Map<string, string[]>();
  for (const record of result.stdout.toString('utf8').split('\0')) {
    if (!record) continue;
    const newline = record.indexOf('\n');
    const key = (newline < 0 ? record : record.slice(0, newline)).toLowerCase();
    const value = newline < 0 ? '' : record.slice(newline + 1);
    values.set(key, [...(values.get(key) ?? []), value]);
  }
  return values;
}

/** Writes repositorySettings into the repository at `gitDir`, as if it lived at `finalPath`; returns the keys it changed. */
export async function applyRepositorySettings(gitDir: string, finalPath = gitDir): Promise<string[]> {
  const current = await readLocalConfig(gitDir);
  const changed: string[] = [];
  for (const [key, value] of repositorySettings(finalPath)) {
    const present = current.get(key.toLowerCase());
    if (present?.length === 1 && present[0] === value) continue;
    // --replace-all: a key that somehow holds several values ends up with exactly ours
    await runGit({ gitDir, args: ['config', '--replace-all', key, value] });
    changed.push(key);
  }
  return changed;
}

/**
 * Settings in git's config file syntax: one section per key (git merges repeated sections), every value quoted,
 * with `\\`, `"`, newline and tab escaped as git's config parser expects.
 */
export function settingsAsConfigText(settings: readonly [string, string][]): string {
  return settings
    .map(([key, value]) => {
      const dot = key.lastIndexOf('.');
      const section = key.slice(0, dot);
      const name = key.slice(dot + 1);
      if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(section) || !/^[A-Za-z][A-Za-z0-9-]*$/.test(name)) throw new Error(`unexpected setting name ${key}`);
      const quoted = value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n').replaceAll('\t', '\\t');
      return `[${section}]\n\t${name} = "${quoted}"\n`;
    })
    .join('');
}

/**
 * Creates a bare repository at `path`, fully configured (settings and hooks) before it appears there: it is
 * built in a sibling folder and renamed into place, so a crash never leaves a half-configured repository behind
 * at `path`. ConflictError when something already exists at `path`.
 */
export async function createBareRepository(path: string): Promise<string> {
  const target = resolve(path);
  await mkdir(dirname(target), { recursive: true });
  const staging = await mkdtemp(join(dirname(target), `.${basename(target)}.creating-`));
  try {
    await runGit({
      // --template= : no sample hooks or other files from the system's template folder
      args: ['init', '--quiet', '--bare', '--template=', `--initial-branch=${PUBLISHED_BRANCH}`, '--end-of-options', userArg(staging)],
    });
    await mkdir(join(staging, 'hooks'), { mode: 0o755 });
    // Written as text in one go (one `git config` per setting is ~17 processes, ~250 ms on a slow machine), then
    // read back through git by applyRepositorySettings, which rewrites any key git reads differently: git's
    // own reading is the check.
    await appendFile(join(staging, 'config'), settingsAsConfigText(repositorySettings(target)));
    await applyRepositorySettings(staging, target);
    await writeHooks(staging);
    await rename(staging, target).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'EEXIST' || error.code === 'ENOTEMPTY' || error.code === 'ENOTDIR') {
        throw new ConflictError('A repository already exists at that location.');
      }
      throw error;
    });
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  installedHooks.add(join(target, 'hooks'));
  return target;
}

/**
 * Checks an existing repository's settings and hooks and repairs what differs (a repository made by an older
 * version, a data folder that moved, a Node binary that moved). Idempotent; returns what it changed.
 */
export async function ensureRepositorySetup(gitDir: string): Promise<string[]> {
  const path = resolve(gitDir);
  const changed = await applyRepositorySettings(path);
  if (await writeHooks(path)) changed.push('hooks/pre-receive');
  installedHooks.add(join(path, 'hooks'));
  return changed;
}

/** Our pre-receive hook (plain JavaScript, see hooks/pre-receive.mjs): it asks the server to check every push. */
export const PRE_RECEIVE_CLIENT = fileURLToPath(new URL('./hooks/pre-receive.mjs', import.meta.url));
/** The same client in perl (hooks/pre-receive.pl): it starts in a few milliseconds, node in 50 or more. */
export const PRE_RECEIVE_PERL_CLIENT = fileURLToPath(new URL('./hooks/pre-receive.pl', import.meta.url));
const shellQuote = (value: string): string => `'${value.replaceAll("'", `'\\''`)}'`;
const installedHooks = new Set<string>();

/** The text of the repository's pre-receive hook: it runs our checker with this Node binary. */
export function preReceiveHookScript(): string {
  return [
    '#!/bin/sh',
    '# Written by DocuCommit (src/git/repository-setup.ts). Pushes are checked by the server before any ref moves.',
    '# Every push waits for this client to start: perl (git depends on it on most systems) before node.',
    `command -v perl >/dev/null 2>&1 && exec perl ${shellQuote(PRE_RECEIVE_PERL_CLIENT)}`,
    `exec ${shellQuote(process.execPath)} ${shellQuote(PRE_RECEIVE_CLIENT)}`,
    '',
  ].join('\n');
}

/** Writes the pre-receive hook when it is missing, differs or is not executable; true when it wrote. */
async function writeHooks(gitDir: string): Promise<boolean> {
  const hooksDir = join(resolve(gitDir), 'hooks');
  const script = preReceiveHookScript();
  const target = join(hooksDir, 'pre-receive');
  const current = await readFile(target, 'utf8').catch(() => null);
  const mode = current === null ? 0 : (await lstat(target)).mode;
  if (current === script && (mode & 0o777) === 0o755) return false;
  await mkdir(hooksDir, { recursive: true, mode: 0o755 });
  const temporary = `${target}.${process.pid}.tmp`;
  await writeFile(temporary, script, { mode: 0o755 });
  await chmod(temporary, 0o755); // writeFile's mode is filtered by the umask
  await rename(temporary, target);
  return true;
}

/**
 * Makes sure the repository's hooks are this process's (the Node binary or the install folder may have moved
 * since the repository was created). Smart HTTP calls it before every receive-pack; cheap after the first
 * call per repository and process.
 */
export async function installHooks(gitDir: string): Promise<void> {
  const hooksDir = join(resolve(gitDir), 'hooks');
  if (installedHooks.has(hooksDir)) return;
  await writeHooks(gitDir);
  installedHooks.add(hooksDir);
}
