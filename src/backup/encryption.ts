/**
 * Backups are age files (https://age-encryption.org/v1), written and read with `age-encryption` (typage, by the
 * authors of age): encrypted to a passphrase (scrypt) or to one or more age public keys (X25519, or the
 * post-quantum hybrid keys), in authenticated 64 KiB chunks whose last one is marked as last, so a flipped byte,
 * a cut or a reordering is detected. The same file opens with the `age` command-line tool.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Decrypter, Encrypter } from 'age-encryption';
import { InvalidInputError } from '../errors.ts';

/** How a backup is locked: a passphrase, or age public keys (`age1...`). */
export type BackupLock = { passphrase: string } | { recipients: string[] };
/** How a backup is opened: the passphrase, or age identities (`AGE-SECRET-KEY-1...`). */
export type BackupKey = { passphrase: string } | { identities: string[] };

/** The shortest passphrase `backup` accepts (age stretches it with scrypt; length is what protects it). */
export const MIN_PASSPHRASE_LENGTH = 12;

/** scrypt's work factor (log2 of N) for a passphrase: age's own default, ~1 s of CPU to lock or open a backup. */
const SCRYPT_WORK_FACTOR = 18;

/**
 * Under the test runner only (NODE_ENV=test, set by scripts/run-tests.mjs): a cheap work factor, as passwords.ts
 * lowers argon2's. At age's default, each lock or open of a passphrase backup is 1.5-2 s of CPU in typage's
 * JavaScript scrypt, and the backup tests make a dozen. Opening reads the factor from the archive's header either
 * way; test/backup/encryption.test.ts checks the default with NODE_ENV unset.
 */
const TEST_SCRYPT_WORK_FACTOR = 10;

function scryptWorkFactor(): number {
  return process.env.NODE_ENV === 'test' ? TEST_SCRYPT_WORK_FACTOR : SCRYPT_WORK_FACTOR;
}

/** The backup cannot be opened with the key given (wrong passphrase or identity). */
export class BackupKeyError extends InvalidInputError {}
/** The backup is not an intact age file: cut short, altered, or not a backup at all. */
export class BackupDamagedError extends InvalidInputError {}

/** `plaintext` encrypted as an age stream. */
export async function encryptStream(plaintext: Readable, lock: BackupLock): Promise<Readable> {
  const encrypter = new Encrypter();
  if ('passphrase' in lock) {
    if (lock.passphrase.length < MIN_PASSPHRASE_LENGTH) throw new InvalidInputError(`the passphrase must be at least ${MIN_PASSPHRASE_LENGTH} characters`);
    encrypter.setScryptWorkFactor(scryptWorkFactor());
    encrypter.setPassphrase(lock.passphrase);
  } else {
    if (lock.recipients.length === 0) throw new InvalidInputError('no recipient given');
    for (const recipient of lock.recipients) {
      try {
        encrypter.addRecipient(recipient);
      } catch (error) {
        throw new InvalidInputError(`not an age public key: ${recipient.slice(0, 80)} (${(error as Error).message})`);
      }
    }
  }
  const web = Readable.toWeb(plaintext) as unknown as ReadableStream<Uint8Array>;
  const encrypted = await encrypter.encrypt(web);
  return Readable.fromWeb(encrypted as unknown as WebReadableStream<Uint8Array>);
}

/**
 * The plaintext of an age stream. Throws BackupKeyError at once when the key does not open it; the plaintext
 * stream errors with BackupDamagedError where the file stops being authentic (its readers must not trust what
 * they read before the end).
 */
export async function decryptStream(ciphertext: Readable, key: BackupKey): Promise<Readable> {
  const decrypter = new Decrypter();
  if ('passphrase' in key) decrypter.addPassphrase(key.passphrase);
  else {
    if (key.identities.length === 0) throw new InvalidInputError('no identity given');
    for (const identity of key.identities) {
      try {
        decrypter.addIdentity(identity);
      } catch (error) {
        throw new InvalidInputError(`not an age identity (${(error as Error).message})`);
      }
    }
  }
  let plaintext: ReadableStream<Uint8Array>;
  try {
    plaintext = await decrypter.decrypt(Readable.toWeb(ciphertext) as unknown as ReadableStream<Uint8Array>);
  } catch (error) {
    throw classify(error);
  }
  const out = Readable.fromWeb(plaintext as unknown as WebReadableStream<Uint8Array>);
  const checked = new Readable({ read() {} });
  out.on('data', (chunk: Buffer) => {
    if (!checked.push(chunk)) out.pause();
  });
  checked._read = () => out.resume();
  out.on('end', () => checked.push(null));
  out.on('error', (error) => checked.destroy(classify(error)));
  checked.on('close', () => out.destroy());
  return checked;
}

function classify(error: unknown): Error {
  const message = (error as Error)?.message ?? String(error);
  if (/no identity matched|incorrect passphrase|scrypt/i.test(message)) {
    return new BackupKeyError('the passphrase or key does not open this backup (nothing was written)');
  }
  return new BackupDamagedError(`the backup is damaged, cut short or was altered: ${message} (nothing was written)`);
}

/** Age identities from the text of an identity file (`age-keygen` output): one per line, `#` comments. */
export function identitiesFrom(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** Age public keys from the text of a recipients file: one per line, `#` comments. */
export const recipientsFrom = identitiesFrom;
