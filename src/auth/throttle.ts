import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Db } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';

/**
 * Failed-attempt throttling, counted in the database so every app process sees the same numbers.
 *
 * Each failure is one row (scope, SHA-256 of the subject, time). A rule says: with at least `failures`
 * failures of a subject within `windowMs`, further attempts wait until the `failures`-th most recent one has
 * left the window (sliding window), or — for a `delay` rule — until `delayMs(n)` after the latest failure.
 * Attempts refused by the throttle are not counted, so a blocked attacker cannot extend the block forever.
 *
 * A password or code check goes through `attempt`: the check of the limits and the reservation of one attempt
 * are one step, serialized per subject by a transaction-scoped advisory lock, and the reserved row counts as a
 * failure while the password or code is being verified (`pending`). So 100 attempts sent at once are not all
 * checked against the same count: at most the limit's number pass, the rest are refused (issue #10, item 5).
 */
export type ThrottleScope = 'account' | 'address' | 'mfa' | 'git-address';

export interface ThrottleRule {
  failures: number;
  windowMs: number;
  /** Progressive delay after the latest failure, for `n` failures in the window; absent: a block. */
  delayMs?: (n: number) => number;
}

const MINUTE = 60 * 1000;

/** Default limits (documented in docs/security.md). */
export const THROTTLE_RULES: Record<ThrottleScope, ThrottleRule[]> = {
  // Per account: from the 5th failure in 15 minutes each try waits 2, 4, 8, 16 s; the 10th blocks for
  // 15 minutes; 100 in an hour always block (the 101st attempt is refused).
  account: [
    { failures: 5, windowMs: 15 * MINUTE, delayMs: (n) => Math.min(2 ** (n - 4), 60) * 1000 },
    { failures: 10, windowMs: 15 * MINUTE },
    { failures: 100, windowMs: 60 * MINUTE },
  ],
  // Per client address: higher, because offices and proxies share one; blocks only.
  address: [
    { failures: 50, windowMs: 15 * MINUTE },
    { failures: 300, windowMs: 60 * MINUTE },
  ],
  // Per user, wrong second-factor codes: the 6th try within 5 minutes is refused.
  mfa: [{ failures: 5, windowMs: 5 * MINUTE }],
  // Per client address, bad credentials on git smart HTTP (a wrong, unknown, expired or revoked token, or a
  // password): after 30 within 3 minutes, the 31st attempt and every later one is refused until the window
  // passes. git's first request, which carries no credentials and only fetches the 401 challenge, is not counted.
  'git-address': [{ failures: 30, windowMs: 3 * MINUTE }],
};

const LONGEST_WINDOW_MS = 60 * MINUTE;

export type ThrottleVerdict = { blocked: false } | { blocked: true; scope: ThrottleScope; retryAfterSeconds: number };

/** An attempt the throttle let through: it counts as a failure until it is settled one way or the other. */
export interface ThrottleReservation {
  /** The password or code was wrong: the reservation becomes an ordinary failure, timed now. */
  failed(): Promise<void>;
  /** It was right: the reservation is withdrawn (attempts still in flight keep counting). */
  succeeded(): Promise<void>;
}

export type ThrottleAttempt =
  | { blocked: true; scope: ThrottleScope; retryAfterSeconds: number }
  | { blocked: false; reservation: ThrottleReservation };

/** Advisory lock class of throttle subjects ("THRT"); the audit chain uses another. */
const THROTTLE_LOCK_CLASS = 0x54485254;

/** The stored form of a throttle subject (organization deletion removes an account's counters by it). */
export const subjectHash = (scope: ThrottleScope, subject: string) =>
  createHash('sha256').update(`${scope}:${subject}`).digest('base64url');

/** Counts failures and decides whether the next attempt may go ahead. */
export class Throttle {
  private lastPurge = 0;

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
    private readonly rules: Record<ThrottleScope, ThrottleRule[]> = THROTTLE_RULES,
  ) {}

  /** Whether an attempt for these subjects must wait; the longest wait wins. */
  async check(subjects: Partial<Record<ThrottleScope, string>>): Promise<ThrottleVerdict> {
    return this.verdict(this.db, entriesOf(subjects), this.now());
  }

  /**
   * Check the limits and, when they allow it, reserve one attempt against every subject — atomically: the
   * subjects are locked (in a fixed order, so two attempts never wait on each other crosswise) for the check
   * and the insert. Settle the reservation with `failed()` or `succeeded()` once the password or code is known.
   */
  async attempt(subjects: Partial<Record<ThrottleScope, string>>): Promise<ThrottleAttempt> {
    const entries = entriesOf(subjects).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const outcome = await this.db.transaction().execute(async (trx) => {
      for (const [scope, subject] of entries) {
        await sql`select pg_advisory_xact_lock(${THROTTLE_LOCK_CLASS}::int, hashtext(${subjectHash(scope, subject)}))`.execute(trx);
      }
      const now = this.now();
      const verdict = await this.verdict(trx, entries, now);
      if (verdict.blocked) return verdict;
      if (entries.length === 0) return { blocked: false as const, ids: [] as string[] };
      const rows = await trx
        .insertInto('auth_failures')
        .values(entries.map(([scope, subject]) => ({ scope, subject_hash: subjectHash(scope, subject), failed_at: new Date(now), pending: true })))
        .returning('id')
        .execute();
      return { blocked: false as const, ids: rows.map((r) => r.id) };
    });
    if (outcome.blocked) return outcome;
    const { ids } = outcome;
    let settled = false;
    const settle = async (fn: () => Promise<unknown>) => {
      if (settled || ids.length === 0) return;
      settled = true;
      await fn();
    };
    return {
      blocked: false,
      reservation: {
        failed: () =>
          settle(async () => {
            await this.db.updateTable('auth_failures').set({ pending: false, failed_at: new Date(this.now()) }).where('id', 'in', ids).execute();
            await this.purge();
          }),
        succeeded: () => settle(() => this.db.deleteFrom('auth_failures').where('id', 'in', ids).execute()),
      },
    };
  }

  /** Count one failed attempt against each subject. */
  async recordFailure(subjects: Partial<Record<ThrottleScope, string>>): Promise<void> {
    const now = this.now();
    const rows = (Object.entries(subjects) as [ThrottleScope, string | undefined][])
      .filter((entry): entry is [ThrottleScope, string] => entry[1] !== undefined)
      .map(([scope, subject]) => ({ scope, subject_hash: subjectHash(scope, subject), failed_at: new Date(now) }));
    if (rows.length > 0) await this.db.insertInto('auth_failures').values(rows).execute();
    await this.purge();
  }

  /** Drop failures older than the longest window (at most every 10 minutes per process). */
  private async purge(): Promise<void> {
    const now = this.now();
    if (now - this.lastPurge > 10 * MINUTE) {
      this.lastPurge = now;
      await this.db.deleteFrom('auth_failures').where('failed_at', '<', new Date(now - LONGEST_WINDOW_MS)).execute();
    }
  }

  /**
   * Forget a subject's failures (after a successful sign-in of that account). Attempts still being checked
   * (reserved, pending) stay counted: a right password does not reopen the gate for a burst already sent.
   */
  async clear(scope: ThrottleScope, subject: string): Promise<void> {
    await this.db
      .deleteFrom('auth_failures')
      .where('scope', '=', scope)
      .where('subject_hash', '=', subjectHash(scope, subject))
      .where('pending', '=', false)
      .execute();
  }

  private async verdict(db: Kysely<Database>, entries: [ThrottleScope, string][], now: number): Promise<ThrottleVerdict> {
    let verdict: ThrottleVerdict = { blocked: false };
    for (const [scope, subject] of entries) {
      const wait = await this.waitMs(db, scope, subject, now);
      if (wait > 0 && (!verdict.blocked || Math.ceil(wait / 1000) > verdict.retryAfterSeconds)) {
        verdict = { blocked: true, scope, retryAfterSeconds: Math.ceil(wait / 1000) };
      }
    }
    return verdict;
  }

  private async waitMs(db: Kysely<Database>, scope: ThrottleScope, subject: string, now: number): Promise<number> {
    const rules = this.rules[scope];
    const longest = Math.max(...rules.map((r) => r.windowMs));
    const rows = await db
      .selectFrom('auth_failures')
      .select('failed_at')
      .where('scope', '=', scope)
      .where('subject_hash', '=', subjectHash(scope, subject))
      .where('failed_at', '>', new Date(now - longest))
      .orderBy('failed_at', 'desc')
      .limit(Math.max(...rules.map((r) => r.failures)))
      .execute();
    const times = rows.map((r) => new Date(r.failed_at).getTime());
    let wait = 0;
    for (const rule of rules) {
      const inWindow = times.filter((t) => t > now - rule.windowMs);
      if (inWindow.length < rule.failures) continue;
      const until = rule.delayMs
        ? inWindow[0]! + rule.delayMs(inWindow.length)
        : inWindow[rule.failures - 1]! + rule.windowMs;
      wait = Math.max(wait, until - now);
    }
    return wait;
  }
}

const entriesOf = (subjects: Partial<Record<ThrottleScope, string>>): [ThrottleScope, string][] =>
  (Object.entries(subjects) as [ThrottleScope, string | undefined][]).filter((entry): entry is [ThrottleScope, string] => entry[1] !== undefined);
