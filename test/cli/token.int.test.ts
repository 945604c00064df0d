import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { isWellFormedToken } from '../../src/auth/tokens.ts';

const BIN = fileURLToPath(new URL('../../bin/docucommit.mjs', import.meta.url));

function cli(args: string[]) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    input: '',
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: '' },
    timeout: 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('docucommit token', () => {
  let dataDir: string;
  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'dc-cli-token-'));
    const added = cli(['user', 'add', 'ada@acme.test', '--org', 'acme', '--role', 'member', '--data', dataDir]);
    assert.equal(added.code, 0, added.stderr);
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('--help explains the subcommands; wrong arguments exit 2 before touching data', () => {
    const help = cli(['token', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: docucommit token create EMAIL --scopes/);
    assert.equal(cli(['token']).code, 2);
    assert.equal(cli(['token', 'create', 'ada@acme.test', '--data', dataDir]).code, 2, '--scopes is required');
    assert.equal(cli(['token', 'frob', 'x', '--data', dataDir]).code, 2);
    const badScope = cli(['token', 'create', 'ada@acme.test', '--scopes', 'admin', '--data', dataDir]);
    assert.equal(badScope.code, 1);
    assert.match(badScope.stderr, /Unknown scope "admin"/);
    assert.equal(cli(['token', 'create', 'ada@acme.test', '--scopes', 'read', '--expires', '400d', '--data', dataDir]).code, 1);
  });

  test('create prints the token once on stdout; list shows it without the secret; revoke ends it', () => {
    const created = cli(['token', 'create', 'ada@acme.test', '--scopes', 'read,write', '--expires', '7d', '--name', 'CI clone', '--data', dataDir]);
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    assert.ok(isWellFormedToken(token), 'stdout is exactly the token');
    assert.match(created.stderr, /scopes read,write, expires/);
    assert.ok(!created.stderr.includes(token));
    const id = /Created token ([0-9a-f-]{36})/.exec(created.stderr)?.[1];
    assert.ok(id);

    const listed = cli(['token', 'list', 'ada@acme.test', '--data', dataDir]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`${id}  active  ${token.slice(0, 14)}…  read,write`));
    assert.match(listed.stdout, /"CI clone"/);
    assert.ok(!listed.stdout.includes(token));

    const revoked = cli(['token', 'revoke', id, '--data', dataDir]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, /Revoked token/);
  });

  test('an unknown account exits 1', () => {
    const unknown = cli(['token', 'create', 'nobody@acme.test', '--scopes', 'read', '--data', dataDir]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /No account with email nobody@acme.test/);
  });
});
