/**
 * Results computed from immutable inputs (commit, tree and blob ids), remembered by key: what a draft changes
 * against main at two given commits never changes, so a page read again does not walk the same trees again. One
 * computation per key at a time (concurrent callers share it), at most `maxEntries` results and at most `maxWeight`
 * of their weight (`weigh`: e.g. the documents a result lists; the least recently used go first), and a failure is
 * not remembered (the next caller computes again). A computation that has not settled within `settleWithinMs` is no
 * longer shared: later callers start their own, so one stalled git process does not hold every later reader.
 */
export interface CommitMemoOptions<V> {
  maxEntries: number;
  /** The weight of a result (default 1). */
  weigh?: (value: V) => number;
  /** The most weight remembered at once (default: no bound beyond maxEntries). */
  maxWeight?: number;
  /** How long a computation in flight is shared (default 30 s). */
  settleWithinMs?: number;
}

interface Entry<V> {
  promise: Promise<V>;
  /** Counted once the result is known. */
  weight: number;
}

export class CommitMemo<V> {
  readonly #entries = new Map<string, Entry<V>>();
  readonly #options: Required<CommitMemoOptions<V>>;
  #weight = 0;

  constructor(options: CommitMemoOptions<V>) {
    if (!Number.isSafeInteger(options.maxEntries) || options.maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
    this.#options = { weigh: () => 1, maxWeight: Number.POSITIVE_INFINITY, settleWithinMs: 30_000, ...options };
  }

  get(key: string, compute: () => Promise<V>): Promise<V> {
    const known = this.#entries.get(key);
    if (known) {
      // most recently used last: Map keeps insertion order
      this.#entries.delete(key);
      this.#entries.set(key, known);
      return known.promise;
    }
    const entry: Entry<V> = { promise: compute(), weight: 0 };
    if (this.#entries.size >= this.#options.maxEntries) this.#evictOldest();
    this.#entries.set(key, entry);
    let settled = false;
    const stalled = setTimeout(() => {
      if (!settled && this.#entries.get(key) === entry) this.#entries.delete(key);
    }, this.#options.settleWithinMs);
    stalled.unref?.();
    entry.promise.then(
      (value) => {
        settled = true;
        clearTimeout(stalled);
        if (this.#entries.get(key) !== entry) return;
        entry.weight = Math.max(0, this.#options.weigh(value));
        this.#weight += entry.weight;
        while (this.#weight > this.#options.maxWeight && this.#entries.size > 1 && this.#evictOldest(key)) {
          // evicted the least recently used other result
        }
        if (this.#weight > this.#options.maxWeight) this.#delete(key);
      },
      () => {
        settled = true;
        clearTimeout(stalled);
        if (this.#entries.get(key) === entry) this.#entries.delete(key);
      },
    );
    return entry.promise;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The weight of the results remembered now. */
  get weight(): number {
    return this.#weight;
  }

  /** Forgets the least recently used result other than `keep`; false when there is none. */
  #evictOldest(keep?: string): boolean {
    for (const key of this.#entries.keys()) {
      if (key === keep) continue;
      this.#delete(key);
      return true;
    }
    return false;
  }

  #delete(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#weight -= entry.weight;
    this.#entries.delete(key);
  }
}
