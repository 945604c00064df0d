import { lstatSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The control socket's name in the data directory. */
export const CONTROL_SOCKET_FILE = 'control.sock';

/** Where a server on `dataDir` listens for commands. */
export function controlSocketPath(dataDir: string): string {
  return join(dataDir, CONTROL_SOCKET_FILE);
}

/**
 * A random key the server writes next to the socket (mode 0600) and every request must carry: a check on who
 * connects that does not rest on the socket's mode alone (Node cannot read the peer's uid), since only the
 * data directory's owner can read it.
 */
export const CONTROL_KEY_FILE = 'control.key';

/** Where the key of the control socket of `dataDir` lies. */
export function controlKeyPath(dataDir: string): string {
  return join(dataDir, CONTROL_KEY_FILE);
}

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');

/**
 * Why the control socket in `dataDir` must not be used, or null when it is safe: the directory and the socket
 * must belong to this user, the directory must not be writable by others (who could swap the socket for their
 * own) and the socket must be owner-only (anyone who can connect runs commands as the server). What a command
 * sends or receives over it (passwords, one-time passwords, tokens) must reach nobody else.
 */
export function unsafeControlSocket(dataDir: string): string | null {
  const uid = process.getuid?.();
  if (uid === undefined) return 'control sockets need a Unix system';
  const directory = statSync(dataDir);
  if (directory.uid !== uid) return `the data directory ${dataDir} belongs to another user (uid ${directory.uid})`;
  if (directory.mode & 0o022) return `the data directory ${dataDir} is writable by other users (mode ${octal(directory.mode)})`;
  const path = controlSocketPath(dataDir);
  const socket = lstatSync(path);
  if (!socket.isSocket()) return `${path} is not a socket`;
  if (socket.uid !== uid) return `${path} belongs to another user (uid ${socket.uid})`;
  if (socket.mode & 0o077) return `${path} is open to other users (mode ${octal(socket.mode)})`;
  return null;
}
