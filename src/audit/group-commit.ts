import type { Kysely } from 'kysely';
import { withAuditChain } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
import { appendToChain, normalizeEvent, type AuditEventInput, type PendingEvent } from './audit-log.ts';

/** Most events one transaction appends; a longer queue is written in several. */
const MAX_BATCH = 500;

interface Waiting {
  event: PendingEvent;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Group commit for events that change nothing else (the read of a confidential or restricted document).
 *
 * Each such event used to be a transaction of its own: a lock on the organization's chain, a read of its head,
 * an insert and a flushed commit, one after another for every reader of the organization. Here one writer per
 * chain takes every event waiting for that chain, chains them in memory and appends them in one transaction;
 * events that arrive meanwhile wait for the next one, so a batch forms by itself while the previous one is
 * being flushed, and a lone event waits for nothing. `append` resolves only when the transaction holding its
 * event has committed: a caller that sends a page after it never sends one whose event could still be lost.
 *
 * The chain is exactly the one `recordAuditEvent` writes (same lock, same hash, same rows), so several
 * processes, and writers that append inside their own transactions, interleave safely.
 */
export class AuditGroupCommit {
  readonly #db: Kysely<Database>;
  readonly #queues = new Map<string, Waiting[]>();
  readonly #writing = new Set<string>();
  /** Transactions and events written, for the benchmark. */
  readonly stats = { batches: 0, events: 0 };

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Append one event; resolves once it is durable, rejects if its transaction failed. */
  append(input: AuditEventInput): Promise<void> {
    const event = normalizeEvent(input);
    const chain = event.orgId ?? '';
    return new Promise((resolve, reject) => {
      let queue = this.#queues.get(chain);
      if (!queue) this.#queues.set(chain, (queue = []));
      queue.push({ event, resolve, reject });
      if (!this.#writing.has(chain)) void this.#drain(chain);
    });
  }

  /** Write the chain's queue in batches until it is empty. */
  async #drain(chain: string): Promise<void> {
    this.#writing.add(chain);
    try {
      // Events of requests handled in this turn of the event loop join the first batch.
      await new Promise<void>((resolve) => setImmediate(resolve));
      for (;;) {
        const queue = this.#queues.get(chain);
        if (!queue || queue.length === 0) break;
        const batch = queue.splice(0, MAX_BATCH);
        const orgId = batch[0]!.event.orgId;
        try {
          await withAuditChain(this.#db, orgId, (trx) => appendToChain(trx, batch.map((w) => w.event)));
          this.stats.batches += 1;
          this.stats.events += batch.length;
          for (const waiting of batch) waiting.resolve();
        } catch (error) {
          for (const waiting of batch) waiting.reject(error);
        }
      }
    } finally {
      this.#writing.delete(chain);
      if (this.#queues.get(chain)?.length === 0) this.#queues.delete(chain);
    }
  }
}
