import type { Db } from '../db/connection.ts';

/** How long this process trusts what it read (another process's settings change shows within this time). */
const TTL_MS = 10_000;

const remembered = new WeakMap<Db, Map<string, { hosts: readonly string[]; readAt: number }>>();

/**
 * The further image hosts an organization allows on its pages (settings.ts), by slug; none for an unknown slug.
 * Asked for every page of an organization, so kept in memory for a few seconds; a change saved in this process
 * applies at once (`forgetImageHosts`).
 */
export async function imageHostsOf(db: Db, orgSlug: string, now: number = Date.now()): Promise<readonly string[]> {
  let bySlug = remembered.get(db);
  if (!bySlug) remembered.set(db, (bySlug = new Map<string, { hosts: readonly string[]; readAt: number }>()));
  const known = bySlug.get(orgSlug);
  if (known && now - known.readAt < TTL_MS) return known.hosts;
  const row = await db.selectFrom('organizations').select('image_hosts').where('slug', '=', orgSlug).executeTakeFirst();
  const hosts = row?.image_hosts ?? [];
  if (bySlug.size > 10_000) bySlug.clear();
  bySlug.set(orgSlug, { hosts, readAt: now });
  return hosts;
}

/** Drop what this process remembers (after the settings changed). */
export function forgetImageHosts(db: Db): void {
  remembered.delete(db);
}
