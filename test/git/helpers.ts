/** Test helpers for the git layer: temporary folders and a plain `git` runner independent of src/git/run.ts. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temporary folder and a function removing it. */
export function tempDir(prefix = 'dc-git-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const isolatedEnv = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: tmpdir(),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  LC_ALL: 'C',
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.test',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.test',
});

/** Runs plain git against `gitDir` (for checking results independently of the code under test). */
export function git(gitDir: string, args: string[], input?: string | Buffer): { stdout: string; stderr: string; status: number | null } {
  const result = spawnSync('git', ['--git-dir', gitDir, ...args], { input, env: isolatedEnv(), encoding: 'utf8' });
  return { stdout: result.stdout, stderr: result.stderr, status: result.status };
}

/** Like git() but throws unless git succeeds; returns trimmed stdout. */
export function gitOk(gitDir: string, args: string[], input?: string | Buffer): string {
  const result = git(gitDir, args, input);
  if (result.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout.trim();
}

/** Runs git with no repository (e.g. `init`, `clone`) in `cwd`. */
export function gitIn(cwd: string, args: string[]): { stdout: string; stderr: string; status: number | null } {
  const result = spawnSync('git', args, { cwd, env: isolatedEnv(), encoding: 'utf8' });
  return { stdout: result.stdout, stderr: result.stderr, status: result.status };
}

/** True while a process (or, with a negative id, a process group) exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls `check` until it is true or `ms` pass. */
export async function eventually(check: () => boolean, ms = 2000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}
