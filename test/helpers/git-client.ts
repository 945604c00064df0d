import { spawn } from 'node:child_process';

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment of the real git client in tests: no system or user configuration, no prompts, fixed identity. */
export const gitClientEnv = (home: string): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: home,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: 'Pusher',
  GIT_AUTHOR_EMAIL: 'pusher@acme.test',
  GIT_COMMITTER_NAME: 'Pusher',
  GIT_COMMITTER_EMAIL: 'pusher@acme.test',
  LC_ALL: 'C',
});

/** Runs the real git client (protocol v2, no credential helper) and collects its output. */
export function gitClient(home: string, args: string[], cwd?: string): Promise<GitResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('git', ['-c', 'credential.helper=', '-c', 'protocol.version=2', ...args], {
      cwd,
      env: gitClientEnv(home),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
  });
}
