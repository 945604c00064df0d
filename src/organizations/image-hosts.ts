import { ShortLivedCache } from '../caching/short-lived-cache.ts';
import type { Db } from '../db/connection.ts';

/** How long this process trusts what it read (another process's settings change shows within this time). */
const TTL_MS = 10_000;
/** How long the value read last still answers while one refresh runs. */
const MAX_STALE_MS = 30_000;

const remembered = new WeakMap<Db, ShortLivedCache<readonly string[]>>();

/**
 * The further image hosts an organization allows on its pages (settings.ts), by slug; none for an unknown slug.
 * Asked for every page of an organization, so kept in memory for a few seconds; a change saved in this process
 * applies at once (`forgetImageHosts`).
 */
export function imageHostsOf(db: Db, orgSlug: string): Promise<readonly string[]> {
  const hosts = imageHostsNow(db, orgSlug);
  return hosts instanceof Promise ? hosts : Promise.resolve(hosts);
}

/** As `imageHostsOf`, but the remembered hosts are returned as they are (no promise): for the hook of every page. */
export function imageHostsNow(db: Db, orgSlug: string): readonly string[] | Promise<readonly string[]> {
  let bySlug = remembered.get(db);
  if (!bySlug) remembered.set(db, (bySlug = new ShortLivedCache({ ttlMs: TTL_MS, maxStaleMs: MAX_STALE_MS, maxEntries: 10_000 })));
  return bySlug.getNow(orgSlug, async () => {
    const row = await db.selectFrom('organizations').select('image_hosts').where('slug', '=', orgSlug).executeTakeFirst();
    return row?.image_hosts ?? [];
  });
}

/** Drop what this process remembers (after the settings changed). */
export function forgetImageHosts(db: Db): void {
  remembered.delete(db);
}
