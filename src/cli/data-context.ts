import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidInputError } from '../errors.ts';
import { createAppContext, type AppContext } from '../app-context.ts';
import { loadConfig, type Config } from '../config/config.ts';
import { acquireDataDirLock } from '../config/data-dir-lock.ts';
import type { CliIO } from './command.ts';

/** Options every data command takes. */
export const DATA_OPTIONS = {
  data: { type: 'string' },
} as const;

/**
 * Open the data directory for a command that changes data: claim it (so a running server or another command
 * is never raced), open the database, run `fn`, and release everything. Inside a running server (the command
 * came over its control socket) `fn` runs on the server's own services, so what it changes is served at once.
 */
export async function withDataContext<T>(
  flags: { data?: string | undefined },
  io: CliIO,
  purpose: string,
  fn: (context: AppContext, config: Config) => Promise<T>,
): Promise<T> {
  if (io.server) {
    const named = flags.data === undefined ? null : resolve(io.cwd ?? process.cwd(), flags.data);
    if (named !== null && realPath(named) !== realPath(io.server.config.dataDir)) {
      throw new InvalidInputError(`this server runs on ${io.server.config.dataDir}, not ${named}`);
    }
    return fn(io.server, io.server.config);
  }
  const config = loadConfig({ dataDir: flags.data, env: io.env });
  const lock = acquireDataDirLock(config.dataDir, purpose);
  try {
    const context = await createAppContext(config);
    try {
      return await fn(context, config);
    } finally {
      await context.close();
    }
  } finally {
    lock.release();
  }
}

function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
