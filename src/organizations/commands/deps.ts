import type { SessionStore } from '../../auth/sessions.ts';
import type { Db } from '../../db/connection.ts';

/** What the organization commands need: the database, and the session store whose cached actors they refresh. */
export interface OrganizationCommandDeps {
  db: Db;
  sessions: SessionStore;
  /** The clock of a deletion's grace period (tests move it); default Date.now. */
  now?: () => number;
}

/** The audit actor of a signed-in person acting in a browser. */
export const auditUser = (actor: { userId: string; email: string }) => ({ type: 'user' as const, id: actor.userId, label: actor.email });
