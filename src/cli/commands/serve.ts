import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import cluster from 'node:cluster';
import { createAppContext, reconcileSnapshots } from '../../app-context.ts';
import { joinProcesses } from '../../cluster/join.ts';
import { announceReady, superviseWorkers, workerIndex } from '../../cluster/supervisor.ts';
import { loadConfig, type Config } from '../../config/config.ts';
import { SERVER_PURPOSE, acquireDataDirLock, dataDirHolder, type DataDirLock } from '../../config/data-dir-lock.ts';
import { ConflictError } from '../../errors.ts';
import { purgeDeletedProjects } from '../../projects/deleted-projects.ts';
import { purgeDueOrganizations } from '../../organizations/deletion.ts';
import { pruneAllAuditLogs } from '../../audit/retention.ts';
import { importDemoIfFresh } from '../../projects/demo-project.ts';
import { buildApp } from '../../web/app.ts';
import { securityContacts } from '../../web/routes/security-txt.ts';
import { CliUsageError, say, type CliIO, type Command } from '../command.ts';
import { openControlSocket, type ControlSocket } from '../control/server.ts';
import type { AppContext } from '../../app-context.ts';
import type { ProjectCatalog } from '../../projects/catalog.ts';
import { listenForMetrics } from '../../observability/metrics-server.ts';

/** How long a stopping server waits for requests and branch moves in flight before it closes anyway. */
const DRAIN_TIMEOUT_MS = 30_000;

export const serveCommand: Command = {
  name: 'serve',
  help: `Usage: docucommit serve [--port N] [--host ADDR] [--data DIR] [--workers N]

Starts DocuCommit. Data (repositories, and the embedded database unless DATABASE_URL is set) lives in DIR.
On the first start with an empty data directory the demo project is imported and an owner account created;
its password is printed once.

Options:
  --port N      port to listen on (env PORT, default 3000)
  --host ADDR   address to bind (env HOST, default 127.0.0.1)
  --data DIR    data directory (env DOCUCOMMIT_DATA, default ./data)
  --workers N   server processes sharing the port (env DOCUCOMMIT_WORKERS); with DATABASE_URL the default is
                the number of cores. The embedded database serves one process: without DATABASE_URL it is 1.

Environment:
  DATABASE_URL            use this PostgreSQL server instead of the embedded database (the owner; migrations)
  DATABASE_APP_URL        the application's own login there (default: docucommit_app, password from the secret)
  DOCUCOMMIT_PUBLIC_URL   the public https URL (turns on Secure __Host- cookies and HSTS)
  DOCUCOMMIT_SECRET       HMAC key (32+ chars); default: generated once in DIR/secret.key
  DOCUCOMMIT_SECURITY_CONTACT
                          where to report vulnerabilities (/.well-known/security.txt): mailto:, https: or
                          tel: URIs, comma-separated; default mailto:security@ the public URL's host
  METRICS_TOKEN           serve Prometheus metrics at /metrics to holders of this Bearer token (32+ chars)
  METRICS_LISTEN          serve /metrics (no token) on a listener of its own, e.g. 127.0.0.1:9464

With DATABASE_URL, further servers (other machines sharing DIR's repositories, or another \`serve\` on this
one) may run on the same database: they coordinate through PostgreSQL. /healthz and /readyz answer load
balancers. SIGTERM or SIGINT stops the server gracefully: no new requests, those in flight finish (30 s at most).

While it runs, the commands that change data (import, user, token, audit, mfa-key status) are run by this
server: they reach it through DIR/control.sock, a socket only its owner may use.
`,
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: { port: { type: 'string' }, host: { type: 'string' }, data: { type: 'string' }, workers: { type: 'string' } },
      strict: true,
    });
    const config = loadConfig({ dataDir: values.data, port: values.port, host: values.host, env: io.env });
    const index = workerIndex();
    if (index !== null) return runServer(config, io, { index, lock: null });
    const workers = workerCount(values.workers ?? io.env.DOCUCOMMIT_WORKERS, config);
    if (!config.databaseUrl) {
      say(io.stdout, `One server process: the embedded database serves one process (set DATABASE_URL for --workers).`);
    }
    const lock = claimDataDir(config, io);
    if (workers <= 1) return runServer(config, io, { index: 0, lock });
    try {
      return await superviseWorkers(workers, io, (address) => {
        say(io.stdout, `DocuCommit is running at ${publicAddress(config, address)}`);
        say(io.stdout, `  data: ${config.dataDir}  database: PostgreSQL (DATABASE_URL)  processes: ${workers} workers`);
      });
    } finally {
      lock?.release();
    }
  },
};

/** How many server processes: the flag, else the number of cores on PostgreSQL; always 1 on PGlite. */
function workerCount(flag: string | undefined, config: Config): number {
  if (flag !== undefined && !/^[1-9][0-9]{0,2}$/.test(flag)) throw new CliUsageError('--workers must be a number from 1 to 999');
  if (!config.databaseUrl) return 1;
  return flag !== undefined ? Number(flag) : availableParallelism();
}

/**
 * Claim the data directory. On PostgreSQL a directory already held by another live server is shared (null):
 * the two coordinate through the database, and commands keep going to the holder's control socket.
 */
function claimDataDir(config: Config, io: CliIO): DataDirLock | null {
  try {
    return acquireDataDirLock(config.dataDir, SERVER_PURPOSE);
  } catch (error) {
    const holder = dataDirHolder(config.dataDir);
    if (!(error instanceof ConflictError) || !config.databaseUrl || holder?.purpose !== SERVER_PURPOSE) throw error;
    say(io.stdout, `Sharing ${config.dataDir} with the DocuCommit server pid ${holder.pid} through PostgreSQL (commands go to that server).`);
    return null;
  }
}

function publicAddress(config: Config, address: string): string {
  return config.publicUrl ?? address.replace('://127.0.0.1', '://localhost');
}

/**
 * One server process: alone (`index` 0 with the data directory's lock), or worker `index` of `serve --workers`.
 * Worker 0 and a lone server also run the demo import, the daily purge and the control socket.
 */
async function runServer(config: Config, io: CliIO, role: { index: number; lock: DataDirLock | null }): Promise<number> {
  const inCluster = cluster.isWorker;
  const first = role.index === 0;
  mkdirSync(config.reposDir, { recursive: true });
  const context = await createAppContext(config);
  const log = jsonLogger(io);
  // with PostgreSQL: repository locks and the other processes' announcements, before recovery touches anything
  const joined = await joinProcesses(context, log);
  // the data directory's holder (a lone server, or worker 0 of the primary that holds the lock) imports the demo
  // into a fresh one, purges, and runs the control socket; a server sharing the directory does none of these
  const holdsDataDir = first && (role.lock !== null || (inCluster && dataDirHolder(config.dataDir)?.pid === process.ppid));
  const demo = holdsDataDir ? await importDemoIfFresh(context) : null;
  await reconcileSnapshots(context);
  // Deleted projects past their 30 days: purged now and once a day while the server runs.
  // Audit events past each organization's retention: pruned (leaving a checkpoint) on the same schedule.
  const pruneAudit = () =>
    pruneAllAuditLogs(context.db, (orgId, error) => say(io.stderr, `pruning the audit log of organization ${orgId} failed: ${String(error)}`)).catch((error) =>
      say(io.stderr, `pruning audit logs failed: ${String(error)}`),
    );
  // Organizations whose deletion was scheduled more than 30 days ago: purged on the same schedule (each purge
  // tells the other processes when it commits; this one forgets its projects and sessions once the app exists).
  let forgetAfterPurge: (() => void) | null = null;
  const purgeOrganizations = () =>
    purgeDueOrganizations({
      db: context.db,
      dataDir: config.dataDir,
      bus: context.bus,
      onPurged: async (purged) => {
        say(io.stdout, `purged organization ${purged.orgId}: ${purged.projects} project(s), ${purged.accountsDeleted} account(s) deleted`);
        context.sessions.dropAll();
        forgetAfterPurge?.();
      },
    }).catch((error) => say(io.stderr, `purging organizations failed: ${String(error)}`));
  const purge = () =>
    Promise.all([
      purgeDeletedProjects(context.db, config.dataDir).catch((error) => say(io.stderr, `purging deleted projects failed: ${String(error)}`)),
      pruneAudit(),
      purgeOrganizations(),
    ]);
  let purgeTimer: NodeJS.Timeout | null = null;
  if (holdsDataDir) {
    await purge();
    purgeTimer = setInterval(() => void purge(), 24 * 60 * 60 * 1000);
    purgeTimer.unref();
  }
  const { app, catalog, metrics } = await buildApp(context, { logger: true });
  if (joined) joined.catalog = catalog;
  forgetAfterPurge = () => catalog.dropAll();
  // every process is a scrape target of its own: worker n of `--workers` listens on METRICS_LISTEN's port + n
  const metricsAt = config.metrics?.listen ? { ...config.metrics.listen, port: config.metrics.listen.port + role.index } : null;
  const metricsListener = metrics && metricsAt ? await listenForMetrics(metrics, metricsAt) : null;
  // listener work (search index, notifications...) left by a failure or a crash is retried from the database
  context.branchMoves.logger = app.log;
  context.branchMoves.startRetries();
  void context.branchMoves.deliverDue().catch((error: unknown) => app.log.error({ err: error }, 'branch-move deliveries failed'));
  // webhook deliveries waiting in the outbox (left by a restart too) are sent, and retried, from the database
  context.webhooks.logger = app.log;
  context.webhooks.start();
  const address = await app.listen({ port: config.port, host: config.host });
  // email (SMTP_URL): every process sends from the shared outbox (FOR UPDATE SKIP LOCKED); errors carry codes only
  if (context.email) {
    context.email.dispatcher.logger = (message) => app.log.warn(message);
    context.email.start();
  }
  const control = holdsDataDir ? await listenForCommands(context, catalog, io) : null;
  const url = publicAddress(config, address);
  if (!inCluster) {
    say(io.stdout, `DocuCommit is running at ${url}`);
    say(io.stdout, `  data: ${config.dataDir}  database: ${config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : 'embedded PGlite'}  processes: 1`);
    if (metrics && !metricsListener) say(io.stdout, `  metrics: ${url}/metrics (Bearer METRICS_TOKEN)`);
  }
  if (metricsListener) say(io.stdout, `  metrics${inCluster ? ` of worker ${role.index}` : ''}: ${metricsListener.url}`);
  if (first && !config.securityContact) {
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
  if (inCluster) announceReady(address);
  // a second signal while stopping changes nothing (the default action would kill the process mid-drain)
  let stopRequested!: () => void;
  const stopping = new Promise<void>((resolve) => (stopRequested = resolve));
  const onSignal = () => stopRequested();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // (a worker whose primary is gone exits at once: node:cluster ends it when its channel closes unexpectedly)
  await stopping;
  // Graceful stop: not ready any more; no new connections; requests in flight (and the branch moves they make)
  // finish, for DRAIN_TIMEOUT_MS at most; then listener deliveries, the database, the lock.
  if (!inCluster) say(io.stdout, 'Stopping DocuCommit…');
  context.readiness.markStopping();
  if (purgeTimer) clearInterval(purgeTimer);
  await control?.close();
  await metricsListener?.close();
  const drained = await withinTime(app.close(), DRAIN_TIMEOUT_MS);
  if (!drained) say(io.stderr, `Requests still running after ${DRAIN_TIMEOUT_MS / 1000} s; stopping anyway.`);
  await joined?.close();
  await context.close();
  role.lock?.release();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  // a worker leaves the cluster on purpose (node:cluster would otherwise take the closing channel for a crash)
  if (inCluster) cluster.worker?.disconnect();
  return drained ? 0 : 1;
}

async function withinTime(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** One JSON line per event on stderr (the coordination between processes logs here). */
function jsonLogger(io: CliIO) {
  const line = (level: string) => (details: object, msg: string) => io.stderr.write(`${JSON.stringify({ level, pid: process.pid, msg, ...details })}\n`);
  return { info: line('info'), warn: line('warn'), error: line('error') };
}

/**
 * Run the commands `docucommit` sends over DATA/control.sock with this server's services, as `main` runs them
 * (same functions, same audit events), then forget cached projects and sessions — in every process of the
 * database — so their changes apply at once. Without a socket (e.g. a data directory path too long for one)
 * those commands keep being refused.
 */
async function listenForCommands(context: AppContext, catalog: ProjectCatalog, io: CliIO): Promise<ControlSocket | null> {
  // Loaded here: main.ts lists this command, so a static import would be a cycle.
  const { main } = await import('../main.ts');
  try {
    return await openControlSocket(context.config.dataDir, async (request) => {
      try {
        return await main(request.argv, { ...request, env: io.env, server: context });
      } finally {
        await catalog.forgetAll().catch(() => {});
        await context.sessions.forgetAll().catch(() => {});
      }
    });
  } catch (error) {
    say(io.stderr, `Warning: no control socket (${(error as Error).message}); stop the server to run commands that change data.`);
    return null;
  }
}
