import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { SecretBox, secretKey } from '../../src/auth/secret-box.ts';

const keyA = secretKey(randomBytes(32));
const keyB = secretKey(randomBytes(32));
const plaintext = Buffer.from('a totp secret of 20b');

test('sealed values open again, and carry the key id but not the plaintext', () => {
  const box = new SecretBox(keyA);
  const sealed = box.seal(plaintext, 'totp-secret');
  assert.match(sealed, new RegExp(`^v1\\.${keyA.id}\\.[A-Za-z0-9_-]+$`));
  assert.ok(!sealed.includes(plaintext.toString('base64url')));
  assert.deepEqual(box.open(sealed, 'totp-secret'), plaintext);
});

test('each seal uses a fresh nonce', () => {
  const box = new SecretBox(keyA);
  assert.notEqual(box.seal(plaintext, 'p'), box.seal(plaintext, 'p'));
});

test('any flipped byte, a swapped key id or another purpose is detected', () => {
  const box = new SecretBox(keyA, [keyB]);
  const sealed = box.seal(plaintext, 'totp-secret');
  const [version, id, payload] = sealed.split('.') as [string, string, string];
  const raw = Buffer.from(payload, 'base64url');
  for (let i = 0; i < raw.length; i++) {
    const tampered = Buffer.from(raw);
    tampered[i] = tampered[i]! ^ 0x01;
    assert.throws(() => box.open(`${version}.${id}.${tampered.toString('base64url')}`, 'totp-secret'), `byte ${i}`);
  }
  assert.throws(() => box.open(`${version}.${keyB.id}.${payload}`, 'totp-secret'));
  assert.throws(() => box.open(sealed, 'another-purpose'));
  assert.throws(() => box.open(`v2.${id}.${payload}`, 'totp-secret'));
  assert.throws(() => box.open(`${version}.${id}.${raw.subarray(0, 20).toString('base64url')}`, 'totp-secret'));
});

test('a value sealed under a key that is not configured does not open', () => {
  const sealed = new SecretBox(keyA).seal(plaintext, 'p');
  assert.throws(() => new SecretBox(keyB).open(sealed, 'p'), /not configured/);
});

test('during a rotation, old values open under the previous key and new ones use the new key', () => {
  const old = new SecretBox(keyA).seal(plaintext, 'p');
  const rotated = new SecretBox(keyB, [keyA]);
  assert.deepEqual(rotated.open(old, 'p'), plaintext);
  assert.equal(SecretBox.keyIdOf(rotated.seal(plaintext, 'p')), keyB.id);
});

test('keys must be 32 bytes', () => {
  assert.throws(() => secretKey(randomBytes(16)));
});
