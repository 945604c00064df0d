import { createHash } from 'node:crypto';

/** prev_hash of the first event of every chain. */
export const GENESIS_HASH = '0'.repeat(64);

/** The fields of an event that its hash covers, in stored (sanitized) form. */
export interface ChainedFields {
  orgId: string | null;
  /** Decimal string: bigint in the database. */
  seq: string;
  /** ISO 8601 UTC with milliseconds, as `Date.prototype.toISOString` writes it. */
  occurredAt: string;
  actorType: string;
  actorId: string | null;
  actorLabel: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  targetLabel: string | null;
  reason: string | null;
  outcome: string;
  requestId: string | null;
  ip: string | null;
  details: Record<string, string | number | boolean | null> | null;
  prevHash: string;
}

/**
 * SHA-256 (hex) over a canonical serialization: a JSON array in a fixed field order, prefixed by a version tag,
 * with details as [key, value] pairs sorted by key. JSON arrays keep order and quote every string, so two
 * different events never serialize alike. Anyone can recompute it from an exported JSON Lines file.
 */
export function eventHash(event: ChainedFields): string {
  const canonical = JSON.stringify(['docucommit-audit-v1', event.orgId, event.seq, event.occurredAt, ...describedFields(event), event.prevHash]);
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/**
 * `eventHash`'s serialization without the three fields a chain position sets (seq, occurredAt, prevHash), in the
 * two pieces around them: `opening` + `,"<seq>","<occurredAt>",` + `middle` + `,"<prevHash>"]` is the canonical
 * text `eventHash` hashes (JSON.stringify writes an array as its items joined by commas, without spaces, and a
 * decimal seq, an ISO time and a hex hash as themselves in quotes). PostgreSQL chains a batch from these pieces
 * after whatever head it finds under the chain's lock (migrations 041 and 042, `audit_append_durable`; group-commit.ts).
 */
export function eventHashPieces(event: Omit<ChainedFields, 'seq' | 'occurredAt' | 'prevHash'>): { opening: string; middle: string } {
  const opening = JSON.stringify(['docucommit-audit-v1', event.orgId]).slice(0, -1);
  const middle = JSON.stringify(describedFields(event)).slice(1, -1);
  return { opening, middle };
}

/** The fields that say what happened, in hashed order (between the chain position and prevHash), details sorted by key. */
function describedFields(event: Omit<ChainedFields, 'seq' | 'occurredAt' | 'prevHash'>): unknown[] {
  const details =
    event.details === null
      ? null
      : Object.keys(event.details)
          .sort()
          .map((key) => [key, event.details![key]]);
  return [
    event.actorType,
    event.actorId,
    event.actorLabel,
    event.action,
    event.targetType,
    event.targetId,
    event.targetLabel,
    event.reason,
    event.outcome,
    event.requestId,
    event.ip,
    details,
  ];
}

/** The canonical text of an event from its pieces and chain position (what `eventHash` hashes). */
export function canonicalFromPieces(pieces: { opening: string; middle: string }, seq: string, occurredAt: string, prevHash: string): string {
  return `${pieces.opening},"${seq}","${occurredAt}",${pieces.middle},"${prevHash}"]`;
}
