import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { createAppContext } from '../../src/app-context.ts';
import { MfaService, mfaSecretBox } from '../../src/auth/mfa.ts';
import { secretKey } from '../../src/auth/secret-box.ts';
import { hotp, timeStep } from '../../src/auth/totp.ts';
import { loadConfig } from '../../src/config/config.ts';

const BIN = fileURLToPath(new URL('../../bin/docucommit.mjs', import.meta.url));
const env = { ...process.env, DATABASE_URL: '', DOCUCOMMIT_MFA_KEY: '', DOCUCOMMIT_MFA_PREVIOUS_KEYS: '' };

function cli(args: string[]) {
  const result = spawnSync(process.execPath, [BIN, ...args], { input: '', encoding: 'utf8', env, timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Open the data directory in this process, run fn with its MFA service, close it again. */
async function withMfa<T>(dataDir: string, fn: (mfa: MfaService, userId: string) => Promise<T>): Promise<T> {
  const config = loadConfig({ dataDir, env });
  const context = await createAppContext(config);
  try {
    const user = await context.db.selectFrom('users').select('id').where('email', '=', 'ada@acme.test').executeTakeFirstOrThrow();
    return await fn(new MfaService(context.db, mfaSecretBox(config.mfaKeys)), user.id);
  } finally {
    await context.close();
  }
}

describe('docucommit mfa-key rotate', () => {
  let dataDir: string;
  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'dc-mfa-key-'));
    const added = cli(['user', 'add', 'ada@acme.test', '--org', 'acme', '--role', 'member', '--data', dataDir]);
    assert.equal(added.code, 0, added.stderr);
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('the key file is created once with owner-only permissions', () => {
    const file = join(dataDir, 'mfa.key');
    assert.ok(existsSync(file));
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64').length, 32);
  });

  test('rotation re-encrypts every secret under a new key, drops the old key, and codes still verify', async () => {
    const key = await withMfa(dataDir, async (mfa, userId) => {
      const k = await mfa.enrollmentKey(userId);
      assert.ok(await mfa.confirmEnrollment(userId, hotp(k, timeStep(Date.now() / 1000))));
      return k;
    });
    const oldKey = Buffer.from(readFileSync(join(dataDir, 'mfa.key'), 'utf8').trim(), 'base64');
    const before = cli(['mfa-key', 'status', '--data', dataDir]);
    assert.match(before.stdout, new RegExp(`1 secret\\(s\\) sealed under ${secretKey(oldKey).id}`));

    const rotated = cli(['mfa-key', 'rotate', '--data', dataDir]);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout, /Re-encrypted 1 secret/);
    const newKey = Buffer.from(readFileSync(join(dataDir, 'mfa.key'), 'utf8').trim(), 'base64');
    assert.notDeepEqual(newKey, oldKey);
    assert.equal(statSync(join(dataDir, 'mfa.key')).mode & 0o777, 0o600);
    assert.ok(!existsSync(join(dataDir, 'mfa.key.previous')), 'the old key is gone once nothing needs it');
    assert.match(cli(['mfa-key', 'status', '--data', dataDir]).stdout, new RegExp(`sealed under ${secretKey(newKey).id}`));

    await withMfa(dataDir, async (mfa, userId) => {
      assert.equal(await mfa.verifyTotp(userId, hotp(key, timeStep(Date.now() / 1000) + 1)), 'ok');
    });
  });
});
