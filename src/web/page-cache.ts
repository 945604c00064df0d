/**
 * Rendered pages as UTF-8 bytes (encoded once, written as they are), by a key that names everything the page is
 * built from. Bounded by total size; the least recently used entries go first. Keys include what identifies
 * the snapshot's content (tree id, clearance view, blob id), so a new commit never serves a stale page.
 */
export class PageCache {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  constructor(private readonly maxBytes = 48 * 1024 * 1024) {}

  get(key: string): Buffer | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: Buffer): void {
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.bytes -= old.length;
      this.entries.delete(key);
    }
    if (value.length > this.maxBytes / 8) return;
    this.entries.set(key, value);
    this.bytes += value.length;
    for (const [oldestKey, oldest] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldestKey);
      this.bytes -= oldest.length;
    }
  }

  /** Total bytes held (for tests and diagnostics). */
  get size(): number {
    return this.bytes;
  }
}
