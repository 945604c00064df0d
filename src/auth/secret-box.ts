import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Encryption at rest for small secrets (TOTP keys): AES-256-GCM with a random 96-bit nonce per value.
 * A stored value reads `v1.<key id>.<base64url(nonce | ciphertext | tag)>`; the key id (a fingerprint of the
 * key, not the key) says which key sealed it, so a rotation can run while old values still open.
 * The purpose string is bound as additional data: a value sealed for one use cannot be moved to another.
 */
const VERSION = 'v1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface SecretKey {
  /** Fingerprint of the key (first 8 bytes of SHA-256, hex). */
  id: string;
  key: Buffer;
}

/** Wrap 32 raw bytes as a key with its fingerprint. */
export function secretKey(key: Buffer): SecretKey {
  if (key.length !== 32) throw new Error('an AES-256 key is 32 bytes');
  return { id: createHash('sha256').update(key).digest('hex').slice(0, 16), key };
}

/** The key that seals new values, and older keys that may still open existing ones. */
export class SecretBox {
  private readonly keys = new Map<string, SecretKey>();

  constructor(
    readonly current: SecretKey,
    previous: SecretKey[] = [],
  ) {
    for (const key of [current, ...previous]) this.keys.set(key.id, key);
  }

  /** Encrypt `plaintext` for `purpose` under the current key. */
  seal(plaintext: Buffer, purpose: string): string {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, nonce);
    cipher.setAAD(Buffer.from(`${VERSION}.${this.current.id}.${purpose}`));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return `${VERSION}.${this.current.id}.${Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64url')}`;
  }

  /** Decrypt a sealed value; throws if it was altered, sealed for another purpose, or under an unknown key. */
  open(sealed: string, purpose: string): Buffer {
    const [version, keyId, payload, ...rest] = sealed.split('.');
    if (version !== VERSION || !keyId || !payload || rest.length > 0) throw new Error('not a sealed secret');
    const key = this.keys.get(keyId);
    if (!key) throw new Error(`sealed under key ${keyId}, which is not configured`);
    const raw = Buffer.from(payload, 'base64url');
    if (raw.length < NONCE_BYTES + TAG_BYTES) throw new Error('sealed secret is truncated');
    const decipher = createDecipheriv('aes-256-gcm', key.key, raw.subarray(0, NONCE_BYTES));
    decipher.setAAD(Buffer.from(`${version}.${keyId}.${purpose}`));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)), decipher.final()]);
  }

  /** The id of the key a sealed value was made with. */
  static keyIdOf(sealed: string): string | null {
    return sealed.split('.')[1] ?? null;
  }
}
