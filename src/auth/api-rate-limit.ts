import { sql } from 'kysely';
import type { Db } from '../db/connection.ts';

/**
 * The REST API's rate limit per personal access token: at most `requests` requests in each fixed window of
 * `windowMs`, counted in the database (table `api_rate_limits`, migration 029) so every process of one
 * installation shares the count. Counting and deciding are one statement: `INSERT … ON CONFLICT DO UPDATE`
 * takes the token's row lock, so of a burst of parallel requests exactly `requests` are let through; the rest
 * learn when the window ends. A refused request still counts (the window does not move), so hammering a
 * limited token does not shorten the wait.
 */
export interface ApiRateLimit {
  requests: number;
  windowMs: number;
}

/** Default: 600 requests a minute per token (documented in docs/api.md). */
export const DEFAULT_API_RATE_LIMIT: ApiRateLimit = { requests: 600, windowMs: 60_000 };

export interface RateVerdict {
  allowed: boolean;
  limit: number;
  /** Requests left in this window after this one. */
  remaining: number;
  /** Seconds until the window ends (at least 1). */
  resetSeconds: number;
}

/** Largest count stored (the column is an integer; the count only needs to stay above the limit). */
const MAX_COUNT = 2_000_000_000;

export class ApiRateLimiter {
  constructor(
    private readonly db: Db,
    private readonly limit: ApiRateLimit = DEFAULT_API_RATE_LIMIT,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(limit.requests) || limit.requests < 1 || !(limit.windowMs >= 1000)) throw new Error('invalid API rate limit');
  }

  /** Count one request of the token and say whether it may go ahead. */
  async take(tokenId: string): Promise<RateVerdict> {
    const now = this.now();
    const at = new Date(now);
    const expired = new Date(now - this.limit.windowMs);
    const row = await sql<{ window_start: Date | string; used: number }>`
      INSERT INTO api_rate_limits AS r (token_id, window_start, used) VALUES (${tokenId}, ${at}, 1)
      ON CONFLICT (token_id) DO UPDATE SET
        window_start = CASE WHEN r.window_start <= ${expired} THEN ${at} ELSE r.window_start END,
        used = CASE WHEN r.window_start <= ${expired} THEN 1 ELSE LEAST(r.used + 1, ${MAX_COUNT}) END
      RETURNING window_start, used`.execute(this.db);
    const result = row.rows[0]!;
    const used = Number(result.used);
    const windowEnd = new Date(result.window_start).getTime() + this.limit.windowMs;
    return {
      allowed: used <= this.limit.requests,
      limit: this.limit.requests,
      remaining: Math.max(0, this.limit.requests - used),
      resetSeconds: Math.max(1, Math.ceil((windowEnd - now) / 1000)),
    };
  }
}
