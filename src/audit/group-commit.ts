import { sql, type Kysely } from 'kysely';
import { applicationUrlOf, withAuditChain } from '../db/connection.ts';
import type { Database } from '../db/schema.ts';
import {
  appendToChain,
  chainEvents,
  CHAIN_START,
  normalizeEvent,
  type AuditEventInput,
  type ChainPosition,
  type PendingEvent,
} from './audit-log.ts';
import { eventHashPieces } from './hash.ts';

/** Most events one transaction appends; a longer queue is written in several. */
const MAX_BATCH = 500;
/** Tries at appending after a guessed head before taking the chain's lock for the whole append. */
const OPTIMISTIC_TRIES = 3;

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
 * A batch is one statement (migration 019's `audit_append_batch`), so one round trip and one commit: the writer
 * chains the events after the head it expects (the one it wrote last; the first time, an empty chain) and the
 * database appends them only if that is still the head, under the chain's lock. When another writer appended
 * meanwhile, nothing is written and the answer names the actual head, after which the batch is chained again.
 *
 * On a PostgreSQL server (`chainInDatabase`) several server processes share a chain, and their writers' guesses of
 * the head kept missing each other's batches, while every batch held the chain's lock until its commit was on
 * disk: one fsync at a time per chain. There a batch is one `CALL audit_append_durable` (migration 041): the
 * database chains the events after the head it finds under the lock (from the pieces of each event's hashed text,
 * so the hashes are those `eventHash` computes), commits without waiting for the disk, which releases the lock,
 * and then waits until the log is flushed past that commit. One round trip, no misses, and the flushes of
 * batches of one chain from several processes overlap (PostgreSQL serves concurrent flushes with one fsync).
 *
 * The chain is exactly the one `recordAuditEvent` writes (same lock, same hash, same rows), so several
 * processes, and writers that append inside their own transactions, interleave safely.
 */
export class AuditGroupCommit {
  readonly #db: Kysely<Database>;
  readonly #queues = new Map<string, Waiting[]>();
  readonly #writing = new Set<string>();
  /** The head of each chain as this writer last saw it: a guess, checked by the database on every append. */
  readonly #heads = new Map<string, ChainPosition>();
  /**
   * Transactions and events written; batches refused because another writer had moved the chain (writer-chained
   * batches only), for tests and profiles.
   */
  readonly stats = { batches: 0, events: 0, misses: 0 };

  readonly #optimisticTries: number;
  readonly #chainInDatabase: boolean;

  /**
   * `optimisticTries`: appends after a guessed head before taking the lock for the whole append (tests set 0).
   * `chainInDatabase`: batches chained and flushed by `audit_append_durable` (default: on a PostgreSQL server;
   * the embedded database has one session and one process, and its writer knows the head).
   */
  constructor(db: Kysely<Database>, options: { optimisticTries?: number; chainInDatabase?: boolean } = {}) {
    if (db.isTransaction) throw new Error('audit: the group commit appends in transactions of its own');
    this.#db = db;
    this.#optimisticTries = options.optimisticTries ?? OPTIMISTIC_TRIES;
    this.#chainInDatabase = options.chainInDatabase ?? applicationUrlOf(db) !== null;
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
        try {
          await this.#write(chain, batch.map((w) => w.event));
          this.stats.batches += 1;
          this.stats.events += batch.length;
          for (const waiting of batch) waiting.resolve();
        } catch (error) {
          this.#heads.delete(chain);
          for (const waiting of batch) waiting.reject(error);
        }
      }
    } finally {
      this.#writing.delete(chain);
      if (this.#queues.get(chain)?.length === 0) this.#queues.delete(chain);
    }
  }

  /** Append `events` of one chain in one statement, chained again after the actual head as long as it moves. */
  async #write(chain: string, events: PendingEvent[]): Promise<void> {
    const orgId = events[0]!.orgId;
    if (this.#chainInDatabase) return this.#appendDurable(events);
    for (let attempt = 0; attempt < this.#optimisticTries; attempt++) {
      const expected = this.#heads.get(chain) ?? CHAIN_START;
      const { rows, head } = chainEvents(events, expected, new Date().toISOString());
      const answer = (
        await sql<{ appended: boolean; head_seq: string; head_hash: string }>`
          select appended, head_seq, head_hash
          from audit_append_batch(${orgId}, ${String(expected.seq)}, ${expected.hash}, ${JSON.stringify(rows)}::jsonb)`.execute(this.#db)
      ).rows[0]!;
      if (answer.appended) {
        this.#heads.set(chain, head);
        return;
      }
      this.stats.misses += 1;
      this.#heads.set(chain, { seq: BigInt(answer.head_seq), hash: answer.head_hash });
    }
    // The chain keeps moving under other writers: append the way they do, holding the lock from the head's read.
    this.#heads.delete(chain);
    await withAuditChain(this.#db, orgId, (trx) => appendToChain(trx, events));
  }

  /**
   * One CALL: the database chains the batch after the chain's head, commits, and returns once the commit is on
   * disk (migration 041). The writer sends each event's hashed text in two pieces around what the chain sets.
   */
  async #appendDurable(events: PendingEvent[]): Promise<void> {
    const input = durableBatchInput(events);
    await sql`call audit_append_durable(${events[0]!.orgId}, ${new Date().toISOString()}, ${JSON.stringify(input)}::jsonb)`.execute(this.#db);
  }
}

/** The rows `audit_append_durable` takes (migration 041): each event's hashed text in two pieces, and its fields. */
export function durableBatchInput(events: PendingEvent[]) {
  return events.map((event, index) => ({
    ord: index + 1,
    ...eventHashPieces(event),
    actor_type: event.actorType,
    actor_id: event.actorId,
    actor_label: event.actorLabel,
    action: event.action,
    target_type: event.targetType,
    target_id: event.targetId,
    target_label: event.targetLabel,
    reason: event.reason,
    outcome: event.outcome,
    request_id: event.requestId,
    ip: event.ip,
    details: event.details,
  }));
}
