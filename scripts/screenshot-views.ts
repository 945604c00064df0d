/**
 * Throwaway visual check of the views: renders sample pages from the demo project, serves them with the real
 * stylesheet and CSP on 127.0.0.1, and screenshots them with Chromium into /tmp/views/*.png.
 *
 *   node --import tsx scripts/screenshot-views.ts [--chromium /usr/bin/chromium]
 *
 * Uses src/content/render-document.ts when it exists; otherwise a quick markdown-it rendering (screenshot only).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import MarkdownIt from 'markdown-it';
import anchor from 'markdown-it-anchor';
import { chromium } from 'playwright-core';
import { parse as parseYaml } from 'yaml';
import type { Classification, NavDocument, NavNode, NavSection, TocEntry } from '../src/content/types.ts';
import { stylesheet } from '../src/web/assets.ts';
import { documentUrl, projectUrl, sectionUrl } from '../src/web/urls.ts';
import {
  renderDocumentBody,
  renderErrorBody,
  renderLoginBody,
  renderLogoutBody,
  renderPage,
  renderProjectListBody,
  renderSectionBody,
  renderTagBody,
} from '../src/web/views/index.ts';
import type { Breadcrumb, ProjectChrome, ViewProject, ViewUser } from '../src/web/views/types.ts';

const root = new URL('..', import.meta.url).pathname;
const exampleDir = join(root, 'examples/zephyrcart-intranet');
const outDir = '/tmp/views';
const chromiumPath = process.argv.includes('--chromium')
  ? process.argv[process.argv.indexOf('--chromium') + 1]!
  : '/usr/bin/chromium';
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https:; font-src 'self'; form-action 'self'; base-uri 'none'";

interface Doc {
  path: string;
  title: string;
  sort: number | null;
  tags: string[];
  classification: Classification;
  date: string | null;
  owner: string | null;
  effective: string | null;
  review_by: string | null;
  toc: TocEntry[];
  html: string;
}

// ── content: the real pipeline when it exists, else a stand-in ────────────────────────────────────────────
type RenderFn = (path: string, source: string) => Doc | Promise<Doc>;

async function loadRenderer(): Promise<RenderFn> {
  const real = join(root, 'src/content/render-document.ts');
  if (existsSync(real)) {
    const mod = (await import(pathToFileURL(real).href)) as { renderDocument?: RenderFn };
    if (typeof mod.renderDocument === 'function') {
      console.log('content: using src/content/render-document.ts');
      return mod.renderDocument;
    }
  }
  console.log('content: using the markdown-it stand-in');
  return fallbackRender;
}

const slug = (text: string): string =>
  text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s-]/gu, '')
    .trim()
    .replace(/\s+/g, '-');

function fallbackRender(path: string, source: string): Doc {
  const m = /^---\n([\s\S]*?)\n---\n?/.exec(source);
  const fm = (m ? parseYaml(m[1]!) : {}) as Record<string, unknown>;
  const body = m ? source.slice(m[0].length) : source;
  const md = new MarkdownIt({ html: true, linkify: true });
  md.use(anchor, { slugify: slug, level: [2, 3] });
  const env = {};
  const tokens = md.parse(body, env);
  // Drop the leading H1 (it becomes the page title) and collect the TOC.
  let title = typeof fm.title === 'string' ? fm.title : path;
  const first = tokens.findIndex((t) => t.type === 'heading_open');
  if (first >= 0 && tokens[first]!.tag === 'h1') {
    title = typeof fm.title === 'string' ? fm.title : tokens[first + 1]!.content;
    tokens.splice(first, 3);
  }
  const toc: TocEntry[] = [];
  tokens.forEach((t, i) => {
    if (t.type !== 'heading_open' || (t.tag !== 'h2' && t.tag !== 'h3')) return;
    const entry: TocEntry = { id: String(t.attrGet('id') ?? ''), text: tokens[i + 1]!.content, children: [] };
    if (t.tag === 'h2' || toc.length === 0) toc.push(entry);
    else toc[toc.length - 1]!.children.push(entry);
  });
  // Task-list checkboxes, as GFM renders them.
  let html = md.renderer.render(tokens, md.options, env);
  html = html
    .replace(/<li>\[x\] /g, '<li><input type="checkbox" checked disabled> ')
    .replace(/<li>\[ \] /g, '<li><input type="checkbox" disabled> ')
    .replace(/href="([^":]+)\.md"/g, 'href="$1"');
  const str = (v: unknown): string | null => (v === undefined || v === null ? null : String(v));
  return {
    path,
    title,
    sort: typeof fm.sort === 'number' ? fm.sort : null,
    tags: Array.isArray(fm.tags) ? fm.tags.map(String) : [],
    classification: (fm.classification as Classification | undefined) ?? 'internal',
    date: str(fm.date),
    owner: str(fm.owner),
    effective: str(fm.effective),
    review_by: str(fm.review_by),
    toc,
    html,
  };
}

function listMarkdown(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listMarkdown(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : [],
  );
}

/** content/'s navigation builder when it exists, else the stand-in below. */
async function navigationOf(docs: Doc[]): Promise<NavNode[]> {
  const real = join(root, 'src/content/navigation.ts');
  if (existsSync(real)) {
    const mod = (await import(pathToFileURL(real).href)) as { buildNavigation?: (docs: Doc[]) => NavNode[] };
    if (typeof mod.buildNavigation === 'function') return mod.buildNavigation(docs);
  }
  return buildNav(docs);
}

// ── navigation (a stand-in for content/'s builder) ────────────────────────────────────────────────────────
function buildNav(docs: Doc[]): NavNode[] {
  const byFolder = (folder: string): NavNode[] => {
    const nodes: NavNode[] = [];
    const folders = new Set<string>();
    for (const d of docs) {
      const rel = folder === '' ? d.path : d.path.startsWith(folder + '/') ? d.path.slice(folder.length + 1) : null;
      if (rel === null) continue;
      const slash = rel.indexOf('/');
      if (slash >= 0) folders.add(rel.slice(0, slash));
      else if (rel !== 'index.md') {
        nodes.push({ kind: 'document', path: d.path, title: d.title, sort: d.sort, date: d.date });
      }
    }
    for (const name of folders) {
      const path = folder === '' ? name : `${folder}/${name}`;
      const index = docs.find((d) => d.path === `${path}/index.md`);
      const children = byFolder(path);
      const dated = children.some((c) => c.kind === 'document' && c.date !== null);
      if (dated) children.sort((a, b) => String((b as NavDocument).date).localeCompare(String((a as NavDocument).date)));
      const section: NavSection = {
        kind: 'section',
        path,
        title: index?.title ?? name,
        sort: index?.sort ?? null,
        indexPath: index ? index.path : null,
        dated,
        children,
      };
      nodes.push(section);
    }
    return nodes.sort((a, b) => (a.sort ?? 999) - (b.sort ?? 999) || a.title.localeCompare(b.title));
  };
  return byFolder('');
}

// ── pages ─────────────────────────────────────────────────────────────────────────────────────────────────
async function buildPages(): Promise<Map<string, string>> {
  const render = await loadRenderer();
  const docs: Doc[] = [];
  for (const file of listMarkdown(exampleDir)) {
    const path = relative(exampleDir, file);
    docs.push(await render(path, readFileSync(file, 'utf8')));
  }
  const nav = await navigationOf(docs);
  const project: ViewProject = { orgSlug: 'zephyrcart', slug: 'intranet', orgName: 'ZephyrCart', name: 'ZephyrCart Intranet' };
  const user: ViewUser = { name: 'Maya Okafor', email: 'maya.okafor@zephyrcart.example' };
  const home: Breadcrumb = { title: project.name, href: projectUrl(project) };
  const chrome = (currentPath: string | null, crumbs: Breadcrumb[]): ProjectChrome => ({
    project,
    nav,
    currentPath,
    breadcrumbs: [home, ...crumbs],
  });
  const doc = (path: string): Doc => docs.find((d) => d.path === path)!;
  const frame = (title: string, body: string, signedIn = true): string =>
    renderPage({ title, user: signedIn ? user : null, csrfToken: signedIn ? 'csrf-token-123' : null, body });
  const documentPage = (path: string, crumbs: Breadcrumb[], notices?: Parameters<typeof renderDocumentBody>[1]): string => {
    const d = doc(path);
    return frame(
      `${d.title} · ${project.name}`,
      renderDocumentBody({ ...chrome(path, crumbs), ...d }, notices),
    );
  };
  const policies: Breadcrumb = { title: 'Policies', href: sectionUrl(project, 'policies') };
  const newsSection = nav.find((n): n is NavSection => n.kind === 'section' && n.path === 'news')!;

  const pages = new Map<string, string>();
  pages.set('/document', documentPage('policies/data-handling.md', [policies]));
  pages.set(
    '/document-notices',
    documentPage('policies/incident-response.md', [policies], {
      errors: [{ file: 'policies/incident-response.md', line: 4, message: 'tags must be a list of strings' }],
      brokenLinks: [{ from: 'policies/incident-response.md', href: 'on-call-rota.md' }],
    }),
  );
  pages.set('/onboarding', documentPage('onboarding.md', []));
  pages.set('/news-post', documentPage('news/2026-04-09-eu-frankfurt-ga.md', [{ title: 'News', href: sectionUrl(project, 'news') }]));
  pages.set(
    '/section',
    frame('News · ZephyrCart Intranet', renderSectionBody({ ...chrome('news', []), title: 'News', entries: newsSection.children })),
  );
  pages.set(
    '/home-section',
    frame('ZephyrCart Intranet', renderSectionBody({ ...chrome('', []), breadcrumbs: [], title: project.name, entries: nav })),
  );
  pages.set(
    '/tag',
    frame(
      'Tagged “policy”',
      renderTagBody({
        ...chrome(null, []),
        tag: 'policy',
        documents: docs.filter((d) => d.tags.includes('policy')).map((d) => ({ path: d.path, title: d.title, date: d.date })),
      }),
    ),
  );
  pages.set(
    '/projects',
    frame(
      'Projects',
      renderProjectListBody({
        signedIn: true,
        projects: [
          { ...project, documentCount: docs.length, description: 'Policies, handbooks and company news for everyone at ZephyrCart.' },
          { orgSlug: 'zephyrcart', slug: 'trust', orgName: 'ZephyrCart', name: 'Trust Center', documentCount: 7, description: 'Public security and data-handling pages for merchants and auditors.' },
          { orgSlug: 'zephyrcart', slug: 'engineering', orgName: 'ZephyrCart', name: 'Engineering Handbook', documentCount: 42, description: null },
        ],
      }),
    ),
  );
  pages.set('/projects-empty', frame('Projects', renderProjectListBody({ signedIn: false, projects: [] }), false));
  pages.set(
    '/login',
    frame(
      'Sign in',
      renderLoginBody({ csrfToken: 'csrf', email: 'maya.okafor@zephyrcart.example', next: '/', error: 'Email or password is incorrect.' }),
      false,
    ),
  );
  pages.set('/logout', frame('Sign out', renderLogoutBody({ csrfToken: 'csrf' })));
  pages.set(
    '/404',
    frame(
      'Page not found',
      renderErrorBody({
        status: 404,
        title: 'Page not found',
        message: 'There is no page at this address, or you are not allowed to see it.',
        requestId: 'req-7f3a9c21',
      }),
      false,
    ),
  );
  // Keep documentUrl in use so links in the nav resolve in the screenshots' server too.
  void documentUrl;
  return pages;
}

// ── serve + shoot ─────────────────────────────────────────────────────────────────────────────────────────
const shots: { name: string; page: string; width: number; height: number; fullPage?: boolean; dark?: boolean; open?: string[] }[] = [
  { name: 'document-desktop', page: '/document', width: 1440, height: 900 },
  { name: 'document-desktop-full', page: '/document', width: 1440, height: 900, fullPage: true },
  { name: 'document-tablet', page: '/document', width: 1024, height: 800 },
  { name: 'document-mobile', page: '/document', width: 390, height: 844, fullPage: true },
  { name: 'document-mobile-open', page: '/document', width: 390, height: 844, fullPage: true, open: ['.fold-nav', '.fold-toc'] },
  { name: 'document-dark', page: '/document', width: 1440, height: 900, dark: true },
  { name: 'document-notices', page: '/document-notices', width: 1440, height: 900 },
  { name: 'onboarding-desktop', page: '/onboarding', width: 1440, height: 900, fullPage: true },
  { name: 'news-post', page: '/news-post', width: 1440, height: 900 },
  { name: 'section-desktop', page: '/section', width: 1440, height: 900 },
  { name: 'section-mobile', page: '/section', width: 390, height: 844 },
  { name: 'home-section', page: '/home-section', width: 1440, height: 900 },
  { name: 'tag-desktop', page: '/tag', width: 1440, height: 900 },
  { name: 'projects-desktop', page: '/projects', width: 1440, height: 900 },
  { name: 'projects-mobile', page: '/projects', width: 390, height: 844, fullPage: true },
  { name: 'projects-empty', page: '/projects-empty', width: 1440, height: 900 },
  { name: 'login-desktop', page: '/login', width: 1440, height: 900 },
  { name: 'login-mobile', page: '/login', width: 390, height: 844 },
  { name: 'logout', page: '/logout', width: 1440, height: 900 },
  { name: '404-desktop', page: '/404', width: 1440, height: 900 },
  { name: '404-mobile', page: '/404', width: 390, height: 844 },
];

async function main(): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const pages = await buildPages();
  for (const [path, html] of pages) writeFileSync(join(outDir, `${path.slice(1)}.html`), html);

  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0]!;
    if (url === stylesheet.href) {
      res.writeHead(200, { 'content-type': stylesheet.contentType }).end(stylesheet.body);
      return;
    }
    const html = pages.get(url);
    if (html) res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': CSP }).end(html);
    else res.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  const problems: string[] = [];
  try {
    for (const shot of shots) {
      const context = await browser.newContext({
        viewport: { width: shot.width, height: shot.height },
        deviceScaleFactor: 1,
        colorScheme: shot.dark ? 'dark' : 'light',
      });
      const page = await context.newPage();
      page.on('console', (msg) => {
        if (msg.type() === 'error' && !msg.text().includes('404')) problems.push(`${shot.name}: ${msg.text()}`);
      });
      await page.goto(base + shot.page, { waitUntil: 'load' });
      for (const selector of shot.open ?? []) await page.click(`${selector} > summary`);
      if (shot.open) {
        await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
        await page.waitForTimeout(300);
      }
      // Nothing may stick out sideways.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      if (overflow > 0) {
        const culprits = await page.evaluate(() =>
          Array.from(document.querySelectorAll('body *'))
            .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
            .slice(0, 5)
            .map((el) => `${el.tagName.toLowerCase()}.${el.className}`),
        );
        problems.push(`${shot.name}: page is ${overflow}px wider than the viewport (${culprits.join(', ')})`);
      }
      await page.screenshot({ path: join(outDir, `${shot.name}.png`), fullPage: shot.fullPage ?? false });
      // Tall phone pages are also cut into screen-sized pieces, to be looked at one by one.
      if (shot.fullPage && shot.width < 800) {
        const height = await page.evaluate(() => document.documentElement.scrollHeight);
        for (let i = 0; i * shot.height < height && i < 5; i++) {
          const clip = { x: 0, y: i * shot.height, width: shot.width, height: Math.min(shot.height, height - i * shot.height) };
          await page.screenshot({ path: join(outDir, `${shot.name}-${i + 1}.png`), fullPage: true, clip });
        }
      }
      await context.close();
      console.log(`wrote ${join(outDir, `${shot.name}.png`)}`);
    }
  } finally {
    await browser.close();
    server.close();
  }
  if (problems.length > 0) {
    console.error(problems.join('\n'));
    process.exitCode = 1;
  }
}

await main();
