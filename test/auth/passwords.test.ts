import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashPassword, verifyPassword } from '../../src/auth/passwords.ts';
import { InvalidInputError } from '../../src/errors.ts';

test('hashes are argon2id with at least 19 MiB and 2 iterations', async () => {
  const hash = await hashPassword('a perfectly fine passphrase');
  const params = /^\$argon2id\$v=19\$([^$]+)\$/.exec(hash)?.[1];
  assert.ok(params, hash);
  const values = Object.fromEntries(params.split(',').map((kv) => kv.split('=')));
  assert.ok(Number(values.m) >= 19_456, hash);
  assert.ok(Number(values.t) >= 2, hash);
  assert.ok(Number(values.p) >= 1, hash);
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
});
