import assert from 'node:assert/strict';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, test } from 'node:test';
import { crc32, generateToken, isWellFormedToken, normalizeScopes, parseExpiryDays, TOKEN_PREFIX } from '../../src/auth/tokens.ts';
import { InvalidInputError } from '../../src/errors.ts';

describe('personal access token format', () => {
  test('a token is dcpat_ + 43 base62 characters of secret + 6 of checksum', () => {
    const token = generateToken();
    assert.match(token, /^dcpat_[0-9A-Za-z]{49}$/);
    assert.ok(token.startsWith(TOKEN_PREFIX));
    assert.equal(isWellFormedToken(token), true);
  });

  test('tokens are random: no two alike', () => {
    const seen = new Set(Array.from({ length: 200 }, generateToken));
    assert.equal(seen.size, 200);
  });

  test('the checksum catches any changed character, and the prefix is required', () => {
    const token = generateToken();
    for (const index of [6, 20, 48, 52]) {
      const c = token[index]!;
      const changed = token.slice(0, index) + (c === 'a' ? 'b' : 'a') + token.slice(index + 1);
      assert.equal(isWellFormedToken(changed), false, `changed at ${index}`);
    }
    assert.equal(isWellFormedToken(token.replace('dcpat_', 'ghpat_')), false);
    assert.equal(isWellFormedToken(token.slice(0, -1)), false);
    assert.equal(isWellFormedToken(token + 'x'), false);
    assert.equal(isWellFormedToken('correct horse battery staple'), false);
    assert.equal(isWellFormedToken(''), false);
  });

  test('the checksum is standard CRC-32, so scanners can validate tokens', { skip: typeof zlibCrc32 !== 'function' }, () => {
    for (const text of ['', 'a', 'dcpat_abc', generateToken()]) assert.equal(crc32(text), zlibCrc32(text));
  });

  test('crc32 matches the well-known check value', () => {
    assert.equal(crc32('123456789'), 0xcbf43926);
  });

  test('scopes: read and write only; write brings read; unknown scopes are refused', () => {
    assert.deepEqual(normalizeScopes(['read']), ['read']);
    assert.deepEqual(normalizeScopes(['write']), ['read', 'write']);
    assert.deepEqual(normalizeScopes([' WRITE ', 'read', 'read']), ['read', 'write']);
    assert.throws(() => normalizeScopes(['admin']), InvalidInputError);
    assert.throws(() => normalizeScopes([]), InvalidInputError);
    assert.throws(() => normalizeScopes(['']), InvalidInputError);
  });

  test('expiry: 1 to 365 days, written like 30d', () => {
    assert.equal(parseExpiryDays('30d'), 30);
    assert.equal(parseExpiryDays('7'), 7);
    assert.equal(parseExpiryDays('365d'), 365);
    for (const bad of ['0d', '366d', '-1d', '1y', '', 'soon', '12h']) {
      assert.throws(() => parseExpiryDays(bad), InvalidInputError, bad);
    }
  });
});
