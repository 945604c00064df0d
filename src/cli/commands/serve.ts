import { parseArgs } from 'node:util';
import { createAppContext, reconcileSnapshots } from '../../app-context.ts';
import { loadConfig } from '../../config/config.ts';
import { SERVER_PURPOSE, acquireDataDirLock } from '../../config/data-dir-lock.ts';
import { purgeDeletedProjects } from '../../projects/deleted-projects.ts';
import { pruneAllAuditLogs } from '../../audit/retention.ts';
import { importDemoIfFresh } from '../../projects/demo-project.ts';
import { buildApp } from '../../web/app.ts';
import { securityContacts } from '../../web/routes/security-txt.ts';
import { say, type CliIO, type Command } from '../command.ts';
import { openControlSocket, type ControlSocket } from '../control/server.ts';
import type { AppContext } from '../../app-context.ts';
import type { ProjectCatalog } from '../../projects/catalog.ts';

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
  DATABASE_URL            use this PostgreSQL server instead of the embedded database (the owner; migrations)
  DATABASE_APP_URL        the application's own login there (default: docucommit_app, password from the secret)
  DOCUCOMMIT_PUBLIC_URL   the public https URL (turns on Secure __Host- cookies and HSTS)
  DOCUCOMMIT_SECRET       HMAC key (32+ chars); default: generated once in DIR/secret.key
  DOCUCOMMIT_SECURITY_CONTACT
                          where to report vulnerabilities (/.well-known/security.txt): mailto:, https: or
                          tel: URIs, comma-separated; default mailto:security@ the public URL's host

While it runs, the commands that change data (import, user, token, audit, mfa-key status) are run by this
server: they reach it through DIR/control.sock, a socket only its owner may use.
`,
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: { port: { type: 'string' }, host: { type: 'string' }, data: { type: 'string' } },
      strict: true,
    });
    const config = loadConfig({ dataDir: values.data, port: values.port, host: values.host, env: io.env });
    const lock = acquireDataDirLock(config.dataDir, SERVER_PURPOSE);
    const context = await createAppContext(config);
    const demo = await importDemoIfFresh(context);
    await reconcileSnapshots(context);
    // Deleted projects past their 30 days: purged now and once a day while the server runs.
    // Audit events past each organization's retention: pruned (leaving a checkpoint) on the same schedule.
    const pruneAudit = () =>
      pruneAllAuditLogs(context.db, (orgId, error) => say(io.stderr, `pruning the audit log of organization ${orgId} failed: ${String(error)}`)).catch((error) =>
        say(io.stderr, `pruning audit logs failed: ${String(error)}`),
      );
    const purge = () =>
      Promise.all([
        purgeDeletedProjects(context.db, config.dataDir).catch((error) => say(io.stderr, `purging deleted projects failed: ${String(error)}`)),
        pruneAudit(),
      ]);
    await purge();
    const purgeTimer = setInterval(() => void purge(), 24 * 60 * 60 * 1000);
    purgeTimer.unref();
    const { app, catalog } = await buildApp(context, { logger: true });
    // listener work (search index, notifications...) left by a failure or a crash is retried from the database
    context.branchMoves.logger = app.log;
    context.branchMoves.startRetries();
    void context.branchMoves.deliverDue().catch((error: unknown) => app.log.error({ err: error }, 'branch-move deliveries failed'));
    const address = await app.listen({ port: config.port, host: config.host });
    const control = await listenForCommands(context, catalog, io);
    const url = config.publicUrl ?? address.replace('://127.0.0.1', '://localhost');
    say(io.stdout, `DocuCommit is running at ${url}`);
    say(io.stdout, `  data: ${config.dataDir}  database: ${config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : 'embedded PGlite'}`);
    if (!config.securityContact) {
      say(
        io.stderr,
        `Warning: DOCUCOMMIT_SECURITY_CONTACT is not set; /.well-known/security.txt names ${securityContacts(config).join(', ')}. ` +
          'Set it to the address that receives vulnerability reports.',
      );
    }
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
    await control?.close();
    await app.close();
    await context.close();
    lock.release();
    return 0;
  },
};

/**
 * Run the commands `docucommit` sends over DATA/control.sock with this server's services, as `main` runs them
 * (same functions, same audit events), then forget cached projects and sessions so their changes apply at once.
 * Without a socket (e.g. a data directory path too long for one) those commands keep being refused.
 */
async function listenForCommands(context: AppContext, catalog: ProjectCatalog, io: CliIO): Promise<ControlSocket | null> {
  // Loaded here: main.ts lists this command, so a static import would be a cycle.
  const { main } = await import('../main.ts');
  try {
    return await openControlSocket(context.config.dataDir, async (request) => {
      try {
        return await main(request.argv, { ...request, env: io.env, server: context });
      } finally {
        catalog.forgetAll();
        context.sessions.forgetAll();
      }
    });
  } catch (error) {
    say(io.stderr, `Warning: no control socket (${(error as Error).message}); stop the server to run commands that change data.`);
    return null;
  }
}
