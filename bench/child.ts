import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Run a bench script of this folder in a child Node process (with tsx, without this process's flags such as
 * --cpu-prof). Its result is the last IPC message that is not an `{ event }`, or else its stdout as JSON;
 * `{ event: string }` messages go to `onEvent` as they arrive.
 */
export function runChild<T>(script: string, args: string[], onEvent?: (event: string) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL(script, import.meta.url)), args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let stdout = '';
    let message: T | undefined;
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.on('message', (m) => {
      const event = (m as { event?: unknown }).event;
      if (typeof event === 'string') onEvent?.(event);
      else message = m as T;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${script} exited with code ${code}`));
      if (message !== undefined) return resolve(message);
      try {
        resolve(JSON.parse(stdout) as T);
      } catch {
        reject(new Error(`${script} printed no result: ${stdout.slice(0, 500)}`));
      }
    });
  });
}
