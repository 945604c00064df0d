import type { FastifyInstance } from 'fastify';

/** A link or image that did not answer 200, or an anchor its target page does not have. */
export interface CrawlFailure {
  page: string;
  url: string;
  kind: 'link' | 'image' | 'anchor';
  status: number;
}

export interface CrawlResult {
  pages: Map<string, string>;
  images: Set<string>;
  failures: CrawlFailure[];
}

const ATTRIBUTE = /<(a|img)\b[^>]*?\s(href|src)="([^"]*)"/g;
const decode = (value: string) => value.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');

/**
 * Follow every link and image of a project's reading pages, as a reader's browser would: pages under `root`
 * (not the `/-/` tools), images with `Sec-Fetch-Dest: image`, anchors checked against the target page's ids.
 */
export async function crawlProject(app: FastifyInstance, root: string, cookie?: string): Promise<CrawlResult> {
  const headers = (extra: Record<string, string> = {}) => ({ ...(cookie ? { cookie } : {}), ...extra });
  const pages = new Map<string, string>();
  const images = new Set<string>();
  const failures: CrawlFailure[] = [];
  const anchors: { page: string; url: string; fragment: string }[] = [];
  const queue = [root];
  const seen = new Set(queue);
  const fetchPage = async (url: string): Promise<{ status: number; body: string; final: string; type: string }> => {
    let current = url;
    for (let hops = 0; hops < 5; hops++) {
      const res = await app.inject({ method: 'GET', url: current, headers: headers({ 'sec-fetch-dest': 'document' }) });
      if (res.statusCode === 301 || res.statusCode === 302 || res.statusCode === 303) {
        current = new URL(String(res.headers.location), `http://x${current}`).pathname;
        continue;
      }
      return { status: res.statusCode, body: res.body, final: current, type: String(res.headers['content-type'] ?? '') };
    }
    return { status: 508, body: '', final: current, type: '' };
  };
  while (queue.length > 0) {
    const url = queue.shift()!;
    const res = await fetchPage(url);
    if (!res.type.startsWith('text/html')) continue; // an attachment linked as a file: answered, not parsed
    pages.set(url, res.body);
    for (const match of res.body.matchAll(ATTRIBUTE)) {
      const [, tag, , raw] = match;
      const target = new URL(decode(raw!), `http://x${res.final}`);
      if (target.host !== 'x' || !target.pathname.startsWith(root) || target.pathname.includes('/-/')) continue;
      const path = target.pathname;
      if (tag === 'img') {
        if (images.has(path)) continue;
        images.add(path);
        const image = await app.inject({ method: 'GET', url: path, headers: headers({ 'sec-fetch-dest': 'image' }) });
        if (image.statusCode !== 200 || !String(image.headers['content-type']).startsWith('image/')) {
          failures.push({ page: url, url: path, kind: 'image', status: image.statusCode });
        }
        continue;
      }
      if (target.hash) anchors.push({ page: url, url: path, fragment: decodeURIComponent(target.hash.slice(1)) });
      if (seen.has(path)) continue;
      seen.add(path);
      const linked = await fetchPage(path);
      if (linked.status !== 200) failures.push({ page: url, url: path, kind: 'link', status: linked.status });
      else if (linked.type.startsWith('text/html')) queue.push(path);
    }
  }
  for (const anchor of anchors) {
    const body = pages.get(anchor.url) ?? pages.get(`${anchor.url}/`);
    if (body !== undefined && !body.includes(`id="${anchor.fragment}"`)) failures.push({ page: anchor.page, url: `${anchor.url}#${anchor.fragment}`, kind: 'anchor', status: 200 });
  }
  return { pages, images, failures };
}
