import { createHash } from 'node:crypto';
import type { Db } from '../db/connection.ts';

/**
 * Failed-attempt throttling, counted in the database so every app process sees the same numbers.
 *
 * Each failure is one row (scope, SHA-256 of the subject, time). A rule says: with at least `failures`
 * failures of a subject within `windowMs`, further attempts wait until the `failures`-th most recent one has
 * left the window (sliding window), or — for a `delay` rule — until `delayMs(n)` after the latest failure.
 * Attempts refused by the throttle are not counted, so a blocked attacker cannot extend the block forever.
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

const subjectHash = (scope: ThrottleScope, subject: string) =>
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
    let verdict: ThrottleVerdict = { blocked: false };
    for (const [scope, subject] of Object.entries(subjects) as [ThrottleScope, string | undefined][]) {
      if (subject === undefined) continue;
      const wait = await this.waitMs(scope, subject);
      if (wait > 0 && (!verdict.blocked || Math.ceil(wait / 1000) > verdict.retryAfterSeconds)) {
        verdict = { blocked: true, scope, retryAfterSeconds: Math.ceil(wait / 1000) };
      }
    }
    return verdict;
  }

  /** Count one failed attempt against each subject. */
  async recordFailure(subjects: Partial<Record<ThrottleScope, string>>): Promise<void> {
    const now = this.now();
    const rows = (Object.entries(subjects) as [ThrottleScope, string | undefined][])
      .filter((entry): entry is [ThrottleScope, string] => entry[1] !== undefined)
      .map(([scope, subject]) => ({ scope, subject_hash: subjectHash(scope, subject), failed_at: new Date(now) }));
    if (rows.length > 0) await this.db.insertInto('auth_failures').values(rows).execute();
    if (now - this.lastPurge > 10 * MINUTE) {
      this.lastPurge = now;
      await this.db.deleteFrom('auth_failures').where('failed_at', '<', new Date(now - LONGEST_WINDOW_MS)).execute();
    }
  }

  /** Forget a subject's failures (after a successful sign-in of that account). */
  async clear(scope: ThrottleScope, subject: string): Promise<void> {
    await this.db
      .deleteFrom('auth_failures')
      .where('scope', '=', scope)
      .where('subject_hash', '=', subjectHash(scope, subject))
      .execute();
  }

  private async waitMs(scope: ThrottleScope, subject: string): Promise<number> {
    const rules = this.rules[scope];
    const longest = Math.max(...rules.map((r) => r.windowMs));
    const now = this.now();
    const rows = await this.db
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
