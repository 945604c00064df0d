import { parseArgs } from 'node:util';
import { createAppContext, reconcileSnapshots } from '../../app-context.ts';
import { loadConfig } from '../../config/config.ts';
import { acquireDataDirLock } from '../../config/data-dir-lock.ts';
import { purgeDeletedProjects } from '../../projects/deleted-projects.ts';
import { importDemoIfFresh } from '../../projects/demo-project.ts';
import { buildApp } from '../../web/app.ts';
import { say, type Command } from '../command.ts';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'start the web server',
  help: `Usage: docucommit serve [--port N] [--host ADDR] [--data DIR]

Starts DocuCommit. Data (repositories, and the embedded database unless DATABASE_URL is set) lives in DIR.
On the first start with an empty data directory the demo project is imported and an owner account created;
its password is printed once.

Options:
  --port N      port to listen on (env PORT, default 3000)
  --host ADDR   address to bind (env HOST, default 127.0.0.1)
  --data DIR    data directory (env DOCUCOMMIT_DATA, default ./data)

Environment:
  DATABASE_URL            use this PostgreSQL server instead of the embedded database
  DOCUCOMMIT_PUBLIC_URL   the public https URL (turns on Secure __Host- cookies and HSTS)
  DOCUCOMMIT_SECRET       HMAC key (32+ chars); default: generated once in DIR/secret.key
`,
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: { port: { type: 'string' }, host: { type: 'string' }, data: { type: 'string' } },
      strict: true,
    });
    const config = loadConfig({ dataDir: values.data, port: values.port, host: values.host, env: io.env });
    const lock = acquireDataDirLock(config.dataDir, 'a DocuCommit server');
    const context = await createAppContext(config);
    const demo = await importDemoIfFresh(context);
    await reconcileSnapshots(context);
    // Deleted projects past their 30 days: purged now and once a day while the server runs.
    const purge = () => purgeDeletedProjects(context.db, config.dataDir).catch((error) => say(io.stderr, `purging deleted projects failed: ${String(error)}`));
    await purge();
    const purgeTimer = setInterval(() => void purge(), 24 * 60 * 60 * 1000);
    purgeTimer.unref();
    const { app } = await buildApp(context, { logger: true });
    const address = await app.listen({ port: config.port, host: config.host });
    const url = config.publicUrl ?? address.replace('://127.0.0.1', '://localhost');
    say(io.stdout, `DocuCommit is running at ${url}`);
    say(io.stdout, `  data: ${config.dataDir}  database: ${config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : 'embedded PGlite'}`);
    if (demo) {
      say(io.stdout, '');
      say(io.stdout, 'First start: imported the demo project "ZephyrCart Intranet".');
      say(io.stdout, `Sign in at ${url}/login as ${demo.email} with password ${demo.password}`);
      say(io.stdout, 'This password is shown only once; you choose your own when you first sign in.');
      say(io.stdout, '');
    }
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    say(io.stdout, 'Stopping DocuCommit…');
    clearInterval(purgeTimer);
    await app.close();
    await context.close();
    lock.release();
    return 0;
  },
};
