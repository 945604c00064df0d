import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commonPasswordCount, isCommonPassword } from '../../src/auth/common-passwords.ts';
import { hashPassword } from '../../src/auth/passwords.ts';
import { InvalidInputError } from '../../src/errors.ts';

test('the shipped list holds at least the 10,000 most common passwords', () => {
  assert.ok(commonPasswordCount() >= 10_000, String(commonPasswordCount()));
  for (const p of ['123456', 'password', 'qwerty', 'iloveyou', '1q2w3e4r5t6y']) assert.ok(isCommonPassword(p), p);
});

test('a common password of valid length is rejected with a clear message, in any letter case', async () => {
  for (const password of ['1qaz2wsx3edc', 'QWERTY123456', 'qazwsxedcrfv']) {
    await assert.rejects(hashPassword(password), (error: unknown) => {
      assert.ok(error instanceof InvalidInputError);
      assert.match(error.message, /commonly used passwords/);
      return true;
    });
  }
});

test('an uncommon passphrase is accepted', async () => {
  assert.ok(!isCommonPassword('violet anchor pretzel gravity'));
  assert.match(await hashPassword('violet anchor pretzel gravity'), /^\$argon2id\$/);
});
