import { createHash, randomBytes } from 'node:crypto';
import type { Actor, UserActor } from '../access/actor.ts';
import { sql } from 'kysely';
import { withUser, type Db } from '../db/connection.ts';
import type { SessionPending } from '../db/schema.ts';
import { SINGLE_PROCESS, type ProcessBus, type ConfirmedMessage } from '../cluster/process-bus.ts';

import {
  READER_SESSION_ABSOLUTE_MS,
  READER_SESSION_IDLE_MS,
  SESSION_ABSOLUTE_MS,
  SESSION_IDLE_MS,
  sessionLimitsFor,
  type SessionLimitSource,
} from '../access/account-policy.ts';

// Session lifetimes by role are policy (access/account-policy.ts); re-exported for the modules that size sessions.
export { READER_SESSION_ABSOLUTE_MS, READER_SESSION_IDLE_MS, SESSION_ABSOLUTE_MS, SESSION_IDLE_MS, sessionLimitsFor, type SessionLimitSource };

/** A session waiting for a second factor or an enrollment lives at most this long. */
export const PENDING_SESSION_MS = 10 * 60 * 1000;

/** last_seen_at is written at most this often, to keep reads cheap. */
const TOUCH_INTERVAL_MS = 60 * 1000;
/** How long a looked-up session is trusted from memory before the database is asked again. */
const CACHE_TTL_MS = 5 * 1000;

export interface Session {
  idHash: string;
  actor: UserActor;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  /** Idle timeout of this session. */
  idleMs: number;
  /** Non-null: the password was accepted but this session grants nothing until the second factor is done. */
  pending: SessionPending | null;
  /** When the user last proved their password (and TOTP) again in this session. */
  reauthenticatedAt: number | null;
}

const sha256 = (id: string): string => createHash('sha256').update(id).digest('base64url');

/**
 * Hashes of cookie values seen lately (a SHA-256 per signed-in request was ~4 % of its CPU). Only a value's hash
 * comes out of it, never a session: what a hash grants is decided by the session store as before. Bounded: emptied
 * when full.
 */
const recentHashes = new Map<string, string>();
const RECENT_HASHES_MAX = 10_000;

function hashId(id: string): string {
  let hash = recentHashes.get(id);
  if (hash === undefined) {
    hash = sha256(id);
    if (recentHashes.size >= RECENT_HASHES_MAX) recentHashes.clear();
    recentHashes.set(id, hash);
  }
  return hash;
}

/** Server-side sessions: random 256-bit ids given to the browser, only their hashes stored. */
export class SessionStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
    private readonly cache = new Map<string, { session: Session; checkedAt: number }>(),
    /** Tells the other processes of the database which user's sessions to forget (cluster/process-bus.ts). */
    private readonly bus: ProcessBus = SINGLE_PROCESS,
    /** Bumped by every forget (shared with `in`): a load begun before it neither answers later requests nor is remembered. */
    private readonly forgets = { count: 0 },
  ) {}

  /**
   * Loads in flight, by id hash: the requests of one session that find its remembered entry expired share one
   * read instead of each queueing its own (32 at once under load, each a query and a transaction). Not shared
   * with `in`: a transaction's reads are its own.
   */
  readonly #loading = new Map<string, { forgets: number; loaded: Promise<Session | null> }>();

  /**
   * The same store working inside a transaction: its writes commit or roll back with the caller's (a password
   * change ends the other sessions in the transaction that changes the password). It shares this store's memory.
   */
  in(trx: Db): SessionStore {
    return new SessionStore(trx, this.now, this.cache, this.bus, this.forgets);
  }

  /**
   * Start a session for a user; returns the id for the cookie (never stored or logged). A `pending` session
   * (second factor or enrollment outstanding) is never returned by `lookup`, so it signs nobody in.
   * Its lifetime follows the user's roles and organizations (sessionLimitsFor).
   */
  async create(
    userId: string,
    options: { pending?: SessionPending | null; reauthenticated?: boolean } = {},
  ): Promise<{ id: string; session: Session }> {
    const id = randomBytes(32).toString('base64url');
    const now = this.now();
    const idHash = hashId(id);
    const pending = options.pending ?? null;
    const limits = pending ? { idleMs: PENDING_SESSION_MS, absoluteMs: PENDING_SESSION_MS } : await this.limitsFor(userId);
    await this.db
      .insertInto('sessions')
      .values({
        id_hash: idHash,
        user_id: userId,
        created_at: new Date(now),
        last_seen_at: new Date(now),
        expires_at: new Date(now + limits.absoluteMs),
        pending,
        reauthenticated_at: options.reauthenticated ? new Date(now) : null,
        idle_seconds: Math.round(limits.idleMs / 1000),
      })
      .execute();
    const session = await this.find(id);
    if (!session) throw new Error('session vanished right after creation');
    return { id, session };
  }

  /** The live, fully signed-in session for a cookie value, or null (pending, expired, idle, revoked, disabled). */
  async lookup(id: string): Promise<Session | null> {
    const session = await this.find(id);
    return session && session.pending === null ? session : null;
  }

  /**
   * The live, fully signed-in session for a cookie value when this process remembers it and `lookup` would answer
   * it without any database work (checked within the last few seconds, not expired, not idle, no `last_seen_at` due);
   * undefined otherwise: then `lookup` answers. Synchronous, for the hook every request runs.
   */
  peek(id: string): Session | undefined {
    if (id.length < 20 || id.length > 100) return undefined;
    const entry = this.cache.get(hashId(id));
    if (entry === undefined) return undefined;
    const now = this.now();
    const session = entry.session;
    if (now - entry.checkedAt >= CACHE_TTL_MS || session.pending !== null) return undefined;
    if (now >= session.expiresAt || now - session.lastSeenAt >= session.idleMs || now - session.lastSeenAt >= TOUCH_INTERVAL_MS) return undefined;
    return session;
  }

  /** The live session for a cookie value only if it is waiting for a second factor or an enrollment. */
  async lookupPending(id: string): Promise<Session | null> {
    const session = await this.find(id);
    return session && session.pending !== null ? session : null;
  }

  /** Record that the user just proved their password (and TOTP when enrolled) again. */
  async markReauthenticated(session: Session): Promise<void> {
    const now = this.now();
    await this.db
      .updateTable('sessions')
      .set({ reauthenticated_at: new Date(now) })
      .where('id_hash', '=', session.idHash)
      .execute();
    session.reauthenticatedAt = now;
    const cached = this.cache.get(session.idHash);
    if (cached) cached.session.reauthenticatedAt = now;
  }

  /** How long a new full session of this user may live, from its memberships. */
  async limitsFor(userId: string): Promise<{ idleMs: number; absoluteMs: number }> {
    const rows = await withUser(this.db, userId, (trx) =>
      trx
        .selectFrom('memberships')
        .innerJoin('organizations', 'organizations.id', 'memberships.org_id')
        .select(['memberships.role', 'organizations.session_idle_minutes', 'organizations.session_absolute_minutes'])
        .where('memberships.user_id', '=', userId)
        .execute(),
    );
    return sessionLimitsFor(
      rows.map((r) => ({ role: r.role, idleMinutes: r.session_idle_minutes, absoluteMinutes: r.session_absolute_minutes })),
    );
  }

  private async find(id: string): Promise<Session | null> {
    if (id.length < 20 || id.length > 100) return null;
    const idHash = hashId(id);
    const now = this.now();
    let entry = this.cache.get(idHash);
    if (!entry || now - entry.checkedAt >= CACHE_TTL_MS) {
      const loaded = await this.#shareLoad(idHash, now);
      if (!loaded) return null;
      entry = loaded;
    }
    const session = entry.session;
    if (now >= session.expiresAt || now - session.lastSeenAt >= session.idleMs) {
      // every process ends a session that has run out by itself: no request waits for the others' confirmation
      await this.#end(idHash, false);
      return null;
    }
    if (now - session.lastSeenAt >= TOUCH_INTERVAL_MS) {
      session.lastSeenAt = now;
      await this.db
        .updateTable('sessions')
        .set({ last_seen_at: new Date(now) })
        .where('id_hash', '=', idHash)
        .execute();
    }
    return session;
  }

  /** Read a session (one read per id hash at a time) and remember it, unless something was forgotten meanwhile. */
  #shareLoad(idHash: string, now: number): Promise<{ session: Session; checkedAt: number } | null> {
    const forgets = this.forgets.count;
    let inFlight = this.#loading.get(idHash);
    if (!inFlight || inFlight.forgets !== forgets) {
      const loaded = this.load(idHash);
      const current = { forgets, loaded };
      inFlight = current;
      this.#loading.set(idHash, current);
      const done = () => {
        if (this.#loading.get(idHash) === current) this.#loading.delete(idHash);
      };
      loaded.then(done, done);
    }
    return inFlight.loaded.then((session) => {
      if (!session) {
        if (this.forgets.count === forgets) this.cache.delete(idHash);
        return null;
      }
      const cached = this.cache.get(idHash);
      // another request of this load already remembered it: share that entry (and its session object)
      if (cached?.session === session) return cached;
      const entry = { session, checkedAt: now };
      if (this.forgets.count === forgets) this.cache.set(idHash, entry);
      return entry;
    });
  }

  /** End a session on the server. */
  async destroy(id: string): Promise<void> {
    await this.#end(hashId(id), true);
  }

  /** Delete a session; the other processes forget it, `confirmed`: before this resolves (see `#tellOthers`). */
  async #end(idHash: string, confirmed: boolean): Promise<void> {
    this.forgets.count += 1;
    this.cache.delete(idHash);
    const ended = await this.db.deleteFrom('sessions').where('id_hash', '=', idHash).returning('user_id').executeTakeFirst();
    if (!ended) return;
    if (confirmed) await this.#tellOthers({ t: 'user', u: ended.user_id });
    else if (this.bus.shared) await this.bus.send(this.db, { t: 'user', u: ended.user_id });
  }

  /**
   * Forget what every process remembers about a user's sessions, so a role change, removal or disabled account
   * applies at once: this process now, the others when the change commits (inside a transaction) or now.
   */
  async invalidateUser(userId: string): Promise<void> {
    this.dropUser(userId);
    await this.#tellOthers({ t: 'user', u: userId });
  }

  /** Forget every remembered session in every process, so changes made outside a request (a command) apply at once. */
  async forgetAll(): Promise<void> {
    this.dropAll();
    await this.#tellOthers({ t: 'all' });
  }

  /** An organization's settings changed (session limits, image hosts): every other process forgets what depends on them. */
  async organizationChanged(orgId: string): Promise<void> {
    await this.#tellOthers({ t: 'org', o: orgId });
  }

  /** This process only: forget a user's remembered sessions (another process told us). */
  dropUser(userId: string): void {
    this.forgets.count += 1;
    for (const [key, entry] of this.cache) if (entry.session.actor.userId === userId) this.cache.delete(key);
  }

  /** This process only: forget every remembered session. */
  dropAll(): void {
    this.forgets.count += 1;
    this.cache.clear();
  }

  /** End every session of a user (disabled or removed accounts). */
  async destroyAllFor(userId: string): Promise<void> {
    this.dropUser(userId);
    await this.db.deleteFrom('sessions').where('user_id', '=', userId).execute();
    await this.#tellOthers({ t: 'user', u: userId });
  }

  /** Every other process forgets too, before this resolves (process-bus.ts, `sendConfirmed`). */
  async #tellOthers(message: ConfirmedMessage): Promise<void> {
    if (this.bus.shared) await this.bus.sendConfirmed(this.db, message);
  }

  /** A user's live sessions (not expired, not idle), most recently used first. */
  async listFor(userId: string): Promise<{ idHash: string; createdAt: number; lastSeenAt: number; expiresAt: number }[]> {
    const now = this.now();
    const rows = await this.db
      .selectFrom('sessions')
      .select(['id_hash', 'created_at', 'last_seen_at', 'expires_at'])
      .where('user_id', '=', userId)
      .where('expires_at', '>', new Date(now))
      // Each session has its own idle timeout (sessionLimitsFor); sessions still waiting for MFA are not listed.
      .where(sql<boolean>`last_seen_at > ${new Date(now)}::timestamptz - make_interval(secs => coalesce(idle_seconds, ${SESSION_IDLE_MS / 1000}))`)
      .where('pending', 'is', null)
      .orderBy('last_seen_at', 'desc')
      .orderBy('id_hash')
      .execute();
    return rows.map((r) => ({
      idHash: r.id_hash,
      createdAt: new Date(r.created_at).getTime(),
      lastSeenAt: new Date(r.last_seen_at).getTime(),
      expiresAt: new Date(r.expires_at).getTime(),
    }));
  }

  /** End one of a user's own sessions by its hash; false when the user has no such session. */
  async revoke(idHash: string, userId: string): Promise<boolean> {
    this.forgets.count += 1;
    this.cache.delete(idHash);
    const result = await this.db
      .deleteFrom('sessions')
      .where('id_hash', '=', idHash)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    const ended = result.numDeletedRows > 0n;
    if (ended) await this.#tellOthers({ t: 'user', u: userId });
    return ended;
  }

  private async load(idHash: string): Promise<Session | null> {
    const row = await this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select([
        'sessions.created_at',
        'sessions.last_seen_at',
        'sessions.expires_at',
        'sessions.pending',
        'sessions.reauthenticated_at',
        'sessions.idle_seconds',
        'users.id as user_id',
        'users.email',
        'users.name',
        'users.disabled_at',
      ])
      .where('sessions.id_hash', '=', idHash)
      .executeTakeFirst();
    if (!row || row.disabled_at) return null;
    const memberships = await withUser(this.db, row.user_id, (trx) =>
      // an organization scheduled for deletion is closed to its members (organizations/deletion.ts)
      trx
        .selectFrom('memberships')
        .innerJoin('organizations', 'organizations.id', 'memberships.org_id')
        .select(['memberships.org_id', 'memberships.role'])
        .where('memberships.user_id', '=', row.user_id)
        .where('organizations.deletion_requested_at', 'is', null)
        .execute(),
    );
    return {
      idHash,
      actor: {
        kind: 'user',
        userId: row.user_id,
        email: row.email,
        name: row.name,
        memberships: new Map(memberships.map((m) => [m.org_id, m.role])),
      },
      createdAt: new Date(row.created_at).getTime(),
      lastSeenAt: new Date(row.last_seen_at).getTime(),
      expiresAt: new Date(row.expires_at).getTime(),
      idleMs: row.idle_seconds !== null ? row.idle_seconds * 1000 : SESSION_IDLE_MS,
      pending: row.pending,
      reauthenticatedAt: row.reauthenticated_at ? new Date(row.reauthenticated_at).getTime() : null,
    };
  }
}

export type { Actor };
