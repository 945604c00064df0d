import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  generateRecoveryCodes,
  hashRecoveryCode,
  looksLikeRecoveryCode,
  RECOVERY_CODE_COUNT,
} from '../../src/auth/recovery-codes.ts';

test('ten distinct codes of 16 characters (80 bits) in groups of four', () => {
  const codes = generateRecoveryCodes();
  assert.equal(codes.length, RECOVERY_CODE_COUNT);
  assert.equal(new Set(codes).size, codes.length);
  for (const code of codes) assert.match(code, /^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$/);
});

test('codes are compared without case, spaces or dashes; TOTP codes are not mistaken for them', () => {
  const [code] = generateRecoveryCodes(1) as [string];
  assert.equal(hashRecoveryCode(code.toUpperCase().replace(/-/g, ' ')), hashRecoveryCode(code));
  assert.ok(looksLikeRecoveryCode(code));
  assert.ok(!looksLikeRecoveryCode('123456'));
  assert.match(hashRecoveryCode(code), /^[0-9a-f]{64}$/);
});
