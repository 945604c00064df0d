import { mfaRequiredBy } from '../access/account-policy.ts';
import { withUser, type Db } from '../db/connection.ts';
import { inTransaction } from '../db/in-transaction.ts';
import { SecretBox, secretKey } from './secret-box.ts';
import { consumeRecoveryCode, remainingRecoveryCodes, replaceRecoveryCodes } from './recovery-codes.ts';
import { generateTotpKey, matchTotp } from './totp.ts';
import type { MfaKeys } from '../config/config.ts';

/** AES-GCM additional data for TOTP secrets: a sealed value is only accepted as a TOTP secret. */
const TOTP_PURPOSE = 'totp-secret';
/** An enrollment must be confirmed with a code within this time. */
const ENROLLMENT_TTL_MS = 30 * 60 * 1000;

export type TotpCheck = 'ok' | 'invalid' | 'reused';

/** The SecretBox for configured MFA keys. */
export function mfaSecretBox(keys: MfaKeys): SecretBox {
  return new SecretBox(secretKey(keys.current), keys.previous.map(secretKey));
}

/** TOTP enrollment and verification, and recovery codes, for one database. */
export class MfaService {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
    private readonly now: () => number = Date.now,
  ) {}

  /** The same service working inside a transaction (its writes commit or roll back with the caller's). */
  in(trx: Db): MfaService {
    return new MfaService(trx, this.box, this.now);
  }

  /** Whether the user has confirmed a TOTP enrollment. */
  async isEnrolled(userId: string): Promise<boolean> {
    const row = await this.db.selectFrom('user_mfa').select('totp_secret').where('user_id', '=', userId).executeTakeFirst();
    return Boolean(row?.totp_secret);
  }

  /** Enrollment state and the number of unused recovery codes. */
  async status(userId: string): Promise<{ enrolled: boolean; enrolledAt: Date | null; recoveryCodesLeft: number }> {
    const row = await this.db
      .selectFrom('user_mfa')
      .select(['totp_secret', 'totp_enrolled_at'])
      .where('user_id', '=', userId)
      .executeTakeFirst();
    const enrolled = Boolean(row?.totp_secret);
    return {
      enrolled,
      enrolledAt: enrolled && row?.totp_enrolled_at ? new Date(row.totp_enrolled_at) : null,
      recoveryCodesLeft: enrolled ? await remainingRecoveryCodes(this.db, userId) : 0,
    };
  }

  /**
   * The TOTP key being enrolled: the one already offered (so a reload shows the same QR code) or a new one.
   * It only becomes the user's second factor once confirmEnrollment sees a valid code from it.
   */
  async enrollmentKey(userId: string): Promise<Buffer> {
    const row = await this.db
      .selectFrom('user_mfa')
      .select(['pending_secret', 'pending_created_at'])
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (row?.pending_secret && row.pending_created_at && this.now() - new Date(row.pending_created_at).getTime() < ENROLLMENT_TTL_MS) {
      return this.box.open(row.pending_secret, TOTP_PURPOSE);
    }
    const key = generateTotpKey();
    const sealed = this.box.seal(key, TOTP_PURPOSE);
    const at = new Date(this.now());
    await this.db
      .insertInto('user_mfa')
      .values({ user_id: userId, pending_secret: sealed, pending_created_at: at, updated_at: at })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ pending_secret: sealed, pending_created_at: at, updated_at: at }))
      .execute();
    return key;
  }

  /** Confirm enrollment with a code from the new key; returns the fresh recovery codes, or null for a wrong code. */
  async confirmEnrollment(userId: string, code: string): Promise<string[] | null> {
    const row = await this.db
      .selectFrom('user_mfa')
      .select(['pending_secret', 'pending_created_at'])
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (!row?.pending_secret || !row.pending_created_at) return null;
    if (this.now() - new Date(row.pending_created_at).getTime() >= ENROLLMENT_TTL_MS) return null;
    const step = matchTotp(this.box.open(row.pending_secret, TOTP_PURPOSE), code.trim(), this.now() / 1000);
    if (step === null) return null;
    const at = new Date(this.now());
    const updated = await this.db
      .updateTable('user_mfa')
      .set({
        totp_secret: row.pending_secret,
        totp_enrolled_at: at,
        totp_last_step: step,
        pending_secret: null,
        pending_created_at: null,
        updated_at: at,
      })
      .where('user_id', '=', userId)
      .where('pending_secret', '=', row.pending_secret)
      .executeTakeFirst();
    if (updated.numUpdatedRows === 0n) return null;
    return replaceRecoveryCodes(this.db, userId, at);
  }

  /**
   * Check a TOTP code (now ± one step). A code is accepted once: its time step must be later than the last
   * accepted one, enforced by a conditional UPDATE so two concurrent uses cannot both pass.
   */
  async verifyTotp(userId: string, code: string): Promise<TotpCheck> {
    const row = await this.db.selectFrom('user_mfa').select('totp_secret').where('user_id', '=', userId).executeTakeFirst();
    if (!row?.totp_secret) return 'invalid';
    const step = matchTotp(this.box.open(row.totp_secret, TOTP_PURPOSE), code.trim(), this.now() / 1000);
    if (step === null) return 'invalid';
    const updated = await this.db
      .updateTable('user_mfa')
      .set({ totp_last_step: step })
      .where('user_id', '=', userId)
      .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', String(step))]))
      .executeTakeFirst();
    return updated.numUpdatedRows > 0n ? 'ok' : 'reused';
  }

  /** Spend a recovery code (each works once). */
  async useRecoveryCode(userId: string, code: string): Promise<boolean> {
    if (!(await this.isEnrolled(userId))) return false;
    return consumeRecoveryCode(this.db, userId, code, new Date(this.now()));
  }

  /** New recovery codes replace the old ones; returns them for showing once. */
  async regenerateRecoveryCodes(userId: string): Promise<string[]> {
    return replaceRecoveryCodes(this.db, userId, new Date(this.now()));
  }

  /** Remove the user's TOTP enrollment and recovery codes. */
  async disable(userId: string): Promise<void> {
    await inTransaction(this.db, async (trx) => {
      await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
      await trx.deleteFrom('user_mfa').where('user_id', '=', userId).execute();
    });
  }
}

/** Whether an organization setting obliges this user to use MFA ('everyone', or 'admins' for owners and admins). */
export async function mfaRequiredFor(db: Db, userId: string): Promise<boolean> {
  const rows = await withUser(db, userId, (trx) =>
    trx
      .selectFrom('memberships')
      .innerJoin('organizations', 'organizations.id', 'memberships.org_id')
      .select(['memberships.role', 'organizations.require_mfa'])
      .where('memberships.user_id', '=', userId)
      .execute(),
  );
  return rows.some((r) => mfaRequiredBy(r.require_mfa, r.role));
}

/**
 * Re-encrypt every stored TOTP secret (enrolled and pending) under the box's current key. Each row is updated
 * only if it still holds the value that was read, so a concurrent enrollment is never overwritten.
 * Returns how many values were re-sealed.
 */
export async function resealAllSecrets(db: Db, box: SecretBox): Promise<number> {
  const rows = await db.selectFrom('user_mfa').select(['user_id', 'totp_secret', 'pending_secret']).execute();
  let count = 0;
  for (const row of rows) {
    for (const column of ['totp_secret', 'pending_secret'] as const) {
      const sealed = row[column];
      if (!sealed || SecretBox.keyIdOf(sealed) === box.current.id) continue;
      const resealed = box.seal(box.open(sealed, TOTP_PURPOSE), TOTP_PURPOSE);
      const result = await db
        .updateTable('user_mfa')
        .set({ [column]: resealed })
        .where('user_id', '=', row.user_id)
        .where(column, '=', sealed)
        .executeTakeFirst();
      if (result.numUpdatedRows > 0n) count++;
    }
  }
  return count;
}

/** How many stored secrets each key id sealed (for `docucommit mfa-key status`). */
export async function secretsByKey(db: Db): Promise<Map<string, number>> {
  const rows = await db.selectFrom('user_mfa').select(['totp_secret', 'pending_secret']).execute();
  const counts = new Map<string, number>();
  for (const row of rows) {
    for (const sealed of [row.totp_secret, row.pending_secret]) {
      if (!sealed) continue;
      const id = SecretBox.keyIdOf(sealed) ?? 'unknown';
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  }
  return counts;
}
