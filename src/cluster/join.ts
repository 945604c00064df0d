/**
 * A server process joining the others of its PostgreSQL database (`serve --workers N`, or servers on several
 * machines sharing the repositories): from now on every repository write also holds the repository's advisory
 * lock (repository-locks.ts), and what the others announce (process-bus.ts) is applied here:
 *
 * - `published`: this process follows the branch head (Publisher.follow: the same snapshot from the shared
 *   repositories and rendered store, nothing written again);
 * - `projects`: the catalog is forgotten and snapshots of deleted projects dropped;
 * - `user`: that user's cached sessions are forgotten (ended, disabled, role changed);
 * - `org`: cached sessions and image hosts are forgotten (session limits, settings);
 * - `all`, also delivered after every (re)connection as the catch-up: everything cached is forgotten and every
 *   held snapshot brought up to its branch head, so a notification missed while disconnected leaves nothing stale.
 *
 * Cache invalidation runs synchronously when the notification arrives, before any request read after it.
 */
import type { AppContext } from '../app-context.ts';
import { applicationUrlOf } from '../db/connection.ts';
import { useCrossProcessLock } from '../git/write-lock.ts';
import { forgetImageHosts } from '../organizations/image-hosts.ts';
import type { ProjectCatalog } from '../projects/catalog.ts';
import { findProjectById, listAllProjects } from '../projects/projects.ts';
import { PostgresBus, ProcessListener, type ListenerLogger, type ProcessMessage } from './process-bus.ts';
import { AdvisoryRepositoryLocks } from './repository-locks.ts';

export interface JoinedProcesses {
  /** Whether the connection that listens to the others is up (false between a loss and the reconnection). */
  readonly listening: boolean;
  /** Set once the web app exists: its catalog is forgotten on `projects`, `org` and `all`. */
  catalog: Pick<ProjectCatalog, 'dropAll'> | null;
  /** Resolves when follow-ups started by messages so far are done (tests, shutdown). */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Join the other processes of the context's database; null for the embedded database (one process). Resolves
 * once listening (and the first catch-up has started).
 */
export async function joinProcesses(context: AppContext, logger: ListenerLogger & { error(details: object, message: string): void }): Promise<JoinedProcesses | null> {
  const url = applicationUrlOf(context.db);
  if (!url) return null;
  const locks = new AdvisoryRepositoryLocks(url);
  const undoLocks = useCrossProcessLock(locks);
  const pending = new Set<Promise<void>>();
  const track = (work: Promise<void>) => {
    const tracked = work.catch((error: unknown) => logger.error({ err: (error as Error).message }, 'following another process failed'));
    pending.add(tracked);
    void tracked.finally(() => pending.delete(tracked));
  };
  const joined: JoinedProcesses = {
    get listening() {
      return listener.connected;
    },
    catalog: null,
    async settled() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    async close() {
      if (context.bus instanceof PostgresBus) context.bus.attach(null);
      await listener.close();
      await joined.settled();
      undoLocks();
      await locks.close();
    },
  };

  const followProject = async (orgId: string, projectId: string) => {
    const project = await findProjectById(context.db, orgId, projectId);
    if (project) await context.publisher.follow(project);
    else await context.publisher.forget(projectId);
  };
  /** Drop snapshots of projects that no longer exist; with `follow`, bring every other held one to its head. */
  const reconcileHeld = async (follow: boolean) => {
    const projects = new Map((await listAllProjects(context.db)).map((p) => [p.id, p]));
    for (const id of context.publisher.heldProjects()) {
      const project = projects.get(id);
      if (!project) await context.publisher.forget(id);
      else if (follow) await context.publisher.follow(project);
    }
  };

  const apply = (message: ProcessMessage) => {
    switch (message.t) {
      case 'published':
        // our own announcement, or one we already follow
        if (message.c !== null && context.publisher.snapshotOf(message.p)?.commit === message.c) return;
        track(followProject(message.o, message.p));
        return;
      case 'projects':
        joined.catalog?.dropAll();
        track(reconcileHeld(false));
        return;
      case 'user':
        context.sessions.dropUser(message.u);
        return;
      case 'org':
        context.sessions.dropAll();
        forgetImageHosts(context.db);
        joined.catalog?.dropAll();
        return;
      case 'all':
        context.sessions.dropAll();
        forgetImageHosts(context.db);
        joined.catalog?.dropAll();
        track(reconcileHeld(true));
        return;
    }
  };
  const listener = new ProcessListener(url, apply, logger);
  await listener.start();
  // an ended session, a disabled user or a changed setting is sent confirmed: answered once every process applied it
  if (context.bus instanceof PostgresBus) context.bus.attach(listener);
  return joined;
}
