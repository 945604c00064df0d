/**
 * What `/healthz` and `/readyz` report (web/routes/health.ts), for load balancers and orchestrators. Only the
 * names of failing checks are ever shown: no versions, paths, hosts or error messages.
 *
 * - alive: the process answers (no check).
 * - ready: the database answers, holds every migration this code knows, the repositories folder can be read,
 *   and the process is not stopping (a stopping process says so, so the balancer sends its traffic elsewhere
 *   while requests in flight finish).
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { sql } from 'kysely';
import type { Db } from '../db/connection.ts';
import { MIGRATION_NAMES } from '../db/migrations/index.ts';

export type ReadinessCheck = 'database' | 'migrations' | 'repositories' | 'stopping';

export interface Readiness {
  ok: boolean;
  failing: ReadinessCheck[];
}

/** How long a check may take before it counts as failing. */
const CHECK_TIMEOUT_MS = 2000;

export class ReadinessChecks {
  #stopping = false;

  constructor(
    private readonly db: Db,
    private readonly reposDir: string,
  ) {}

  /** The process stops: from now on it is not ready. */
  markStopping(): void {
    this.#stopping = true;
  }

  async check(): Promise<Readiness> {
    const failing: ReadinessCheck[] = [];
    const [database, repositories] = await Promise.all([withTimeout(this.#migrationsApplied()), withTimeout(this.#repositoriesReadable())]);
    if (database === 'unreachable') failing.push('database');
    else if (database !== true) failing.push('migrations');
    if (repositories !== true) failing.push('repositories');
    if (this.#stopping) failing.push('stopping');
    return { ok: failing.length === 0, failing };
  }

  /** true: every known migration is applied; false: some are missing; 'unreachable': the database did not answer. */
  async #migrationsApplied(): Promise<boolean | 'unreachable'> {
    let names: Set<string>;
    try {
      const { rows } = await sql<{ name: string }>`select name from docucommit_migrations`.execute(this.db);
      names = new Set(rows.map((r) => r.name));
    } catch {
      return 'unreachable';
    }
    return MIGRATION_NAMES.every((name) => names.has(name));
  }

  async #repositoriesReadable(): Promise<boolean> {
    try {
      await access(this.reposDir, constants.R_OK | constants.X_OK);
      return true;
    } catch {
      return false;
    }
  }
}

async function withTimeout<T>(work: Promise<T>): Promise<T | 'unreachable'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'unreachable'>((resolve) => {
    timer = setTimeout(() => resolve('unreachable'), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([work.catch(() => 'unreachable' as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
