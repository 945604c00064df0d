import { existsSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { SERVER_PURPOSE, dataDirHolder } from '../../config/data-dir-lock.ts';
import { ForbiddenError, UnavailableError } from '../../errors.ts';
import type { CliIO } from '../command.ts';
import { receive, send } from './protocol.ts';
import { controlKeyPath, controlSocketPath, unsafeControlSocket } from './socket-file.ts';

/**
 * Run `argv` inside the server that holds `dataDir`, through its control socket, with this process's standard
 * streams. Resolves to the command's exit code, or null when no server holds the directory (or it has no
 * socket): the caller then runs the command itself, and the data-directory lock decides.
 * Refuses (ForbiddenError) a socket or directory other users could reach.
 */
export async function runInRunningServer(dataDir: string, argv: string[], io: CliIO): Promise<number | null> {
  const holder = dataDirHolder(dataDir);
  const path = controlSocketPath(dataDir);
  if (!holder || holder.purpose !== SERVER_PURPOSE || !existsSync(path) || !existsSync(controlKeyPath(dataDir))) return null;
  const unsafe = unsafeControlSocket(dataDir);
  if (unsafe) throw new ForbiddenError(`refusing to use the server's control socket: ${unsafe}`);
  const key = readFileSync(controlKeyPath(dataDir), 'utf8').trim();
  return new Promise<number | null>((resolve, reject) => {
    const socket = createConnection(path);
    let connected = false;
    let exitCode: number | null = null;
    let stopStdin = () => {};
    socket.on('connect', () => {
      connected = true;
      send(socket, { type: 'run', argv, cwd: io.cwd ?? process.cwd(), key });
    });
    receive(socket, (message) => {
      const m = message as { type?: string; data?: string; code?: number };
      if ((m.type === 'stdout' || m.type === 'stderr') && typeof m.data === 'string') io[m.type].write(m.data);
      else if (m.type === 'stdin-wanted') stopStdin = forwardStdin(io.stdin, socket);
      else if (m.type === 'exit' && typeof m.code === 'number') exitCode = m.code;
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // The server stopped between the check and the connection: run the command here instead.
      if (!connected && (error.code === 'ECONNREFUSED' || error.code === 'ENOENT')) resolve(null);
      else reject(new UnavailableError(`the server's control socket failed: ${error.message}`));
    });
    socket.on('close', () => {
      stopStdin();
      if (exitCode !== null) resolve(exitCode);
      else if (connected) reject(new UnavailableError('the server closed the control socket before the command finished'));
    });
  });
}

/** Send standard input to the server as it comes; returns a function that stops (so the process can exit). */
function forwardStdin(stdin: NodeJS.ReadableStream, socket: ReturnType<typeof createConnection>): () => void {
  const onData = (chunk: Buffer | string) => {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    for (let at = 0; at < bytes.length; at += 64 * 1024) {
      send(socket, { type: 'stdin', data: bytes.subarray(at, at + 64 * 1024).toString('base64') });
    }
  };
  const onEnd = () => send(socket, { type: 'stdin-end' });
  stdin.on('data', onData);
  stdin.on('end', onEnd);
  return () => {
    stdin.off('data', onData);
    stdin.off('end', onEnd);
    stdin.pause();
  };
}
