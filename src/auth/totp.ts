import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** HMAC algorithms RFC 6238 allows. */
export type TotpAlgorithm = 'sha1' | 'sha256' | 'sha512';

/** The parameters every DocuCommit user's authenticator uses: SHA-1, 6 digits, 30-second steps from T0 = 0. */
export const TOTP_DEFAULTS = { algorithm: 'sha1', digits: 6, stepSeconds: 30 } as const;
/** Steps of clock drift accepted either side of now (one: ±30 seconds). */
export const TOTP_DRIFT_STEPS = 1;

/** HOTP (RFC 4226): the `digits`-digit code for a counter, with dynamic truncation. */
export function hotp(key: Buffer, counter: bigint | number, digits = 6, algorithm: TotpAlgorithm = 'sha1'): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac(algorithm, key).update(message).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = (mac.readUInt32BE(offset) & 0x7fffffff) >>> 0;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/** The time step (RFC 6238's T) that a Unix time in seconds falls in. */
export function timeStep(unixSeconds: number, stepSeconds: number = TOTP_DEFAULTS.stepSeconds): number {
  return Math.floor(unixSeconds / stepSeconds);
}

/** TOTP (RFC 6238) at a Unix time in seconds. */
export function totp(
  key: Buffer,
  unixSeconds: number,
  options: { digits?: number; algorithm?: TotpAlgorithm; stepSeconds?: number } = {},
): string {
  const step = timeStep(unixSeconds, options.stepSeconds ?? TOTP_DEFAULTS.stepSeconds);
  return hotp(key, step, options.digits ?? TOTP_DEFAULTS.digits, options.algorithm ?? TOTP_DEFAULTS.algorithm);
}

/**
 * Check a 6-digit code against now ± one step. Returns the matched time step (so the caller can refuse it
 * the second time), or null. Every candidate is compared in constant time, and all of them are computed.
 */
export function matchTotp(key: Buffer, code: string, unixSeconds: number): number | null {
  const candidate = Buffer.from(code.padEnd(TOTP_DEFAULTS.digits, ' ').slice(0, 16));
  const wellFormed = /^\d{6}$/.test(code);
  const now = timeStep(unixSeconds);
  let matched: number | null = null;
  for (let drift = -TOTP_DRIFT_STEPS; drift <= TOTP_DRIFT_STEPS; drift++) {
    const expected = Buffer.from(hotp(key, now + drift));
    const same = candidate.length === expected.length && timingSafeEqual(candidate, expected);
    if (same && wellFormed && matched === null) matched = now + drift;
  }
  return matched;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding (what authenticator apps expect). */
export function base32Encode(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** Decode base32 (case-insensitive; spaces and padding ignored). Throws on other characters. */
export function base32Decode(text: string): Buffer {
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const char of clean) {
    const index = BASE32.indexOf(char);
    if (index < 0) throw new Error('invalid base32');
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** A new TOTP key: 20 random bytes (160 bits, RFC 4226's recommended length). */
export function generateTotpKey(): Buffer {
  return randomBytes(20);
}

/** The otpauth:// URI an authenticator app scans at enrollment. */
export function otpauthUri(key: Buffer, account: string, issuer = 'DocuCommit'): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const params = new URLSearchParams({
    secret: base32Encode(key),
    issuer,
    algorithm: 'SHA1',
    digits: String(TOTP_DEFAULTS.digits),
    period: String(TOTP_DEFAULTS.stepSeconds),
  });
  return `otpauth://totp/${label}?${params.toString()}`;
}
