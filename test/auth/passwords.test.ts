import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashPassword, verifyPassword } from '../../src/auth/passwords.ts';
import { InvalidInputError } from '../../src/errors.ts';

/** `fn` with NODE_ENV set to `value` (undefined: unset), as a server runs: the test runner's NODE_ENV=test lowers the hashing cost (passwords.ts). */
async function withNodeEnv<T>(value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.NODE_ENV;
  if (value === undefined) delete process.env.NODE_ENV;
  else process.env.NODE_ENV = value;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = saved;
  }
}

function hashParameters(hash: string): Record<string, string> {
  const params = /^\$argon2id\$v=19\$([^$]+)\$/.exec(hash)?.[1];
  assert.ok(params, hash);
  return Object.fromEntries(params.split(',').map((kv) => kv.split('=') as [string, string]));
}

for (const nodeEnv of [undefined, 'production', 'development']) {
  test(`hashes are argon2id with at least 19 MiB and 2 iterations (NODE_ENV ${nodeEnv ?? 'unset'})`, async () => {
    const hash = await withNodeEnv(nodeEnv, () => hashPassword('a perfectly fine passphrase'));
    const values = hashParameters(hash);
    assert.ok(Number(values.m) >= 19_456, hash);
    assert.ok(Number(values.t) >= 2, hash);
    assert.ok(Number(values.p) >= 1, hash);
    assert.equal(await withNodeEnv(nodeEnv, () => verifyPassword(hash, 'a perfectly fine passphrase')), true);
    assert.equal(await withNodeEnv(nodeEnv, () => verifyPassword(hash, 'a perfectly fine passphrasE')), false);
  });
}

test('a hash made at the production cost verifies under the test runner, and one made there verifies in production', async () => {
  const production = await withNodeEnv(undefined, () => hashPassword('a perfectly fine passphrase'));
  const cheap = await withNodeEnv('test', () => hashPassword('a perfectly fine passphrase'));
  assert.notDeepEqual(hashParameters(cheap), hashParameters(production), 'the test runner hashes at a lower cost');
  assert.equal(await withNodeEnv('test', () => verifyPassword(production, 'a perfectly fine passphrase')), true);
  assert.equal(await withNodeEnv(undefined, () => verifyPassword(cheap, 'a perfectly fine passphrase')), true);
  assert.equal(await withNodeEnv('test', () => verifyPassword(production, 'another fine passphrase')), false);
});

test('passwords shorter than 12 or longer than 128 characters are refused', async () => {
  await assert.rejects(hashPassword('x'.repeat(11)), InvalidInputError);
  await assert.rejects(hashPassword('x'.repeat(129)), InvalidInputError);
  await hashPassword('x'.repeat(12));
  await hashPassword('x'.repeat(128));
});

test('a 64-emoji passphrase is accepted and not truncated', async () => {
  const emoji = '🔐'.repeat(63) + '🦊';
  const hash = await hashPassword(emoji);
  assert.equal(await verifyPassword(hash, emoji), true);
  assert.equal(await verifyPassword(hash, '🔐'.repeat(63) + '🐺'), false);
  assert.equal(await verifyPassword(hash, '🔐'.repeat(64) + '🦊'), false);
});

test('verification without a stored hash fails but still does the work', async () => {
  assert.equal(await verifyPassword(null, 'anything at all here'), false);
  assert.equal(await withNodeEnv(undefined, () => verifyPassword(null, 'anything at all here')), false);
});
