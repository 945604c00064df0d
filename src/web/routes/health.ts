import type { FastifyInstance } from 'fastify';
import type { ReadinessChecks } from '../../cluster/readiness.ts';

/**
 * `/healthz` (the process is alive) and `/readyz` (it can serve: database, migrations, repositories, not stopping),
 * for load balancers and orchestrators. Public by design: the answers name only failing checks, never a version,
 * path, host or error. Never cached.
 */
export function registerHealthRoutes(app: FastifyInstance, deps: { readiness: ReadinessChecks }): void {
  app.get('/healthz', { config: { access: 'public' } }, async (_request, reply) =>
    reply.header('cache-control', 'no-store').type('application/json; charset=utf-8').send('{"status":"ok"}\n'),
  );
  app.get('/readyz', { config: { access: 'public' } }, async (_request, reply) => {
    const readiness = await deps.readiness.check();
    return reply
      .code(readiness.ok ? 200 : 503)
      .header('cache-control', 'no-store')
      .type('application/json; charset=utf-8')
      .send(`${JSON.stringify(readiness.ok ? { status: 'ok' } : { status: 'failing', failing: readiness.failing })}\n`);
  });
}
