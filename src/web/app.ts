import { randomUUID } from 'node:crypto';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance } from 'fastify';
import type { AppContext } from '../app-context.ts';
import { ProjectCatalog } from '../projects/catalog.ts';
import { registerAuthentication } from './authentication.ts';
import { registerCsrfProtection } from './csrf.ts';
import { registerErrorHandling } from './error-handler.ts';
import { ReadingPages } from './reading-pages.ts';
import { enforceRouteAccess, type RouteInventoryEntry } from './route-access.ts';
import { registerAssetRoutes } from './routes/assets.ts';
import { registerAuthRoutes } from './routes/auth.ts';
import { registerReadingRoutes } from './routes/reading.ts';
import { registerSecurityHeaders } from './security-headers.ts';

export interface BuiltApp {
  app: FastifyInstance;
  /** Every registered route with its declared access (the route-inventory test reads it). */
  routes: RouteInventoryEntry[];
}

/** Build the Fastify app (no listening: tests call `app.inject()`, the serve command calls `listen`). */
export async function buildApp(context: AppContext, options: { logger?: boolean } = {}): Promise<BuiltApp> {
  const { config } = context;
  const app = Fastify({
    logger: options.logger ? { level: 'info' } : false,
    disableRequestLogging: true,
    trustProxy: false,
    bodyLimit: 1024 * 1024,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    routerOptions: { maxParamLength: 1000, ignoreDuplicateSlashes: false },
  });
  const routes = enforceRouteAccess(app);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  registerSecurityHeaders(app, { secure: config.secure });
  await app.register(cookie);
  await app.register(formbody, { bodyLimit: 256 * 1024 });
  registerAuthentication(app, { sessions: context.sessions, secure: config.secure });
  registerCsrfProtection(app, { secret: config.secret, secure: config.secure });
  registerErrorHandling(app, config.secret);

  const catalog = new ProjectCatalog(context.db);
  registerAssetRoutes(app);
  registerAuthRoutes(app, { db: context.db, sessions: context.sessions, secret: config.secret, secure: config.secure });
  registerReadingRoutes(app, {
    catalog,
    publisher: context.publisher,
    pages: new ReadingPages(context.publisher),
    secret: config.secret,
  });
  await app.ready();
  return { app, routes };
}
