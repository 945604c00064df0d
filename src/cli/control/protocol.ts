import type { Socket } from 'node:net';

/**
 * The control socket's protocol: one JSON object per line. The client sends `run` first; the server answers
 * with output, asks for standard input only when the command reads it, and ends with `exit`.
 */
export type ClientMessage =
  | { type: 'run'; argv: string[]; cwd: string; key: string /* DATA/control.key, base64 */ }
  | { type: 'stdin'; data: string /* base64 */ }
  | { type: 'stdin-end' };

export type ServerMessage =
  | { type: 'stdout' | 'stderr'; data: string }
  | { type: 'stdin-wanted' }
  | { type: 'exit'; code: number };

/** Longest line either side accepts (standard input travels in chunks well below it). */
export const MAX_LINE = 1024 * 1024;

/** Send one message (ignored once the other side has gone). */
export function send(socket: Socket, message: ClientMessage | ServerMessage): void {
  if (!socket.destroyed && socket.writable) socket.write(JSON.stringify(message) + '\n');
}

/** Call `onMessage` for each line received; a line over MAX_LINE or not JSON ends the connection. */
export function receive(socket: Socket, onMessage: (message: unknown) => void): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        socket.destroy();
        return;
      }
      onMessage(message);
    }
    if (buffered.length > MAX_LINE) socket.destroy();
  });
}
