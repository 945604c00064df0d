import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, lstatSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { isAbsolute } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { receive, send } from './protocol.ts';
import { controlKeyPath, controlSocketPath } from './socket-file.ts';

/** Most standard input a command may receive over the socket (a password, not a file). */
const MAX_STDIN = 1024 * 1024;

/** What a command run over the socket is given. */
export interface ControlRequest {
  argv: string[];
  /** The client's working directory (relative paths in argv are relative to it). */
  cwd: string;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
}

export interface ControlSocket {
  path: string;
  close(): Promise<void>;
}

/**
 * Listen on DATA/control.sock (owner-only) for commands sent by `docucommit` while this server holds the data
 * directory, and run them one at a time with `run`. The caller holds the data-directory lock, so a socket file
 * already there is left over from a crash and is replaced. Nothing a command sends or prints is logged.
 */
export async function openControlSocket(
  dataDir: string,
  run: (request: ControlRequest) => Promise<number>,
): Promise<ControlSocket> {
  const path = controlSocketPath(dataDir);
  const keyPath = controlKeyPath(dataDir);
  removeStale(path);
  removeStale(keyPath);
  const key = randomBytes(32);
  writeFileSync(keyPath, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  let queue: Promise<unknown> = Promise.resolve();
  const server = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    let started = false;
    let stdin: Readable | null = null;
    let stdinBytes = 0;
    receive(socket, (message) => {
      const m = message as { type?: unknown; argv?: unknown; cwd?: unknown; data?: unknown; key?: unknown };
      if (!started) {
        if (m.type !== 'run' || !isArgv(m.argv) || typeof m.cwd !== 'string' || !isAbsolute(m.cwd)) return socket.destroy();
        if (!sameKey(m.key, key)) {
          send(socket, { type: 'stderr', data: 'docucommit: refused: the request does not carry the key in DATA/control.key\n' });
          send(socket, { type: 'exit', code: 1 });
          return void socket.end();
        }
        started = true;
        stdin = stdinFromClient(socket);
        const request = { argv: m.argv, cwd: m.cwd, stdout: outputTo(socket, 'stdout'), stderr: outputTo(socket, 'stderr'), stdin };
        queue = queue.then(() => runOne(socket, request, run));
        return;
      }
      if (m.type === 'stdin' && typeof m.data === 'string' && stdin) {
        const chunk = Buffer.from(m.data, 'base64');
        stdinBytes += chunk.length;
        if (stdinBytes > MAX_STDIN) return socket.destroy();
        stdin.push(chunk);
      } else if (m.type === 'stdin-end' && stdin) {
        stdin.push(null);
      } else {
        socket.destroy();
      }
    });
    socket.on('close', () => {
      // A client that went away sends no more input: a command waiting for it sees the end.
      if (stdin && !stdin.readableEnded) stdin.push(null);
    });
  });
  await listenOwnerOnly(server, path);
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        removeStale(path);
        removeStale(keyPath);
      }),
  };
}

async function runOne(socket: Socket, request: ControlRequest, run: (request: ControlRequest) => Promise<number>): Promise<void> {
  if (socket.destroyed) return;
  let code = 1;
  try {
    code = await run(request);
  } catch (error) {
    send(socket, { type: 'stderr', data: `docucommit: unexpected error: ${(error as Error)?.message ?? String(error)}\n` });
  }
  send(socket, { type: 'exit', code });
  socket.end();
}

function sameKey(given: unknown, key: Buffer): boolean {
  if (typeof given !== 'string') return false;
  const bytes = Buffer.from(given, 'base64');
  return bytes.length === key.length && timingSafeEqual(bytes, key);
}

function isArgv(value: unknown): value is string[] {
  return Array.isArray(value) && value.length > 0 && value.length <= 1000 && value.every((a) => typeof a === 'string');
}

function outputTo(socket: Socket, type: 'stdout' | 'stderr'): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      send(socket, { type, data: chunk.toString() });
      callback();
    },
  });
}

/** Standard input of the client, asked for only when the command starts reading it. */
function stdinFromClient(socket: Socket): Readable {
  let asked = false;
  return new Readable({
    read() {
      if (asked) return;
      asked = true;
      send(socket, { type: 'stdin-wanted' });
    },
  });
}

/** Create the socket with mode 0600 from the start (no moment where another user could connect). */
async function listenOwnerOnly(server: Server, path: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A Unix socket is bound synchronously inside listen(); the umask applies to that bind only.
    const umask = process.umask(0o177);
    try {
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    } finally {
      process.umask(umask);
    }
  });
  chmodSync(path, 0o600);
}

function removeStale(path: string): void {
  try {
    lstatSync(path);
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
