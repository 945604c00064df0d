import { join } from 'node:path';
import { AuditGroupCommit } from './audit/group-commit.ts';
import { SessionStore } from './auth/sessions.ts';
import type { Config } from './config/config.ts';
import { applicationUrlOf, openDatabase, type Db } from './db/connection.ts';
import { PostgresBus, SINGLE_PROCESS, type ProcessBus } from './cluster/process-bus.ts';
import { ReadinessChecks } from './cluster/readiness.ts';
import { BranchMoves } from './changes/branch-moves.ts';
import { ChangeRequests } from './changes/change-requests.ts';
import { findProjectById } from './projects/projects.ts';
import { LinkGate } from './projects/link-gate.ts';
import { AcknowledgmentVersions } from './evidence/acknowledgment-versions.ts';
import { ReviewChanges } from './evidence/reviews.ts';
import { recoverRepositories } from './changes/recovery.ts';
import { startGitSpawner, stopGitSpawner } from './git/spawner-client.ts';
import { Publisher } from './projects/publisher.ts';
import { RepositoryRegistry } from './projects/repositories.ts';
import { SearchIndex } from './search/search-index.ts';
import { SearchIndexListener } from './search/search-listener.ts';
import { mfaSecretBox } from './auth/mfa.ts';
import { WebhookDispatcher } from './webhooks/dispatcher.ts';
import { enqueueOverdueAcknowledgments } from './webhooks/overdue-acknowledgments.ts';
import { WebhookPublishListener } from './webhooks/publish-listener.ts';
import { Acknowledgments } from './evidence/acknowledgments.ts';
import { Reviews } from './evidence/reviews.ts';
import { EmailNotifications } from './notifications/email-notifications.ts';

/** The services one process shares: database, repositories, published snapshots, sessions. */
export interface AppContext {
  config: Config;
  db: Db;
  repositories: RepositoryRegistry;
  publisher: Publisher;
  sessions: SessionStore;
  /** Audit events of reads, appended in group commits (audit/group-commit.ts). */
  auditReads: AuditGroupCommit;
  /** The branch-move protocol: the one place where a branch of a project moves; listeners register here. */
  branchMoves: BranchMoves;
  /** Change requests: drafts proposed for main, reviewed and merged (changes/change-requests.ts). */
  changeRequests: ChangeRequests;
  /** The organization's "refuse changes that add broken links", one for editor saves, restores, pushes and merges. */
  linkGate: LinkGate;
  /** The full-text index of published documents; follows publishes as a branch-move listener (search/). */
  searchIndex: SearchIndex;
  /** Tells the other processes of the database what changed (PostgreSQL; cluster/process-bus.ts). */
  bus: ProcessBus;
  /** What /readyz reports. */
  readiness: ReadinessChecks;
  /** Sends the webhook outbox (webhooks/); the serve command starts its loop. */
  webhooks: WebhookDispatcher;
  /** Email notifications, when SMTP_URL is set (notifications/, docs/email.md); null: none queued or sent. */
  email: EmailNotifications | null;
  close(): Promise<void>;
}

/** Open the database (running migrations) and wire the services together. */
export async function createAppContext(config: Config, db?: Db): Promise<AppContext> {
  // git commands are started by a small helper process, forked now while this process is small (git/spawner-client.ts)
  startGitSpawner();
  const database =
    db ??
    (await openDatabase(
      config.databaseUrl
        ? { kind: 'postgres', url: config.databaseUrl, appUrl: config.databaseAppUrl, secret: config.secret }
        : { kind: 'pglite', dataDir: join(config.dataDir, 'db') },
    ));
  const repositories = new RepositoryRegistry(config.reposDir);
  // several processes may share a PostgreSQL database: changes are announced to the others (cluster/)
  const bus = applicationUrlOf(database) ? new PostgresBus() : SINGLE_PROCESS;
  const publisher = new Publisher(database, repositories, join(config.dataDir, 'rendered'), bus);
  const branchMoves = new BranchMoves({ db: database, repositories, publisher });
  const linkGate = new LinkGate(database, publisher);
  // merges pass the publish gate (changes/publish-gate.ts): files, documents and links of the merged tree
  const changeRequests = new ChangeRequests({ db: database, repositories, branchMoves, linkGate, published: publisher });
  branchMoves.listen(changeRequests.listener((event) => findProjectById(database, event.orgId, event.projectId)));
  const searchIndex = new SearchIndex(database, publisher);
  branchMoves.listen(new SearchIndexListener(database, searchIndex));
  branchMoves.listen(new AcknowledgmentVersions(database, repositories));
  branchMoves.listen(new ReviewChanges(database, repositories));
  const webhooks = new WebhookDispatcher({
    db: database,
    box: mfaSecretBox(config.mfaKeys),
    allowedHosts: new Set(config.webhookAllowedHosts ?? []),
    periodic: [{ everyMs: 5 * 60 * 1000, run: (now) => enqueueOverdueAcknowledgments(database, now) }],
  });
  branchMoves.listen(new WebhookPublishListener(database, repositories, () => webhooks.nudge()));
  const published = (projectId: string, path: string) => {
    const doc = publisher.snapshotOf(projectId)?.documents.get(path);
    return doc ? { title: doc.meta.title, classification: doc.meta.classification, blobId: doc.blobId } : null;
  };
  const email = config.email
    ? new EmailNotifications({
        db: database,
        email: config.email,
        mfaKeys: config.mfaKeys,
        baseUrl: config.publicUrl ?? `http://${config.host}:${config.port}`,
        lookup: published,
        due: {
          acknowledgments: new Acknowledgments(database, published),
          reviews: new Reviews(database, repositories, branchMoves, (projectId) => publisher.snapshotOf(projectId)),
        },
      })
    : null;
  return {
    config,
    db: database,
    repositories,
    publisher,
    sessions: new SessionStore(database, Date.now, new Map(), bus),
    auditReads: new AuditGroupCommit(database),
    branchMoves,
    changeRequests,
    linkGate,
    searchIndex,
    bus,
    readiness: new ReadinessChecks(database, config.reposDir),
    webhooks,
    email,
    async close() {
      await email?.stop();
      await branchMoves.stop();
      await webhooks.stop();
      await repositories.closeAll();
      await database.destroy();
      await stopGitSpawner();
    },
  };
}

/**
 * Catch every project up with its repository before serving (changes/recovery.ts): repair repository settings
 * and hooks, write the audit events of ref moves interrupted by a crash (or of a branch moved outside
 * DocuCommit), publish each snapshot, run `git gc --auto`. Returns how many projects were reconciled.
 */
export async function reconcileSnapshots(context: AppContext): Promise<number> {
  return (await recoverRepositories(context)).size;
}
