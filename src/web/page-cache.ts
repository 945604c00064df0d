/**
 * Rendered pages as UTF-8 bytes (encoded once, written as they are), by a key that names everything the page is
 * built from. Bounded by total size; the least recently used entries go first. Keys include what identifies
 * the snapshot's content (tree id, clearance view, blob id), so a new commit never serves a stale page.
 *
 * Recency is approximate, and cheap on the hot path: a hit moves its entry to the young end only when the entry
 * has aged into the older half (by insertions and moves since it was last placed); a hit on a young entry is a
 * plain Map lookup. An entry read at least once per half a cache's turnover is never evicted.
 */
export class PageCache<V = Buffer> {
  private readonly entries = new Map<string, { value: V; placed: number }>();
  private bytes = 0;
  /** Insertions and moves so far: an entry's age is `clock - placed`. */
  private clock = 0;

  constructor(
    private readonly maxBytes = 48 * 1024 * 1024,
    private readonly sizeOf: (value: V) => number = (value) => (value as unknown as Buffer).length,
  ) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (this.clock - entry.placed > this.entries.size >> 1) {
      this.entries.delete(key);
      entry.placed = ++this.clock;
      this.entries.set(key, entry);
    }
    return entry.value;
  }

  set(key: string, value: V): void {
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.bytes -= this.sizeOf(old.value);
      this.entries.delete(key);
    }
    const size = this.sizeOf(value);
    if (size > this.maxBytes / 8) return;
    this.entries.set(key, { value, placed: ++this.clock });
    this.bytes += size;
    for (const [oldestKey, oldest] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldestKey);
      this.bytes -= this.sizeOf(oldest.value);
    }
  }

  /** Total bytes held (for tests and diagnostics). */
  get size(): number {
    return this.bytes;
  }
}
