import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../db/connection.ts';
import { inTransaction } from '../db/in-transaction.ts';

/**
 * Recovery codes: ten per user, shown once, each usable once.
 *
 * Each code carries 80 random bits (16 characters of a 32-letter alphabet), so guessing one is hopeless even
 * with a stolen table and a fast hash; SHA-256 is therefore enough (as for access tokens), and it lets a use
 * be one indexed, atomic `UPDATE ... WHERE used_at IS NULL`, which makes "usable once" hold under races.
 * A slow password hash would buy nothing for secrets of this strength.
 */
export const RECOVERY_CODE_COUNT = 10;
/** Crockford's base32 alphabet (no i, l, o, u): 32 symbols, so each character is exactly 5 unbiased bits. */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const GROUPS = 4;
const GROUP_LENGTH = 4;

/** Lower-case, without spaces or dashes: how a code is compared and hashed. */
export function normalizeRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, '');
}

export function hashRecoveryCode(code: string): string {
  return createHash('sha256').update(`docucommit-recovery:${normalizeRecoveryCode(code)}`).digest('hex');
}

/** Whether text could be a recovery code (as opposed to a 6-digit TOTP code). */
export function looksLikeRecoveryCode(text: string): boolean {
  return normalizeRecoveryCode(text).length === GROUPS * GROUP_LENGTH;
}

/** New codes, formatted `xxxx-xxxx-xxxx-xxxx`. */
export function generateRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  const codes: string[] = [];
  for (let i = 0; i < count; i++) {
    const bytes = randomBytes(GROUPS * GROUP_LENGTH);
    const chars = [...bytes].map((b) => ALPHABET[b & 31]!).join('');
    codes.push(chars.match(new RegExp(`.{${GROUP_LENGTH}}`, 'g'))!.join('-'));
  }
  return codes;
}

/** Replace a user's recovery codes with fresh ones; returns them (the only time they exist in clear). */
export async function replaceRecoveryCodes(db: Db, userId: string, now = new Date()): Promise<string[]> {
  const codes = generateRecoveryCodes();
  await inTransaction(db, async (trx) => {
    await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
    await trx
      .insertInto('recovery_codes')
      .values(codes.map((code) => ({ user_id: userId, code_hash: hashRecoveryCode(code), created_at: now })))
      .execute();
  });
  return codes;
}

/** Spend one recovery code: true once per code, false for a wrong or already used one. */
export async function consumeRecoveryCode(db: Db, userId: string, code: string, now = new Date()): Promise<boolean> {
  if (!looksLikeRecoveryCode(code)) return false;
  const used = await db
    .updateTable('recovery_codes')
    .set({ used_at: now })
    .where('user_id', '=', userId)
    .where('code_hash', '=', hashRecoveryCode(code))
    .where('used_at', 'is', null)
    .returning('code_hash')
    .executeTakeFirst();
  return used !== undefined;
}

/** How many unused recovery codes a user has left. */
export async function remainingRecoveryCodes(db: Db, userId: string): Promise<number> {
  const row = await db
    .selectFrom('recovery_codes')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
