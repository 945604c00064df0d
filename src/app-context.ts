import { join } from 'node:path';
import { SessionStore } from './auth/sessions.ts';
import type { Config } from './config/config.ts';
import { openDatabase, type Db } from './db/connection.ts';
import { listAllProjects } from './projects/projects.ts';
import { Publisher } from './projects/publisher.ts';
import { RepositoryRegistry } from './projects/repositories.ts';

/** The services one process shares: database, repositories, published snapshots, sessions. */
export interface AppContext {
  config: Config;
  db: Db;
  repositories: RepositoryRegistry;
  publisher: Publisher;
  sessions: SessionStore;
  close(): Promise<void>;
}

/** Open the database (running migrations) and wire the services together. */
export async function createAppContext(config: Config, db?: Db): Promise<AppContext> {
  const database =
    db ??
    (await openDatabase(
      config.databaseUrl
        ? { kind: 'postgres', url: config.databaseUrl }
        : { kind: 'pglite', dataDir: join(config.dataDir, 'db') },
    ));
  const repositories = new RepositoryRegistry(config.reposDir);
  const publisher = new Publisher(database, repositories);
  return {
    config,
    db: database,
    repositories,
    publisher,
    sessions: new SessionStore(database),
    async close() {
      await repositories.closeAll();
      await database.destroy();
    },
  };
}

/**
 * Catch every project's snapshot up with its branch (after a crash between a commit and its indexing, or a
 * push while the server was down). Returns how many projects were published.
 */
export async function reconcileSnapshots(context: AppContext): Promise<number> {
  const projects = await listAllProjects(context.db);
  for (const project of projects) await context.publisher.publish(project);
  return projects.length;
}
