import assert from 'node:assert/strict';
import { test } from 'node:test';
import { base32Decode, base32Encode, hotp, matchTotp, otpauthUri, timeStep, totp, type TotpAlgorithm } from '../../src/auth/totp.ts';

const SEEDS: Record<TotpAlgorithm, Buffer> = {
  sha1: Buffer.from('12345678901234567890', 'ascii'),
  sha256: Buffer.from('12345678901234567890123456789012', 'ascii'),
  sha512: Buffer.from('1234567890123456789012345678901234567890123456789012345678901234', 'ascii'),
};

// RFC 6238 Appendix B: time, T (hex), and the 8-digit codes for SHA1, SHA256, SHA512.
const APPENDIX_B: [number, string, string, string, string][] = [
  [59, '0000000000000001', '94287082', '46119246', '90693936'],
  [1111111109, '00000000023523EC', '07081804', '68084774', '25091201'],
  [1111111111, '00000000023523ED', '14050471', '67062674', '99943326'],
  [1234567890, '000000000273EF07', '89005924', '91819424', '93441116'],
  [2000000000, '0000000003F940AA', '69279037', '90698825', '38618901'],
  [20000000000, '0000000027BC86AA', '65353130', '77737706', '47863826'],
];

test('all 18 RFC 6238 Appendix B vectors match exactly (8 digits, 30 s, T0 = 0)', () => {
  let checked = 0;
  for (const [time, stepHex, sha1, sha256, sha512] of APPENDIX_B) {
    assert.equal(timeStep(time), Number.parseInt(stepHex, 16), `T at ${time}`);
    const expected: Record<TotpAlgorithm, string> = { sha1, sha256, sha512 };
    for (const algorithm of ['sha1', 'sha256', 'sha512'] as const) {
      assert.equal(totp(SEEDS[algorithm], time, { digits: 8, algorithm }), expected[algorithm], `${algorithm} at ${time}`);
      checked++;
    }
  }
  assert.equal(checked, 18);
});

test('RFC 4226 HOTP values for counters 0-9 match', () => {
  const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
  assert.deepEqual(
    expected.map((_, counter) => hotp(SEEDS.sha1, counter)),
    expected,
  );
});

test('a 6-digit code is the last 6 digits of the 8-digit one', () => {
  assert.equal(totp(SEEDS.sha1, 59), '287082');
});

test('codes from one step either side of now are accepted, two steps are rejected', () => {
  const now = 1_700_000_015;
  const step = timeStep(now);
  for (const drift of [-1, 0, 1]) {
    assert.equal(matchTotp(SEEDS.sha1, hotp(SEEDS.sha1, step + drift), now), step + drift, `drift ${drift}`);
  }
  for (const drift of [-2, 2, -3, 3]) {
    assert.equal(matchTotp(SEEDS.sha1, hotp(SEEDS.sha1, step + drift), now), null, `drift ${drift}`);
  }
});

test('malformed codes never match', () => {
  const now = 1_700_000_015;
  const code = totp(SEEDS.sha1, now);
  for (const bad of ['', code.slice(0, 5), `${code}0`, ` ${code}`, 'abcdef', `${code.slice(0, 5)}x`]) {
    assert.equal(matchTotp(SEEDS.sha1, bad, now), null, JSON.stringify(bad));
  }
});

test('base32 round-trips and accepts lower case with spaces', () => {
  const key = Buffer.from('0123456789abcdefghij');
  const encoded = base32Encode(key);
  assert.equal(encoded, 'GAYTEMZUGU3DOOBZMFRGGZDFMZTWQ2LK');
  assert.deepEqual(base32Decode(encoded.toLowerCase().replace(/(.{4})/g, '$1 ')), key);
  assert.throws(() => base32Decode('ABC1'));
});

test('the enrollment URI names issuer, account and the standard parameters', () => {
  const uri = new URL(otpauthUri(SEEDS.sha1, 'ada@acme.test'));
  assert.equal(uri.protocol, 'otpauth:');
  assert.equal(uri.host, 'totp');
  assert.equal(decodeURIComponent(uri.pathname), '/DocuCommit:ada@acme.test');
  assert.equal(uri.searchParams.get('secret'), base32Encode(SEEDS.sha1));
  assert.equal(uri.searchParams.get('issuer'), 'DocuCommit');
  assert.equal(uri.searchParams.get('digits'), '6');
  assert.equal(uri.searchParams.get('period'), '30');
});
