import argon2 from 'argon2';
import { InvalidInputError } from '../errors.ts';
import { isCommonPassword } from './common-passwords.ts';

/** argon2id parameters (OWASP's minimum: 19 MiB memory, 2 iterations, 1 lane). */
const HASH_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/**
 * Under the test runner only (NODE_ENV=test, set by scripts/run-tests.mjs): argon2id at a cheap cost. At the
 * production cost a hash or a verification is ~50 ms of CPU, and the suite signs in and creates accounts
 * thousands of times (every test app creates six). test/auth/passwords.test.ts checks the production
 * parameters with NODE_ENV unset; a verification reads the parameters from the stored hash either way.
 */
const TEST_HASH_OPTIONS = { type: argon2.argon2id, memoryCost: 1024, timeCost: 1, parallelism: 1 } as const;

function hashOptions(): typeof HASH_OPTIONS | typeof TEST_HASH_OPTIONS {
  return process.env.NODE_ENV === 'test' ? TEST_HASH_OPTIONS : HASH_OPTIONS;
}

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 128;

/** Hash a password for storage. Checks length (in code points, so emoji count once) first. */
export async function hashPassword(password: string): Promise<string> {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH) {
    throw new InvalidInputError(
      `Passwords must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters long.`,
    );
  }
  assertNotCommonPassword(password);
  return argon2.hash(password, hashOptions());
}

/** Refuse a password found on the shipped list of common passwords (auth/common-passwords.ts). */
export function assertNotCommonPassword(password: string): void {
  if (isCommonPassword(password)) {
    throw new InvalidInputError(
      'This password is on a list of commonly used passwords, so attackers try it first. Choose another one — a few unrelated words work well.',
    );
  }
}

// Verifying against this when the account does not exist keeps "unknown email" as slow as "wrong password"
// (hashed at the cost new hashes get; made when this module loads, as before).
const dummyHashes = new Map<object, Promise<string>>();
function dummyHash(): Promise<string> {
  const options = hashOptions();
  let hash = dummyHashes.get(options);
  if (!hash) dummyHashes.set(options, (hash = argon2.hash('docucommit-timing-equalizer', options)));
  return hash;
}
void dummyHash();

/** Check a password against a stored hash; a null hash still costs one verification. */
export async function verifyPassword(storedHash: string | null, password: string): Promise<boolean> {
  if ([...password].length > PASSWORD_MAX_LENGTH) return false;
  try {
    const ok = await argon2.verify(storedHash ?? (await dummyHash()), password);
    return storedHash !== null && ok;
  } catch {
    return false;
  }
}
