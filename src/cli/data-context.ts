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
  if (io.server) return fn(io.server, io.server.config);
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
