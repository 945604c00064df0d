import type { FastifyInstance } from 'fastify';
import { assetsByHref, favicon } from '../assets.ts';

/** Static assets under content-hashed URLs, cached for a year. */
export function registerAssetRoutes(app: FastifyInstance): void {
  app.get<{ Params: { file: string } }>('/-/assets/:file', { config: { access: 'public' } }, async (request, reply) => {
    const asset = assetsByHref.get(`/-/assets/${request.params.file}`);
    if (!asset) return reply.callNotFound();
    return reply
      .header('cache-control', 'public, max-age=31536000, immutable')
      .type(asset.contentType)
      .send(asset.body);
  });
  // Browsers ask for /favicon.ico whatever the page says.
  app.get('/favicon.ico', { config: { access: 'public' } }, async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=86400').type(favicon.contentType).send(favicon.body),
  );
}
