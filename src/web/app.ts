import { randomUUID } from 'node:crypto';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { AppContext } from '../app-context.ts';
import { ProjectCatalog } from '../projects/catalog.ts';
import { AuditLogReader } from '../audit/reader.ts';
import { CloneClearance } from '../projects/clone-clearance.ts';
import { projectCommands } from '../projects/commands/index.ts';
import { organizationCommands } from '../organizations/commands/index.ts';
import { OrganizationDirectory } from '../organizations/directory.ts';
import { ResourceOpener } from './open-resource.ts';
import { AccessRequests, type DocumentLookup } from '../access/access-requests.ts';
import { WaitingRequestCounts } from '../access/waiting-requests.ts';
import { accessRequestCommands } from '../access/commands/index.ts';
import { liveGrantKeys } from '../access/grants.ts';
import { registerAuthentication } from './authentication.ts';
import { registerCsrfProtection } from './csrf.ts';
import { registerErrorHandling } from './error-handler.ts';
import { ReadingPages } from './reading-pages.ts';
import { AttachmentReader } from '../projects/attachments.ts';
import { enforceRouteAccess, type RouteInventoryEntry } from './route-access.ts';
import { createAccountServices } from '../auth/commands/index.ts';
import { registerAccountRoutes } from './routes/account.ts';
import { registerEmailRoutes } from './routes/email.ts';
import { emailCommands } from '../notifications/commands/index.ts';
import { DEFAULT_PASSWORD_RESET_LIMITS, type PasswordResetLimits } from '../notifications/commands/deps.ts';
import { registerAssetRoutes } from './routes/assets.ts';
import { registerAuditRoutes } from './routes/audit.ts';
import { registerAuthRoutes } from './routes/auth.ts';
import { registerAccessRequestRoutes } from './routes/access-requests.ts';
import { registerMemberRoutes } from './routes/members.ts';
import { registerSettingsRoutes } from './routes/settings.ts';
import { registerOrganizationDataRoutes } from './routes/organization-data.ts';
import { OrganizationData } from '../organizations/organization-data.ts';
import { registerScheduledDeletionGate } from './scheduled-deletion-gate.ts';
import { registerEvidenceRoutes } from './routes/evidence.ts';
import { EvidencePacks } from '../evidence/evidence-packs.ts';
import { registerSsoRoutes } from './routes/sso.ts';
import { registerWebhookRoutes } from './routes/webhooks.ts';
import { WebhookSettings } from '../webhooks/webhook-settings.ts';
import { mfaSecretBox } from '../auth/mfa.ts';
import { SsoSignIn } from '../auth/sso/sign-in.ts';
import { SsoSettings } from '../auth/sso/sso-settings.ts';
import { registerProjectSettingsRoutes } from './routes/project-settings.ts';
import { DraftEditor } from '../changes/draft-editor.ts';
import { registerEditorRoutes } from './routes/editor.ts';
import { registerHistoryRoutes } from './routes/history.ts';
import { ProjectHistory } from '../changes/history.ts';
import { VersionRestorer } from '../changes/restore.ts';
import type { PushLimits } from '../git/push-checks.ts';
import { ChangeRequestPages } from '../changes/change-request-pages.ts';
import { registerChangeRequestRoutes } from './routes/change-requests.ts';
import { registerGitHttpRoutes } from './routes/git-http.ts';
import { GitCredentials } from './git-credentials.ts';
import { GitRemote } from '../changes/git-remote.ts';
import { DocumentEditor } from '../changes/editor.ts';
import { registerReadingRoutes } from './routes/reading.ts';
import { registerTrustCenterRoutes } from './routes/trust-center.ts';
import { registerPdfRoutes } from './routes/pdf.ts';
import { PdfImageCollector } from './pdf-images.ts';
import { PdfRenderer, type PdfRendererOptions } from './pdf-renderer.ts';
import { TrustCenter } from '../projects/trust-center.ts';
import { registerSecurityHeaders } from './security-headers.ts';
import { lazyChildLogger } from './request-logger.ts';
import { imageHostsNow } from '../organizations/image-hosts.ts';
import { registerSecurityTxtRoute } from './routes/security-txt.ts';
import { registerMetricsRoutes } from './routes/metrics.ts';
import type { Metrics } from '../observability/metrics.ts';
import { metricsFor } from '../observability/metrics-sources.ts';
import { registerHealthRoutes } from './routes/health.ts';
import { registerSearchRoutes } from './routes/search.ts';
import { SearchPages } from './search-pages.ts';
import { SearchService } from '../search/search-query.ts';
import { registerAcknowledgmentRoutes } from './routes/acknowledgments.ts';
import { Acknowledgments } from '../evidence/acknowledgments.ts';
import { ApiRateLimiter, DEFAULT_API_RATE_LIMIT, type ApiRateLimit } from '../auth/api-rate-limit.ts';
import { registerApi } from './api/api.ts';
import { Cursors } from './api/cursor.ts';
import { apiOperations } from './routes/api/index.ts';
import { EffectiveVersions } from '../evidence/effective-versions.ts';
import { Reviews } from '../evidence/reviews.ts';
import { registerReviewRoutes } from './routes/reviews.ts';

export interface BuiltApp {
  app: FastifyInstance;
  /** Every registered route with its declared access (the route-inventory test reads it). */
  routes: RouteInventoryEntry[];
  /** The projects the routes find by slug (the server forgets them after a command changes data). */
  catalog: ProjectCatalog;
  /** Prometheus metrics, when configured (config.metrics): the serve command may also serve them on a listener of its own. */
  metrics: Metrics | null;
}

/** Build the Fastify app (no listening: tests call `app.inject()`, the serve command calls `listen`). */
export async function buildApp(
  context: AppContext,
  /** `now`: the clock of access requests and grants; `authNow`: of sign-in throttling and TOTP (tests hold them). */
  options: {
    logger?: boolean;
    now?: () => number;
    authNow?: () => number;
    /** The clock of acknowledgment due dates (tests move it past a due date). */
    ackNow?: () => number;
    /** The clock of review cadence, effective dates and the as-of view's "today" (tests move it across dates). */
    reviewNow?: () => number;
    /** The clock of an organization deletion's grace period (tests move it). */
    deletionNow?: () => number;
    pushLimits?: Partial<PushLimits>;
    /** The REST API's requests per token and window (default DEFAULT_API_RATE_LIMIT). */
    apiRateLimit?: ApiRateLimit;
    /** Self-service password-reset limits (default DEFAULT_PASSWORD_RESET_LIMITS). */
    passwordResetLimits?: PasswordResetLimits;
    /** Mermaid's browser bundle (tests: a stand-in); default the installed package's, if any (web/diagrams.ts). */
    mermaidBundlePath?: string | null;
    /** The PDF renderer's Chromium and limits (default: config.chromiumPath, from CHROMIUM_PATH; web/pdf-renderer.ts). */
    pdf?: PdfRendererOptions;
  } = {},
): Promise<BuiltApp> {
  const { config } = context;
  const app = Fastify({
    logger: options.logger ? { level: 'info' } : false,
    // Requests are not logged one by one (errors are, with their request id).
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: false,
    bodyLimit: 1024 * 1024,
    genReqId: () => randomUUID(),
    // request.log's child logger is made when something is logged (request-logger.ts)
    childLoggerFactory: lazyChildLogger,
    requestIdHeader: false,
    routerOptions: { maxParamLength: 1000, ignoreDuplicateSlashes: false },
  });
  const routes = enforceRouteAccess(app);
  // x-request-id and the security headers: one hook (security-headers.ts)
  registerSecurityHeaders(app, { secure: config.secure, imageHostsOf: (slug) => imageHostsNow(context.db, slug) });
  await app.register(cookie);
  await app.register(formbody, { bodyLimit: 256 * 1024 });
  registerAuthentication(app, { sessions: context.sessions, secure: config.secure });
  registerCsrfProtection(app, { secret: config.secret, secure: config.secure });
  registerErrorHandling(app, config.secret, { db: context.db });
  // an organization scheduled for deletion is closed on every route of it (before any route runs)
  const organizationData = new OrganizationData({ db: context.db, repositories: context.repositories });
  registerScheduledDeletionGate(app, { data: organizationData });
  const metrics = config.metrics && (config.metrics.token !== null || config.metrics.listen !== null) ? metricsFor(context) : null;
  if (metrics) registerMetricsRoutes(app, { metrics, token: config.metrics?.token ?? null });

  const catalog = new ProjectCatalog(context.db, context.bus.shared ? { bus: context.bus, publisher: context.publisher } : null);
  const organizations = new OrganizationDirectory(context.db);
  const open = new ResourceOpener({ organizations, projects: catalog });
  const now = options.now ?? Date.now;
  registerAssetRoutes(app, { mermaidBundlePath: options.mermaidBundlePath });
  const account = createAccountServices(context.db, context.sessions, config.mfaKeys, options.authNow);
  // email (SMTP_URL): "Forgot password?" and the account page's notifications form; without it neither exists
  const email = context.email
    ? emailCommands({ db: context.db, email: context.email, limits: options.passwordResetLimits ?? DEFAULT_PASSWORD_RESET_LIMITS, keySecret: config.secret, now: options.authNow ?? Date.now })
    : null;
  registerAccountRoutes(app, { account, secret: config.secret, secure: config.secure, email });
  registerAuditRoutes(app, { open, auditLog: new AuditLogReader(context.db), secret: config.secret });
  registerAuthRoutes(app, { account, secret: config.secret, secure: config.secure, forgotPassword: email !== null });
  if (email) registerEmailRoutes(app, { email, secret: config.secret, secure: config.secure });
  const acknowledgments = new Acknowledgments(
    context.db,
    (projectId, path) => {
      const doc = context.publisher.snapshotOf(projectId)?.documents.get(path);
      return doc ? { title: doc.meta.title, classification: doc.meta.classification, blobId: doc.blobId } : null;
    },
    options.ackNow ?? Date.now,
  );
  registerAcknowledgmentRoutes(app, { open, acknowledgments, secret: config.secret });
  const reviewNow = options.reviewNow ?? Date.now;
  const reviews = new Reviews(context.db, context.repositories, context.branchMoves, (projectId) => context.publisher.snapshotOf(projectId), reviewNow);
  const effectiveVersions = new EffectiveVersions(context.db, context.publisher, context.repositories, reviewNow);
  registerReviewRoutes(app, { open, catalog, reviews, secret: config.secret });
  const readingPages = new ReadingPages(
    context.publisher,
    (actor, project) => liveGrantKeys(context.db, { orgId: project.orgId, projectId: project.id, userId: actor.userId }, now()),
    effectiveVersions,
  );
  const attachmentReader = new AttachmentReader(context.repositories);
  registerReadingRoutes(app, {
    acknowledgments,
    reviews,
    organizations,
    auditReads: context.auditReads,
    catalog,
    publisher: context.publisher,
    pages: readingPages,
    attachments: attachmentReader,
    secret: config.secret,
  });
  const documentLookup: DocumentLookup = (projectId, path) => {
    const doc = context.publisher.snapshotOf(projectId)?.documents.get(path);
    return doc ? { title: doc.meta.title, classification: doc.meta.classification } : null;
  };
  const accessRequests = new AccessRequests(context.db, documentLookup, now);
  const waiting = new WaitingRequestCounts(context.db, documentLookup, now);
  registerAccessRequestRoutes(app, {
    open,
    organizations,
    catalog,
    requests: accessRequests,
    commands: accessRequestCommands({ db: context.db, lookup: documentLookup, now, waiting }),
    waiting,
    secret: config.secret,
  });
  // the organization's "refuse changes that add broken links": one rule for editor saves, restores, pushes and merges
  const linkGate = context.linkGate;
  const editor = new DocumentEditor(context.repositories, context.branchMoves, context.publisher, linkGate);
  registerEditorRoutes(app, {
    open,
    editor,
    changeRequests: context.changeRequests,
    drafts: new DraftEditor({ repositories: context.repositories, branchMoves: context.branchMoves, changeRequests: context.changeRequests, linkGate }),
    grantsFor: (actor, project) => liveGrantKeys(context.db, { orgId: project.orgId, projectId: project.id, userId: actor.userId }, now()),
    secret: config.secret,
  });
  registerGitHttpRoutes(app, {
    open,
    credentials: new GitCredentials(context.db, now),
    remote: new GitRemote({
      db: context.db,
      repositories: context.repositories,
      publisher: context.publisher,
      branchMoves: context.branchMoves,
      changeRequests: context.changeRequests,
      linkGate,
      pushLimits: options.pushLimits,
    }),
  });
  registerChangeRequestRoutes(app, {
    open,
    changeRequests: context.changeRequests,
    pages: new ChangeRequestPages({ repositories: context.repositories, changeRequests: context.changeRequests, branchMoves: context.branchMoves }),
    auditReads: context.auditReads,
    grantsFor: (actor, project) => liveGrantKeys(context.db, { orgId: project.orgId, projectId: project.id, userId: actor.userId }, now()),
    secret: config.secret,
  });
  const history = new ProjectHistory(context.repositories, context.publisher);
  registerHistoryRoutes(app, {
    open,
    auditReads: context.auditReads,
    publisher: context.publisher,
    history,
    restorer: new VersionRestorer(context.repositories, context.branchMoves, history, linkGate),
    changeRequests: context.changeRequests,
    grantsFor: (actor, project) => liveGrantKeys(context.db, { orgId: project.orgId, projectId: project.id, userId: actor.userId }, now()),
    secret: config.secret,
  });
  const pdfRenderer = new PdfRenderer({ ...(config.chromiumPath ? { executablePath: config.chromiumPath } : {}), ...options.pdf });
  app.addHook('onClose', () => pdfRenderer.close());
  registerPdfRoutes(app, {
    open,
    history,
    auditReads: context.auditReads,
    grantsFor: (actor, project) => liveGrantKeys(context.db, { orgId: project.orgId, projectId: project.id, userId: actor.userId }, now()),
    renderer: pdfRenderer,
    images: new PdfImageCollector((project, actor, path) => readingPages.attachment(project, actor, path), attachmentReader),
  });
  registerTrustCenterRoutes(app, {
    trustCenter: new TrustCenter({ db: context.db, publisher: context.publisher, repositories: context.repositories, organizations, projects: catalog, history }),
    publicUrl: config.publicUrl,
    secret: config.secret,
  });
  const orgCommands = organizationCommands({ db: context.db, sessions: context.sessions, ...(options.deletionNow ? { now: options.deletionNow } : {}) });
  registerMemberRoutes(app, {
    open,
    organizations,
    commands: orgCommands,
    secret: config.secret,
    secure: config.secure,
    publicUrl: config.publicUrl,
  });
  registerSettingsRoutes(app, { open, organizations, commands: orgCommands, secret: config.secret });
  registerOrganizationDataRoutes(app, { open, organizations, data: organizationData, commands: orgCommands, secret: config.secret, forgetProjects: () => catalog.forgetAll() });
  const secretBox = mfaSecretBox(config.mfaKeys);
  registerEvidenceRoutes(app, {
    open,
    evidence: new EvidencePacks({ db: context.db, repositories: context.repositories, publisher: context.publisher, box: secretBox, now: () => new Date(reviewNow()) }),
    renderer: pdfRenderer,
    secret: config.secret,
  });
  registerSsoRoutes(app, {
    sessions: context.sessions,
    sso: new SsoSignIn(context.db, secretBox, context.sessions, options.authNow),
    settings: new SsoSettings(context.db, secretBox),
    secret: config.secret,
    secure: config.secure,
    publicUrl: config.publicUrl,
  });
  registerWebhookRoutes(app, {
    open,
    webhooks: new WebhookSettings({ db: context.db, box: secretBox, allowedHosts: new Set(config.webhookAllowedHosts ?? []), nudge: () => context.webhooks.nudge() }),
    secret: config.secret,
  });
  registerSecurityTxtRoute(app, { config, now });
  const search = new SearchService(context.db, context.searchIndex, now);
  registerHealthRoutes(app, { readiness: context.readiness });
  registerSearchRoutes(app, {
    catalog,
    pages: new SearchPages(search, catalog, context.publisher),
    secret: config.secret,
  });
  registerProjectSettingsRoutes(app, {
    open,
    commands: projectCommands({ db: context.db, repositories: context.repositories, publisher: context.publisher, branchMoves: context.branchMoves, dataDir: config.dataDir, catalog }),
    cloneClearance: new CloneClearance(context.repositories, context.publisher),
    secret: config.secret,
    publicUrl: config.publicUrl,
  });
  await registerApi(app, {
    db: context.db,
    limiter: new ApiRateLimiter(context.db, options.apiRateLimit ?? DEFAULT_API_RATE_LIMIT),
    publicUrl: config.publicUrl,
    operations: apiOperations({
      open,
      catalog,
      publisher: context.publisher,
      history,
      editor,
      changeRequests: context.changeRequests,
      search,
      acknowledgments,
      auditLog: new AuditLogReader(context.db),
      auditReads: context.auditReads,
      grantsFor: (actor, project) => liveGrantKeys(context.db, { orgId: project.orgId, projectId: project.id, userId: actor.userId }, now()),
      cursors: new Cursors(config.secret),
    }),
  });
  await app.ready();
  return { app, routes, catalog, metrics };
}
