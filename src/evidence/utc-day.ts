const DAY_MS = 24 * 60 * 60 * 1000;

/** The last day asked for: its first millisecond and its ISO date (most calls ask about today). */
let known = { start: NaN, day: '' };

/**
 * The UTC calendar day (`YYYY-MM-DD`) of a time in milliseconds: `new Date(ms).toISOString().slice(0, 10)`, without
 * building a Date and a string for every request that asks what day it is (the reading and review paths do).
 */
export function utcDay(ms: number): string {
  const offset = ms - known.start;
  if (offset >= 0 && offset < DAY_MS) return known.day;
  const day = new Date(ms).toISOString().slice(0, 10);
  if (Number.isFinite(ms)) known = { start: ms - (((ms % DAY_MS) + DAY_MS) % DAY_MS), day };
  return day;
}
