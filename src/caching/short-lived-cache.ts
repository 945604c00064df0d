/**
 * Values read from the database and trusted for a few seconds, per key: the questions every request of an
 * organization asks (is it scheduled for deletion? which image hosts does it allow?). Two things matter under
 * load. One read per key at a time: concurrent requests share the read in flight instead of each queueing its own
 * on the database (on embedded PGlite, one statement at a time). And once the time is up, the value read last
 * still answers while one refresh runs (stale-while-revalidate), so an expiry never makes a burst of requests wait
 * for the database; a value older than `maxStaleMs` is not served, and those requests wait for the refresh.
 */
export interface ShortLivedCacheOptions {
  /** How long a value answers without a refresh. */
  ttlMs: number;
  /** How long it may still answer while a refresh is under way (≥ ttlMs). */
  maxStaleMs: number;
  /** Keys remembered at most (all are forgotten when reached: the map never grows without bound). */
  maxEntries: number;
  now?: () => number;
}

interface Entry<V> {
  value: V | undefined;
  has: boolean;
  readAt: number;
  pending: Promise<V> | null;
}

export class ShortLivedCache<V> {
  readonly #entries = new Map<string, Entry<V>>();
  readonly #now: () => number;

  constructor(private readonly options: ShortLivedCacheOptions) {
    this.#now = options.now ?? Date.now;
  }

  /** The value of `key`: remembered, or read with `read` (one read in flight per key). */
  get(key: string, read: () => Promise<V>): Promise<V> {
    const value = this.getNow(key, read);
    return value instanceof Promise ? value : Promise.resolve(value);
  }

  /**
   * As `get`, but a value that may answer now is returned as it is, not in a promise: the hooks every request
   * runs stay synchronous while the value is remembered (a promise per hook showed in a cached page's profile).
   * `V` must not itself be a promise.
   */
  getNow(key: string, read: () => Promise<V>): V | Promise<V> {
    const now = this.#now();
    let entry = this.#entries.get(key);
    if (entry?.has && now - entry.readAt < this.options.ttlMs) return entry.value as V;
    if (!entry) {
      if (this.#entries.size >= this.options.maxEntries) this.#entries.clear();
      entry = { value: undefined, has: false, readAt: 0, pending: null };
      this.#entries.set(key, entry);
    }
    const pending = entry.pending ?? this.#refresh(entry, read);
    if (entry.has && now - entry.readAt < this.options.maxStaleMs) return entry.value as V;
    return pending;
  }

  /** Forget the value of `key` (a refresh in flight for it no longer answers later requests). */
  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Forget every value (after a change made in this process, which then applies at once). */
  forget(): void {
    this.#entries.clear();
  }

  #refresh(entry: Entry<V>, read: () => Promise<V>): Promise<V> {
    const pending = read().then((value) => {
      entry.value = value;
      entry.has = true;
      entry.readAt = this.#now();
      return value;
    });
    entry.pending = pending;
    // a failed refresh is the caller's error (those waiting get it); the next get tries again
    void pending.then(
      () => (entry.pending = null),
      () => (entry.pending = null),
    );
    return pending;
  }
}
