import type { FastifyInstance } from 'fastify';
import { assetsByHref } from '../assets.ts';

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
}
