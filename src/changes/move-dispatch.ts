/**
 * Hands recorded branch moves to the registered listeners (branch-moved.ts), from the durable record
 * (move-store.ts): right after a move is published, and again later for any delivery that failed or whose
 * process died before finishing it (a lease that ran out). Delivery never runs on the request's path: a publish
 * is not delayed by a slow listener and not undone by a failing one.
 */
import type { Db } from '../db/connection.ts';
import type { BranchMoveListener } from './branch-moved.ts';
import { claimDeliveries, loadMove, markDelivered, markFailed, type ClaimedDelivery } from './move-store.ts';

/** How long a claimed delivery is held before another process may take it over. */
const LEASE_SECONDS = 120;
/** Deliveries claimed per round of the retry loop. */
const BATCH = 50;
/** Backoff after the n-th failed attempt: 5 s, 10 s, 20 s ... up to an hour. */
export const retryDelaySeconds = (attempts: number): number => Math.min(3600, 5 * 2 ** Math.max(0, attempts - 1));

export interface MoveLogger {
  error(details: object, message: string): void;
}

/** A logger that writes one JSON line to stderr (the server replaces it with its own). */
const stderrLogger: MoveLogger = {
  error(details, message) {
    process.stderr.write(`${JSON.stringify({ level: 'error', msg: message, ...details })}\n`);
  },
};

export class MoveDispatcher {
  readonly #listeners = new Map<string, BranchMoveListener>();
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | null = null;
  logger: MoveLogger = stderrLogger;

  constructor(private readonly db: Db) {}

  listen(listener: BranchMoveListener): void {
    if (!/^[a-z][a-z0-9._-]{0,62}$/.test(listener.name)) throw new Error(`invalid branch-move listener name ${JSON.stringify(listener.name)}`);
    if (this.#listeners.has(listener.name)) throw new Error(`branch-move listener ${listener.name} is registered twice`);
    this.#listeners.set(listener.name, listener);
  }

  /** Names of the registered listeners: a recorded move gets one delivery for each. */
  get names(): string[] {
    return [...this.#listeners.keys()];
  }

  /** Delivers the given moves now, without waiting (see `idle`). */
  deliverSoon(moveIds: readonly string[]): void {
    if (moveIds.length === 0 || this.#listeners.size === 0) return;
    this.#track(this.#deliver(moveIds));
  }

  /** Delivers every delivery that is due (failed earlier, or left by a process that died); resolves when done. */
  async deliverDue(): Promise<number> {
    let handled = 0;
    for (;;) {
      const claimed = await claimDeliveries(this.db, null, this.names, BATCH, LEASE_SECONDS);
      for (const delivery of claimed) await this.#handle(delivery);
      handled += claimed.length;
      if (claimed.length < BATCH) return handled;
    }
  }

  /** Retries due deliveries every `intervalMs` until `stop` (the server starts this; the timer does not hold the process). */
  start(intervalMs = 5000): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      this.#track(this.deliverDue().then(() => undefined));
    }, intervalMs);
    this.#timer.unref();
  }

  /** Stops the retry loop and waits for deliveries in flight. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.idle();
  }

  /** Resolves when no delivery is in flight (tests: after a save, before looking at what listeners did). */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  #track(work: Promise<void>): void {
    const tracked = work.catch((error: unknown) => this.logger.error({ err: describe(error) }, 'branch-move delivery failed'));
    this.#inFlight.add(tracked);
    void tracked.finally(() => this.#inFlight.delete(tracked));
  }

  async #deliver(moveIds: readonly string[]): Promise<void> {
    const claimed = await claimDeliveries(this.db, moveIds, this.names, moveIds.length * this.#listeners.size, LEASE_SECONDS);
    for (const delivery of claimed) await this.#handle(delivery);
  }

  async #handle(delivery: ClaimedDelivery): Promise<void> {
    const listener = this.#listeners.get(delivery.listener);
    if (!listener) return;
    const event = await loadMove(this.db, delivery.orgId, delivery.moveId);
    if (!event) return;
    try {
      await listener.handle(event);
    } catch (error) {
      this.logger.error({ listener: listener.name, move: event.id, attempts: delivery.attempts, err: describe(error) }, 'branch-move listener failed; it will be retried');
      await markFailed(this.db, delivery, describe(error), retryDelaySeconds(delivery.attempts));
      return;
    }
    await markDelivered(this.db, delivery);
  }
}

/** An error's class and message, short: never a stack with arguments or document text beyond the message. */
function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 300) : 'unknown error';
}
