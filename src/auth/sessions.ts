import { createHash, randomBytes } from 'node:crypto';
import type { Actor, UserActor } from '../access/actor.ts';
import type { Db } from '../db/connection.ts';
import type { Role } from '../db/schema.ts';

/** Session lifetimes: idle timeout and absolute lifetime. */
export const SESSION_IDLE_MS = 60 * 60 * 1000;
export const SESSION_ABSOLUTE_MS = 12 * 60 * 60 * 1000;
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
}

const hashId = (id: string): string => createHash('sha256').update(id).digest('base64url');

/** Server-side sessions: random 256-bit ids given to the browser, only their hashes stored. */
export class SessionStore {
  private readonly cache = new Map<string, { session: Session; checkedAt: number }>();

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  /** Start a session for a user; returns the id for the cookie (never stored or logged). */
  async create(userId: string): Promise<{ id: string; session: Session }> {
    const id = randomBytes(32).toString('base64url');
    const now = this.now();
    const idHash = hashId(id);
    await this.db
      .insertInto('sessions')
      .values({
        id_hash: idHash,
        user_id: userId,
        created_at: new Date(now),
        last_seen_at: new Date(now),
        expires_at: new Date(now + SESSION_ABSOLUTE_MS),
      })
      .execute();
    const session = await this.lookup(id);
    if (!session) throw new Error('session vanished right after creation');
    return { id, session };
  }

  /** The live session for a cookie value, or null (expired, idle, revoked, or user disabled). */
  async lookup(id: string): Promise<Session | null> {
    if (id.length < 20 || id.length > 100) return null;
    const idHash = hashId(id);
    const now = this.now();
    let entry = this.cache.get(idHash);
    if (!entry || now - entry.checkedAt >= CACHE_TTL_MS) {
      const loaded = await this.load(idHash);
      if (!loaded) {
        this.cache.delete(idHash);
        return null;
      }
      entry = { session: loaded, checkedAt: now };
      this.cache.set(idHash, entry);
    }
    const session = entry.session;
    if (now >= session.expiresAt || now - session.lastSeenAt >= SESSION_IDLE_MS) {
      await this.destroy(id);
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

  /** End a session on the server. */
  async destroy(id: string): Promise<void> {
    const idHash = hashId(id);
    this.cache.delete(idHash);
    await this.db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
  }

  /** End every session of a user (disabled or removed accounts). */
  async destroyAllFor(userId: string): Promise<void> {
    for (const [key, entry] of this.cache) if (entry.session.actor.userId === userId) this.cache.delete(key);
    await this.db.deleteFrom('sessions').where('user_id', '=', userId).execute();
  }

  private async load(idHash: string): Promise<Session | null> {
    const row = await this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select([
        'sessions.created_at',
        'sessions.last_seen_at',
        'sessions.expires_at',
        'users.id as user_id',
        'users.email',
        'users.name',
        'users.disabled_at',
      ])
      .where('sessions.id_hash', '=', idHash)
      .executeTakeFirst();
    if (!row || row.disabled_at) return null;
    const memberships = await this.db
      .selectFrom('memberships')
      .select(['org_id', 'role'])
      .where('user_id', '=', row.user_id)
      .execute();
    return {
      idHash,
      actor: {
        kind: 'user',
        userId: row.user_id,
        email: row.email,
        name: row.name,
        memberships: new Map(memberships.map((m) => [m.org_id, m.role as Role])),
      },
      createdAt: new Date(row.created_at).getTime(),
      lastSeenAt: new Date(row.last_seen_at).getTime(),
      expiresAt: new Date(row.expires_at).getTime(),
    };
  }
}

export type { Actor };
