import { eventHash, GENESIS_HASH, type ChainedFields } from './hash.ts';

/** A stored event with its hash, as the chain check reads it (from the database or from an export). */
export interface CheckedEvent extends ChainedFields {
  hash: string;
}

/** Where a chain (or the part of it being checked) starts: the seq and hash of the event just before. */
export interface ChainAnchor {
  seq: bigint;
  hash: string;
}

/** The start of a chain nothing was pruned from. */
export const CHAIN_ORIGIN: ChainAnchor = { seq: 0n, hash: GENESIS_HASH };

/** The action of a retention checkpoint: `details.through_seq` and `details.through_hash` name the last pruned event. */
export const CHECKPOINT_ACTION = 'audit.pruned';

/**
 * Walks a chain event by event, pure (no I/O): each event must have the next seq, link to the previous event's
 * hash, and hash to its stored value. `audit verify` (database) and `evidence verify` (an archive, offline) use
 * this same code, so an archive is checked exactly as the server checks its log.
 */
export class ChainWalker {
  #expectedSeq: bigint;
  #prevHash: string;
  #checked = 0;
  #anchorLabel: string | null;

  constructor(anchor: ChainAnchor = CHAIN_ORIGIN, anchorLabel: string | null = null) {
    this.#expectedSeq = anchor.seq + 1n;
    this.#prevHash = anchor.hash;
    this.#anchorLabel = anchorLabel;
  }

  /** Check the next event: null when it continues the chain, else why not (the walker stays where it was). */
  next(event: CheckedEvent): string | null {
    if (BigInt(event.seq) !== this.#expectedSeq) {
      return `sequence gap: expected seq ${this.#expectedSeq}, found ${event.seq} (events missing or reordered)`;
    }
    if (event.prevHash !== this.#prevHash) {
      return this.#checked === 0 && this.#anchorLabel !== null
        ? `prev_hash does not match ${this.#anchorLabel}`
        : 'prev_hash does not match the previous event (chain relinked)';
    }
    if (eventHash(event) !== event.hash) return 'hash does not match the stored fields (event altered)';
    this.#checked++;
    this.#expectedSeq++;
    this.#prevHash = event.hash;
    return null;
  }

  get checked(): number {
    return this.#checked;
  }

  /** The last event accepted (or the anchor). */
  get head(): ChainAnchor {
    return { seq: this.#expectedSeq - 1n, hash: this.#prevHash };
  }
}

/** The last pruned event a checkpoint names, or null when the event is not a well-formed checkpoint. */
export function checkpointAnchor(event: CheckedEvent): ChainAnchor | null {
  if (event.action !== CHECKPOINT_ACTION || !event.details) return null;
  const seq = event.details.through_seq;
  const hash = event.details.through_hash;
  if (typeof seq !== 'string' || !/^[1-9][0-9]{0,18}$/.test(seq) || typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) return null;
  return { seq: BigInt(seq), hash };
}
