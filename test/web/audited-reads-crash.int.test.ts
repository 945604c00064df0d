import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { createAppContext } from '../../src/app-context.ts';
import { upsertAccount } from '../../src/auth/accounts.ts';
import { verifyAuditChain } from '../../src/audit/verify.ts';
import { loadConfig } from '../../src/config/config.ts';
import { withAuditChain } from '../../src/db/connection.ts';
import { DEMO, importDemoProject } from '../../src/projects/demo-project.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CONFIDENTIAL = `/${DEMO.orgSlug}/${DEMO.projectSlug}/policies/incident-response`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * The policy asks for an audit event for every read of a confidential document, and group commit must not
 * weaken that: a page is sent only after its event committed. Here the server is killed (SIGKILL) while
 * confidential pages are being read as fast as 16 clients can ask, and every page a client received in full
 * must have its event in the database afterwards. On PostgreSQL (TEST_DATABASE_URL) the server runs its default
 * worker processes, whose batches of one chain are chained by the database and flushed after the chain's lock
 * is released (migration 041).
 */
const adminUrl = process.env.TEST_DATABASE_URL;
for (const database of adminUrl ? (['pglite', 'postgres'] as const) : (['pglite'] as const)) describe(`audited reads survive kill -9 under load (${database})`, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'docucommit-crash-'));
  const dbName = `docucommit_test_${randomBytes(6).toString('hex')}`;
  const withAdmin = async (statement: string) => {
    const admin = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: adminUrl, max: 1 }) }) });
    try {
      await sql.raw(statement).execute(admin);
    } finally {
      await admin.destroy();
    }
  };
  after(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    if (database === 'postgres') await withAdmin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  });

  test('every confidential page a client received has its document.read event after the server was killed', async () => {
    const env: Record<string, string> = {};
    if (database === 'postgres') {
      await withAdmin(`CREATE DATABASE ${dbName}`);
      const url = new URL(adminUrl!);
      url.pathname = `/${dbName}`;
      env.DATABASE_URL = url.toString();
    }
    const config = loadConfig({ dataDir, env });
    let context = await createAppContext(config);
    const { user } = await upsertAccount(context.db, { email: 'reader@zephyrcart.test', orgSlug: DEMO.orgSlug, role: 'manager', password: 'a long enough passphrase here' });
    await importDemoProject(context);
    const { id: sessionId } = await context.sessions.create(user.id);
    const orgId = (await context.db.selectFrom('organizations').select('id').where('slug', '=', DEMO.orgSlug).executeTakeFirstOrThrow()).id;
    await context.close();

    const port = await freePort();
    const server = spawn(process.execPath, [join(ROOT, 'bin/docucommit.mjs'), 'serve', '--data', dataDir, '--port', String(port)], {
      cwd: ROOT,
      env: { ...withoutDatabaseUrl(process.env), NODE_ENV: 'production', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      server.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('DocuCommit is running')) resolve();
      });
      server.once('exit', (code) => reject(new Error(`server exited early (${code}): ${out}`)));
    });

    const base = `http://127.0.0.1:${port}`;
    const received: string[] = [];
    let stop = false;
    const client = async () => {
      while (!stop) {
        try {
          const response = await fetch(base + CONFIDENTIAL, { headers: { cookie: `dc_session=${sessionId}` } });
          const body = await response.text(); // the page counts as received only once it arrived whole
          if (response.status === 200 && body.includes('</html>')) received.push(response.headers.get('x-request-id')!);
          else if (response.status !== 200) throw new Error(`unexpected status ${response.status}`);
        } catch (error) {
          if (!stop) throw error;
        }
      }
    };
    const clients = Array.from({ length: 16 }, client);
    const clientFailed = Promise.race(clients).then(() => {
      throw new Error('a client stopped before the kill');
    });
    clientFailed.catch(() => {});
    // kill while reads are in flight, once a good number of pages has been served
    while (received.length < 300) await Promise.race([new Promise((resolve) => setTimeout(resolve, 5)), clientFailed]);
    stop = true; // from here on, failed requests are the kill's doing
    server.kill('SIGKILL');
    await exited;
    await Promise.allSettled(clients);
    assert.ok(received.length >= 300);

    context = await createAppContext(config);
    try {
      const rows = await withAuditChain(context.db, orgId, (trx) =>
        trx.selectFrom('audit_events').select('request_id').where('org_id', '=', orgId).where('action', '=', 'document.read').execute());
      const recorded = new Set(rows.map((r) => r.request_id));
      const missing = received.filter((id) => !recorded.has(id));
      assert.deepEqual(missing, [], `${missing.length} of ${received.length} pages were sent without their audit event`);
      const verified = await verifyAuditChain(context.db, orgId);
      assert.equal(verified.ok, true, JSON.stringify(verified.firstBroken));
    } finally {
      await context.close();
    }
  });
});

function withoutDatabaseUrl(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  delete copy.DATABASE_URL;
  return copy;
}
