/**
 * Page weight against project size (`npm run bench` prints it; also `node --import tsx bench/navigation.ts`).
 *
 * For projects of 1,000, 10,000 and 50,000 documents laid out like the benchmark corpus (bench/corpus.ts: the
 * same folders, titles and classifications, without writing the files), a member's internal document page is
 * built as the server builds it — the clearance view and its navigation (first view: nothing cached), the
 * navigation kept to the path to the page, its siblings and the other sections collapsed (reading-pages.ts
 * `pruneNavigation`), the body rendered — and the page framed. Printed per size: the page's bytes, the links
 * it carries, and the first-view time (view + navigation + body, the cost of the first reader after a publish).
 * The body of the document itself is a fixed paragraph, so the figures show what the project size adds.
 *
 * Flags: --sizes 1000,10000,50000
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { TrustedHtml } from '../src/content/trusted-html.ts';
import { Snapshot, type SnapshotDocument } from '../src/projects/snapshot.ts';
import { pruneNavigation } from '../src/web/reading-pages.ts';
import { renderDocumentBody } from '../src/web/views/document.tsx';
import { planDocuments, Rng } from './corpus.ts';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '1000,10000,50000' } }, strict: false });
const SIZES = String(values.sizes).split(',').map(Number);
const BODY = '<p>The policy text: the same at every size, so what grows is what the project adds to the page.</p>' as TrustedHtml;

interface Row {
  documents: number;
  page_kb: number;
  links_on_page: number;
  first_view_ms: number;
  cached_build_ms: number;
}

const rows: Row[] = [];
for (const size of SIZES) {
  const { docs } = planDocuments(new Rng(1), size);
  const documents = new Map<string, SnapshotDocument>();
  for (const doc of [...docs].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    documents.set(doc.path, {
      path: doc.path,
      blobId: doc.path,
      meta: {
        path: doc.path, title: doc.title, sort: doc.sort, tags: [], classification: doc.classification, date: doc.date,
        owner: null, effective: null, review_by: null, toc: [], links: [], anchors: [], errors: [],
      },
    });
  }
  const target = docs.find((d) => d.classification === 'internal' && !d.isIndex && !d.isNews && d.folder.includes('/')) ?? docs.find((d) => d.classification === 'internal')!;
  const build = (snapshot: Snapshot) => {
    const view = snapshot.viewFor('internal');
    const doc = view.documents.get(target.path)!;
    const body = renderDocumentBody({
      project: { orgSlug: 'bench', orgName: 'Bench', slug: 'handbook', name: 'Handbook' },
      nav: pruneNavigation(view.nav, target.path),
      currentPath: target.path,
      breadcrumbs: [],
      accessRequests: { canRequest: true },
      path: doc.path, title: doc.meta.title, tags: [], classification: doc.meta.classification, date: doc.meta.date,
      owner: null, effective: null, review_by: null, toc: [], html: BODY,
    });
    return String(body);
  };
  const snapshot = new Snapshot('bench', 'commit', 'tree', documents);
  let started = performance.now();
  const html = build(snapshot);
  const firstView = performance.now() - started;
  started = performance.now();
  build(snapshot);
  const cached = performance.now() - started;
  // the frame around the body (top bar, head) is the same few KB at every size: counted as a fixed 6 KB
  rows.push({
    documents: size,
    page_kb: Math.round(((Buffer.byteLength(html) + 6 * 1024) / 1024) * 10) / 10,
    links_on_page: (html.match(/<a /g) ?? []).length,
    first_view_ms: Math.round(firstView * 10) / 10,
    cached_build_ms: Math.round(cached * 10) / 10,
  });
}
console.log(`Navigation: a member's internal page by project size (load average ${loadavg()[0]!.toFixed(1)})`);
console.table(rows);
const [small, , large] = rows;
if (small && large) console.log(`page at ${large.documents} documents: ${large.page_kb} KB, ${(large.page_kb / small.page_kb).toFixed(2)}× the page at ${small.documents}`);
