import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { CHAIN_START, chainEvents, normalizeEvent, recordAuditEvent } from '../../src/audit/audit-log.ts';
import type { CliIO } from '../../src/cli/command.ts';
import { withDataContext } from '../../src/cli/data-context.ts';
import { main } from '../../src/cli/main.ts';
import { ensureOrganization } from '../../src/organizations/organizations.ts';
import { asDatabaseOwner } from '../helpers/databases.ts';

/** Run the CLI in-process with captured output, on the embedded database of `dataDir`. */
async function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  const out = new PassThrough().on('data', (c) => (stdout += c));
  const err = new PassThrough().on('data', (c) => (stderr += c));
  const code = await main(args, { stdout: out, stderr: err, stdin: new PassThrough(), env: {} });
  return { code, stdout, stderr };
}

describe('docucommit audit verify', () => {
  let dataDir: string;
  const io = (): CliIO => ({ stdout: new PassThrough(), stderr: new PassThrough(), stdin: new PassThrough(), env: {} });
  const withDb = <T>(fn: Parameters<typeof withDataContext<T>>[3]) => withDataContext({ data: dataDir }, io(), 'test', fn);

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'dc-audit-cli-'));
    await withDb(async ({ db }) => {
      for (const slug of ['acme', 'globex']) {
        const org = await ensureOrganization(db, slug);
        for (let n = 1; n <= 4; n++) {
          await recordAuditEvent(db, { orgId: org.id, actor: { type: 'system', id: null }, action: 'settings.changed', outcome: 'success', details: { n } });
        }
      }
      await recordAuditEvent(db, { orgId: null, actor: { type: 'anonymous', id: null, label: 'x@y.test' }, action: 'auth.sign_in_failed', outcome: 'failure' });
    });
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('has --help', async () => {
    const res = await cli(['audit', '--help']);
    assert.equal(res.code, 0);
    assert.match(res.stdout, /Usage: docucommit audit verify \[--org SLUG\] \[--data DIR\]/);
    assert.equal((await cli(['audit', 'frobnicate', '--data', dataDir])).code, 2);
  });

  test('an intact log verifies with exit 0 and prints each chain head', async () => {
    const all = await cli(['audit', 'verify', '--data', dataDir]);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /^OK: 9 events verified in 3 chain\(s\)\./);
    assert.match(all.stdout, /chain system: last seq 1, hash [0-9a-f]{64}/);
    const one = await cli(['audit', 'verify', '--org', 'acme', '--data', dataDir]);
    assert.equal(one.code, 0);
    assert.match(one.stdout, /^OK: 4 events verified in 1 chain\(s\)\./);
    assert.equal((await cli(['audit', 'verify', '--org', 'nope', '--data', dataDir])).code, 2);
  });

  test('a row edited by a superuser makes verify exit 1 naming the event', async () => {
    const id = await withDb(async ({ db }) => {
      const org = await ensureOrganization(db, 'globex');
      return asDatabaseOwner(db, async (trx) => {
        const row = await trx.selectFrom('audit_events').select('id').where('org_id', '=', org.id).where('seq', '=', '3').executeTakeFirstOrThrow();
        await sql`SET LOCAL session_replication_role = replica`.execute(trx);
        await sql`UPDATE audit_events SET reason = 'rewritten' WHERE id = ${row.id}`.execute(trx);
        return String(row.id);
      });
    });
    const res = await cli(['audit', 'verify', '--data', dataDir]);
    assert.equal(res.code, 1);
    assert.match(res.stdout, new RegExp(`First broken event: chain [0-9a-f-]{36}, seq 3, id ${id}: hash does not match`));
    assert.equal((await cli(['audit', 'verify', '--org', 'acme', '--data', dataDir])).code, 0, 'other chains stay intact');
  });

  test('audit prune removes events past the retention, and verify continues from the checkpoint', async () => {
    assert.equal((await cli(['audit', 'prune', '--data', dataDir])).code, 2, 'prune needs --org');
    await withDb(async ({ db }) => {
      const org = await ensureOrganization(db, 'initech');
      const old = new Date(Date.now() - 120 * 24 * 3600 * 1000).toISOString();
      const { rows } = chainEvents([1, 2, 3].map((n) => normalizeEvent({ orgId: org.id, actor: { type: 'system', id: null }, action: 'settings.changed', outcome: 'success', details: { n } })), CHAIN_START, old);
      await asDatabaseOwner(db, (owner) => owner.insertInto('audit_events').values(rows.map((row) => ({ ...row, details: JSON.stringify(row.details) }))).execute());
      await recordAuditEvent(db, { orgId: org.id, actor: { type: 'system', id: null }, action: 'settings.changed', outcome: 'success', details: { n: 4 } });
    });
    const pruned = await cli(['audit', 'prune', '--org', 'initech', '--data', dataDir]);
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.match(pruned.stdout, /^Pruned 3 event\(s\) of initech older than 90 days, through seq 3; checkpoint at seq 5\./);
    const verified = await cli(['audit', 'verify', '--org', 'initech', '--data', dataDir]);
    assert.equal(verified.code, 0, verified.stdout);
    assert.match(verified.stdout, /^OK: 2 events verified in 1 chain\(s\)\./);
    assert.match(verified.stdout, /last seq 5, hash [0-9a-f]{64} \(events through seq 3 pruned; continued from the checkpoint at seq 5\)/);
    assert.match((await cli(['audit', 'prune', '--org', 'initech', '--data', dataDir])).stdout, /^Nothing to prune/);
  });
});
