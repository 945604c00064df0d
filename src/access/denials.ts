/**
 * Refusals by the permission policy, recorded as `access.denied` in the audit chain of the organization whose
 * resource was asked for (checklist 14 and 15).
 *
 * Which refusals are recorded (decided by `isRecordedDenial`): a signed-in user or token was refused (404 or
 * 403) on a resource of an organization that exists, and either
 *   - they are not a member of that organization (anything they ask for there is refused by the policy), or
 *   - they are a member and the refusal is known to be the policy's: a 403 from a route handler, a
 *     `PolicyNotFoundError`, or a 404 the route marked with `notePolicyDenial` (a document hidden by its
 *     classification, a page for admins only).
 * A member's plain missing page, anonymous visitors (sent to sign in) and addresses of no organization are
 * never recorded. The event goes to the organization asked about, never to the actor's own: only that
 * organization's admins can read it, so recording it reveals nothing to the actor, and the answer they get
 * stays byte for byte the one for a thing that does not exist.
 *
 * Flooding: `DenialFloodGuard` records at most one event per actor, organization and target per minute, and
 * at most 30 per actor and organization per minute; the next recorded event carries the number left out
 * (`details.suppressed`). The guard lives in memory, per process.
 */
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { UserActor } from './actor.ts';
import { auditActorOf } from '../audit/actor.ts';
import { recordAuditEvent } from '../audit/audit-log.ts';
import type { Db } from '../db/connection.ts';
import { NotFoundError } from '../errors.ts';
import { findOrganization, isSlug } from '../organizations/organizations.ts';

/** What was asked for: a document (by path, never its title), a repository, or the address requested. */
export interface DenialTarget {
  type: string;
  id: string;
  label?: string | null;
}

/**
 * A 404 that the permission policy decided (a document the actor may not read), as opposed to one for a thing
 * that does not exist. It answers exactly like NotFoundError; the error handler also records `access.denied`.
 */
export class PolicyNotFoundError extends NotFoundError {
  constructor(readonly target?: DenialTarget) {
    super();
  }
}

/** A route's note that the 404 or 403 it is about to send is the policy's decision (see `notePolicyDenial`). */
export interface DenialNote {
  orgId?: string;
  target?: DenialTarget;
}

const notes = new WeakMap<FastifyRequest, DenialNote>();

/** Mark this request's coming refusal as the permission policy's, so the one 404/403 answer is also audited. */
export function notePolicyDenial(request: FastifyRequest, note: DenialNote = {}): void {
  notes.set(request, note);
}

/** The note a route left with `notePolicyDenial`, if any. */
export function policyDenialNote(request: FastifyRequest): DenialNote | undefined {
  return notes.get(request);
}

/** Whether a refusal is recorded: see the module comment. */
function isRecordedDenial(actor: UserActor, orgId: string, byPolicy: boolean): boolean {
  return !actor.memberships.has(orgId) || byPolicy;
}

const TARGET_WINDOW_MS = 60_000;
const ACTOR_WINDOW_MS = 60_000;
const ACTOR_LIMIT = 30;
const MAX_KEYS = 10_000;

/** In-memory limit on `access.denied` events per actor: see the module comment. */
export class DenialFloodGuard {
  readonly #targets = new Map<string, number>();
  readonly #actors = new Map<string, { windowStart: number; count: number; suppressed: number }>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly limits = { targetWindowMs: TARGET_WINDOW_MS, actorWindowMs: ACTOR_WINDOW_MS, actorLimit: ACTOR_LIMIT },
  ) {}

  /** Whether to record this refusal; when yes, how many refusals of this actor in this organization were left out since the last one recorded. */
  admit(actorKey: string, orgId: string, targetId: string): { record: boolean; suppressed: number } {
    const now = this.now();
    this.#prune(now);
    const actorOrg = `${actorKey}\0${orgId}`;
    let window = this.#actors.get(actorOrg);
    if (!window || now - window.windowStart >= this.limits.actorWindowMs) {
      window = { windowStart: now, count: 0, suppressed: window?.suppressed ?? 0 };
      this.#actors.set(actorOrg, window);
    }
    const targetKey = `${actorOrg}\0${targetId}`;
    const last = this.#targets.get(targetKey);
    if ((last !== undefined && now - last < this.limits.targetWindowMs) || window.count >= this.limits.actorLimit) {
      window.suppressed++;
      return { record: false, suppressed: 0 };
    }
    this.#targets.set(targetKey, now);
    window.count++;
    const suppressed = window.suppressed;
    window.suppressed = 0;
    return { record: true, suppressed };
  }

  #prune(now: number): void {
    if (this.#targets.size < MAX_KEYS && this.#actors.size < MAX_KEYS) return;
    for (const [key, at] of this.#targets) if (now - at >= this.limits.targetWindowMs) this.#targets.delete(key);
    for (const [key, w] of this.#actors) if (now - w.windowStart >= this.limits.actorWindowMs) this.#actors.delete(key);
    // Still full (one actor spraying from many keys inside one window): forget rather than grow without bound.
    if (this.#targets.size >= MAX_KEYS) this.#targets.clear();
    if (this.#actors.size >= MAX_KEYS) this.#actors.clear();
  }
}

/** One guard per process: every app in it shares the limit. */
const processGuard = new DenialFloodGuard();


export interface DeniedAccess {
  actor: UserActor;
  orgId: string;
  target: DenialTarget;
  status: 403 | 404;
  method: string;
  requestId: string;
  ip: string;
}

/**
 * Append `access.denied` to the organization's chain, unless the flood guard leaves it out. Returns whether an
 * event was written. The caller has already decided that the refusal is recorded (`isRecordedDenial`).
 */
async function recordAccessDenied(db: Db, denial: DeniedAccess, admitted: (actorKey: string) => { record: boolean; suppressed: number }): Promise<boolean> {
  const actor = auditActorOf(denial.actor);
  const { record, suppressed } = admitted(`${actor.type}:${actor.id}`);
  if (!record) return false;
  const member = denial.actor.memberships.has(denial.orgId);
  await recordAuditEvent(db, {
    orgId: denial.orgId,
    actor,
    action: 'access.denied',
    target: { type: denial.target.type, id: denial.target.id, label: denial.target.label ?? null },
    reason: member ? 'the role does not allow this' : 'not a member of this organization',
    outcome: 'denied',
    requestId: denial.requestId,
    ip: denial.ip,
    details: { status: denial.status, method: denial.method, ...(suppressed > 0 ? { suppressed } : {}) },
  });
  return true;
}

/** A refusal as the web layer knows it: the organization by id, or by the slug in the URL. */
export type Refusal = Omit<DeniedAccess, 'orgId'> & { org: { id: string } | { slug: string }; byPolicy: boolean };

/** Writes of `access.denied` started and not yet finished, in this process. */
const pending = new Set<Promise<void>>();
/**
 * The last write queued: writes run one after another, in the order the refusals happened, so the flood guard
 * admits them in that order (which refusal is left out, and which later event counts it) whatever the timing of
 * each write's own lookups.
 */
let queue: Promise<void> = Promise.resolve();
/** Attempts at writing one event, and the pause before each retry. */
const RETRY_DELAYS_MS = [0, 100, 500];

/**
 * Record a refusal when the rule above says so (a slug of no organization records nothing), off the reply
 * path: this returns at once and the event is written while (or after) the answer is sent, so a refusal that
 * is recorded and one that is not (a hidden document and a missing one) do the same work before replying and
 * take the same time. Never throws: a write that fails is tried twice more, then logged; nothing is granted
 * either way. `refusalsRecorded` waits for the writes in flight (the app does before it closes).
 */
export function auditRefusal(db: Db, log: FastifyBaseLogger, refusal: Refusal): void {
  const write = queue.then(() => recordRefusal(db, log, refusal)).finally(() => pending.delete(write));
  queue = write;
  pending.add(write);
}

/** Resolves when every `access.denied` write started so far in this process has finished (or given up). */
export async function refusalsRecorded(): Promise<void> {
  while (pending.size > 0) await Promise.allSettled([...pending]);
}

async function recordRefusal(db: Db, log: FastifyBaseLogger, refusal: Refusal): Promise<void> {
  const { org, byPolicy, ...denial } = refusal;
  // the flood guard is asked once; a retry writes the event it admitted
  let admission: { record: boolean; suppressed: number } | null = null;
  for (const [attempt, delay] of RETRY_DELAYS_MS.entries()) {
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    try {
      const orgId = 'id' in org ? org.id : isSlug(org.slug) ? (await findOrganization(db, org.slug))?.id : undefined;
      if (orgId === undefined || !isRecordedDenial(denial.actor, orgId, byPolicy)) return;
      await recordAccessDenied(db, { ...denial, orgId }, (actorKey) => (admission ??= processGuard.admit(actorKey, orgId, denial.target.id)));
      return;
    } catch (failure) {
      if (attempt === RETRY_DELAYS_MS.length - 1) log.error({ err: failure, requestId: denial.requestId }, 'recording access.denied failed');
    }
  }
}

/** The address a request asked for, without its query string (which may carry anything the client typed). */
export function requestedPath(request: FastifyRequest): DenialTarget {
  const path = request.url.split('?')[0]!.slice(0, 400);
  return { type: 'path', id: path };
}
