import { createHmac } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/connection.ts';

/** A limit: at most `limit` takes per `windowMs`. */
export interface RateLimit {
  limit: number;
  windowMs: number;
}

/**
 * Take one place under `key`'s limit: one `INSERT … ON CONFLICT DO UPDATE` (its row lock serializes a parallel
 * burst, in every process), counting from the start of the key's current window. Returns whether it was within.
 */
export async function takeRateLimit(db: Db, key: string, limit: RateLimit, now: number): Promise<boolean> {
  const at = new Date(now);
  const windowEnded = new Date(now - limit.windowMs);
  const { rows } = await sql<{ used: number }>`
    insert into email_rate_limits (key, window_start, used) values (${key}, ${at}, 1)
    on conflict (key) do update set
      window_start = case when email_rate_limits.window_start <= ${windowEnded} then ${at} else email_rate_limits.window_start end,
      used = case when email_rate_limits.window_start <= ${windowEnded} then 1 else email_rate_limits.used + 1 end
    returning used`.execute(db);
  return Number(rows[0]?.used ?? Infinity) <= limit.limit;
}

/**
 * Keys are HMACs under the instance's secret, so the table names nobody: a plain hash of an IPv4 address (or of a
 * known email address) is undone by trying every candidate. Every process of one instance shares the secret, so
 * they count under the same keys.
 */
function keyed(secret: Buffer, kind: 'address' | 'client', value: string): string {
  return `${kind}:${createHmac('sha256', secret).update(`email-rate-limit\0${kind}\0${value}`).digest('base64url')}`;
}

/** The key of an email address. */
export function addressKey(secret: Buffer, email: string): string {
  return keyed(secret, 'address', email);
}

/** The key of a client address. */
export function clientKey(secret: Buffer, ip: string): string {
  return keyed(secret, 'client', ip);
}
