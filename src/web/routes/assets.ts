import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { assetsByHref, diagramFrameScript, editorIsland, favicon, type Asset } from '../assets.ts';
import { DIAGRAM_FRAME_HTML, DIAGRAM_FRAME_POLICY, MERMAID_URL, mermaidBundle } from '../diagrams.ts';

const gzipAsync = promisify(gzip);

/** Gzipped bodies of the text assets, compressed once (off the event loop) on first request. */
const gzipped = new WeakMap<Asset, Promise<Buffer>>();
const compressible = (asset: Asset) => /^(text\/|image\/svg)/.test(asset.contentType) && asset.body.length > 1024;

function gzipOf(asset: Asset): Promise<Buffer> {
  let body = gzipped.get(asset);
  if (!body) {
    body = gzipAsync(asset.body, { level: 9 });
    gzipped.set(asset, body);
  }
  return body;
}

/** Static assets under content-hashed URLs, cached for a year; the text ones gzipped for browsers that accept it. */
export function registerAssetRoutes(app: FastifyInstance, options: { mermaidBundlePath?: string | null | undefined } = {}): void {
  app.get<{ Params: { file: string } }>('/-/assets/:file', { config: { access: 'public' } }, async (request, reply) => {
    const asset = assetsByHref.get(`/-/assets/${request.params.file}`);
    if (!asset) return reply.callNotFound();
    reply.header('cache-control', 'public, max-age=31536000, immutable').type(asset.contentType);
    // the diagram frame is sandboxed (an opaque origin): its script must be loadable from there (web/diagrams.ts)
    if (asset === diagramFrameScript) reply.header('cross-origin-resource-policy', 'cross-origin');
    if (!compressible(asset)) return reply.send(asset.body);
    reply.header('vary', 'accept-encoding');
    if (!acceptsGzip(request.headers['accept-encoding'])) return reply.send(asset.body);
    return reply.header('content-encoding', 'gzip').send(await gzipOf(asset));
  });
  // Mermaid diagrams (web/diagrams.ts): the sandboxed frame that draws them, under its own policy, and Mermaid.
  app.get('/-/diagram', { config: { access: 'public' } }, async (_request, reply) => {
    reply.header('content-security-policy', DIAGRAM_FRAME_POLICY).header('x-frame-options', 'SAMEORIGIN');
    return reply.header('cache-control', 'public, max-age=3600').type('text/html; charset=utf-8').send(DIAGRAM_FRAME_HTML);
  });
  app.get(MERMAID_URL, { config: { access: 'public' } }, async (request, reply) => {
    const body = await mermaidBundle(options.mermaidBundlePath);
    if (!body) return reply.callNotFound();
    // the frame that loads it is sandboxed (an opaque origin): a same-origin resource policy would refuse it
    reply.header('cross-origin-resource-policy', 'cross-origin').header('cache-control', 'public, max-age=86400').type('text/javascript; charset=utf-8');
    return reply.send(body);
  });
  // Browsers ask for /favicon.ico whatever the page says.
  app.get('/favicon.ico', { config: { access: 'public' } }, async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=86400').type(favicon.contentType).send(favicon.body),
  );
  // Bundle the editor island in the background half a minute after the server is ready: not during start-up,
  // whose memory peak (the first import) the bundler's helper process would add to, and usually before anyone
  // opens the editor (the first editor page otherwise starts it and waits). A failed bundle falls back to the
  // plain editor script. Under the test runner, where most processes never open the editor, only the first
  // editor page starts it.
  if (process.env.NODE_ENV === 'test') return;
  app.addHook('onReady', async () => {
    const later = setTimeout(() => {
      void editorIsland().then((build) => {
        if (build.bundled) app.log.info({ ms: Math.round(build.milliseconds), bytes: build.asset.body.length }, 'editor island bundled');
        else app.log.warn({ error: build.error }, 'editor island could not be bundled; the editor uses the plain textarea');
      });
    }, ISLAND_BUILD_DELAY_MS);
    later.unref();
  });
}

/** How long after start-up the editor island is bundled in the background. */
const ISLAND_BUILD_DELAY_MS = 30_000;

/** Whether an Accept-Encoding header accepts gzip (`gzip` or `*`, not with q=0). */
function acceptsGzip(header: string | string[] | undefined): boolean {
  const value = Array.isArray(header) ? header.join(',') : (header ?? '');
  for (const part of value.split(',')) {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding !== 'gzip' && coding !== '*') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return !q || Number(q.slice(2)) > 0;
  }
  return false;
}
