import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { NavNode } from '../../src/content/types.ts';
import { stylesheet } from '../../src/web/assets.ts';
import {
  renderDocumentBody,
  renderErrorBody,
  renderLoginBody,
  renderLogoutBody,
  renderPage,
  renderProjectListBody,
  renderSectionBody,
  renderTagBody,
} from '../../src/web/views/index.ts';
import type { DocumentView, EditorNotices, ProjectChrome, ViewProject } from '../../src/web/views/types.ts';
import type { TrustedHtml } from '../../src/content/trusted-html.ts';

const EVIL = '<script>alert(1)</script>';
const project: ViewProject = { orgSlug: 'zephyrcart', slug: 'intranet', orgName: 'ZephyrCart', name: 'ZephyrCart Intranet' };

const nav: NavNode[] = [
  {
    kind: 'section',
    path: 'news',
    title: 'News',
    sort: 1,
    indexPath: 'news/index.md',
    dated: true,
    children: [
      { kind: 'document', path: 'news/2026-05-12-window.md', title: 'Deploy window', sort: null, date: '2026-05-12' },
      { kind: 'document', path: 'news/2026-04-09-ga.md', title: 'Frankfurt GA', sort: null, date: '2026-04-09' },
    ],
  },
  {
    kind: 'section',
    path: 'policies',
    title: 'Policies',
    sort: 2,
    indexPath: 'policies/index.md',
    dated: false,
    children: [
      { kind: 'document', path: 'policies/code-of-conduct.md', title: 'Code of conduct', sort: 1, date: null },
      { kind: 'document', path: 'policies/data-handling.md', title: 'Data handling', sort: 2, date: null },
      {
        kind: 'section',
        path: 'policies/regional',
        title: 'Regional rules',
        sort: 3,
        indexPath: null,
        dated: false,
        children: [{ kind: 'document', path: 'policies/regional/eu.md', title: 'EU addendum', sort: null, date: null }],
      },
    ],
  },
  { kind: 'document', path: 'onboarding.md', title: 'Onboarding', sort: 3, date: null },
];

const chrome = (currentPath: string | null): ProjectChrome => ({
  project,
  nav,
  currentPath,
  breadcrumbs: [
    { title: 'ZephyrCart Intranet', href: '/zephyrcart/intranet/' },
    { title: 'Policies', href: '/zephyrcart/intranet/policies/' },
  ],
});

const documentView = (overrides: Partial<DocumentView> = {}): DocumentView => ({
  ...chrome('policies/data-handling.md'),
  path: 'policies/data-handling.md',
  title: 'Data handling',
  tags: ['policy', 'compliance'],
  classification: 'confidential',
  date: null,
  owner: 'Security team',
  effective: '2026-02-01',
  review_by: '2026-08-01',
  toc: [
    { id: 'classification', text: 'Classification', children: [{ id: 'labels', text: 'Labelling what you write', children: [] }] },
    { id: 'audits', text: 'Audits', children: [] },
  ],
  html: '<h2 id="classification">Classification</h2><table><tr><td>Public</td></tr></table><div class="text-muted">raw</div>' as TrustedHtml,
  ...overrides,
});

const page = (body: string, signedIn = false, title = 'Data handling'): string =>
  renderPage({
    title,
    user: signedIn ? { name: 'Maya Okafor', email: 'maya@zephyrcart.example' } : null,
    csrfToken: signedIn ? 'csrf-abc123' : null,
    body: body as TrustedHtml,
  });

/** Every page the views can produce, for the checks that hold for all of them. */
function allPages(): Record<string, string> {
  const notices: EditorNotices = { errors: [{ file: 'a.md', line: 2, message: 'bad' }], brokenLinks: [{ from: 'a.md', href: 'b.md' }] };
  return {
    document: page(renderDocumentBody(documentView()), true),
    documentWithNotices: page(renderDocumentBody(documentView(), notices), true),
    documentNoToc: page(renderDocumentBody(documentView({ toc: [] }))),
    section: page(renderSectionBody({ ...chrome('news'), title: 'News', entries: nav[0]!.kind === 'section' ? nav[0]!.children : [] })),
    tag: page(renderTagBody({ ...chrome(null), tag: 'policy', documents: [{ path: 'policies/data-handling.md', title: 'Data handling', date: null }] })),
    projects: page(renderProjectListBody({ signedIn: true, projects: [{ ...project, documentCount: 16, description: 'Handbooks' }] }), true),
    projectsEmpty: page(renderProjectListBody({ signedIn: false, projects: [] })),
    login: page(renderLoginBody({ csrfToken: 'csrf-login', email: 'maya@zephyrcart.example', next: '/x', error: 'Email or password is incorrect.' })),
    logout: page(renderLogoutBody({ csrfToken: 'csrf-logout' }), true),
    error: page(renderErrorBody({ status: 404, title: 'Page not found', message: 'Nothing here.', requestId: 'req-42' })),
  };
}

describe('renderPage', () => {
  it('is a complete document with the hashed stylesheet and the title suffix', () => {
    const html = page('<p>body</p>');
    assert.match(html, /^<!doctype html><html lang="en">/);
    assert.match(html, /<meta charset="utf-8"\/?>/);
    assert.match(html, /<meta name="viewport" content="width=device-width, initial-scale=1"\/?>/);
    assert.ok(html.includes('<title>Data handling · DocuCommit</title>'));
    assert.ok(html.includes(`<link rel="stylesheet" href="${stylesheet.href}"`));
    assert.match(html, /<main id="main"[^>]*><p>body<\/p><\/main>/);
    assert.match(html, /<a class="skip-link" href="#main">/);
    assert.match(html, /<a class="brand" href="\/">.*<span class="brand-name">DocuCommit<\/span><\/a>/);
    assert.match(html, /<a class="topbar-link" href="\/">Projects<\/a>/);
  });

  it('shows a sign-in link to anonymous readers and no sign-out form', () => {
    const html = page('');
    assert.match(html, /<a [^>]*href="\/login"[^>]*>Sign in<\/a>/);
    assert.ok(!html.includes('action="/logout"'));
  });

  it('shows the user and a sign-out form carrying the CSRF token when signed in', () => {
    const html = page('', true);
    assert.ok(html.includes('Maya Okafor'));
    assert.match(html, /<form [^>]*method="post" action="\/logout">/);
    assert.ok(html.includes('<input type="hidden" name="_csrf" value="csrf-abc123"/>'));
    assert.match(html, /<button [^>]*>Sign out<\/button>/);
    assert.ok(!html.includes('href="/login"'));
  });

  it('escapes the title and the user name', () => {
    const html = renderPage({ title: EVIL, user: { name: EVIL, email: `"${EVIL}` }, csrfToken: '"><x', body: '' as TrustedHtml });
    assert.ok(!html.includes(EVIL));
    assert.ok(html.includes('&lt;script>alert(1)&lt;/script> · DocuCommit'));
    assert.ok(!html.includes('value=""><x"'));
  });
});

describe('renderDocumentBody', () => {
  it('marks the current document, and only it, with aria-current="page"', () => {
    const html = renderDocumentBody(documentView());
    const current = [...html.matchAll(/<a [^>]*aria-current="page"[^>]*>/g)].map((m) => m[0]);
    assert.equal(current.length, 1);
    assert.ok(current[0]!.includes('href="/zephyrcart/intranet/policies/data-handling"'));
  });

  it('renders the project navigation: heading link, sections, nested sections, dated entries', () => {
    const html = renderDocumentBody(documentView());
    assert.match(html, /<a href="\/zephyrcart\/intranet\/">ZephyrCart Intranet<\/a>/);
    assert.ok(html.includes('href="/zephyrcart/intranet/news/"'));
    assert.ok(html.includes('href="/zephyrcart/intranet/policies/regional/"'));
    assert.ok(html.includes('href="/zephyrcart/intranet/policies/regional/eu"'));
    assert.ok(html.includes('<time class="nav-date" datetime="2026-05-12">May 12, 2026</time>'));
    // Undated sections show no dates.
    assert.equal([...html.matchAll(/class="nav-date"/g)].length, 2);
  });

  it('renders the title, classification badge, meta facts, tag links and breadcrumbs', () => {
    const html = renderDocumentBody(documentView());
    assert.match(html, /<h1 class="doc-title" id="doc-title">Data handling<\/h1>/);
    assert.match(html, /<span class="badge badge-confidential"[^>]*>Confidential<\/span>/);
    assert.ok(html.includes('Security team'));
    assert.ok(html.includes('Feb 1, 2026') && html.includes('Aug 1, 2026'));
    assert.ok(html.includes('href="/zephyrcart/intranet/-/tags/policy"'));
    assert.ok(html.includes('href="/zephyrcart/intranet/-/tags/compliance"'));
    assert.match(html, /<nav class="breadcrumbs" aria-label="Breadcrumb">/);
  });

  it('renders the table of contents from toc, nested, and nothing of it when toc is empty', () => {
    const html = renderDocumentBody(documentView());
    assert.ok(html.includes('Document Navigation'));
    assert.ok(html.includes('<a href="#classification">Classification</a>'));
    assert.match(html, /<a href="#classification">Classification<\/a><ul class="toc-list toc-sublist"><li><a href="#labels">/);
    assert.ok(html.includes('<a href="#audits">Audits</a>'));

    const empty = renderDocumentBody(documentView({ toc: [] }));
    assert.ok(!empty.includes('Document Navigation'));
    assert.ok(!empty.includes('class="toc'));
    assert.ok(!empty.includes('fold-toc'));
  });

  it('folds both side columns into closed <details> elements (no JavaScript)', () => {
    const html = renderDocumentBody(documentView());
    assert.match(html, /<details class="fold fold-nav">/);
    assert.match(html, /<details class="fold fold-toc">/);
    assert.ok(!/<details[^>]* open/.test(html));
  });

  it('inserts the sanitized document HTML as is', () => {
    const html = renderDocumentBody(documentView());
    assert.ok(html.includes('<div class="doc-body"><h2 id="classification">Classification</h2><table>'));
    assert.ok(html.includes('<div class="text-muted">raw</div>'));
  });

  it('escapes titles, tags and navigation entries', () => {
    const evilNav: NavNode[] = [{ kind: 'document', path: 'x.md', title: EVIL, sort: null, date: null }];
    const html = renderDocumentBody(
      documentView({
        title: EVIL,
        tags: [EVIL],
        owner: EVIL,
        nav: evilNav,
        breadcrumbs: [{ title: EVIL, href: '/"onmouseover="x' }],
        toc: [{ id: '"><script>', text: EVIL, children: [] }],
        html: '' as TrustedHtml,
      }),
    );
    assert.ok(!html.includes('<script'));
    assert.ok(html.includes('&lt;script>alert(1)&lt;/script>'));
    assert.ok(html.includes('/-/tags/%3Cscript%3Ealert(1)%3C%2Fscript%3E'));
    assert.ok(!html.includes('"onmouseover="'));
  });

  it('shows editor notices only when they are passed', () => {
    const notices: EditorNotices = {
      errors: [{ file: 'policies/data-handling.md', line: 3, message: 'tags must be a list' }],
      brokenLinks: [{ from: 'policies/data-handling.md', href: 'missing.md' }],
    };
    const withNotices = renderDocumentBody(documentView(), notices);
    assert.ok(withNotices.includes('policies/data-handling.md:3'));
    assert.ok(withNotices.includes('tags must be a list'));
    assert.ok(withNotices.includes('missing.md'));

    const without = renderDocumentBody(documentView());
    assert.ok(!without.includes('class="notices"'));
    assert.ok(!without.includes('tags must be a list'));

    const none = renderDocumentBody(documentView(), { errors: [], brokenLinks: [] });
    assert.ok(!none.includes('class="notices"'));
  });
});

describe('other bodies', () => {
  it('section page lists entries with dates and highlights the section', () => {
    const entries = nav[0]!.kind === 'section' ? nav[0]!.children : [];
    const html = renderSectionBody({ ...chrome('news'), title: 'News', entries });
    assert.match(html, /<h1 class="doc-title">News<\/h1>/);
    assert.ok(html.includes('class="entry-date"'));
    assert.ok(html.includes('href="/zephyrcart/intranet/news/2026-05-12-window"'));
    assert.match(html, /<a [^>]*href="\/zephyrcart\/intranet\/news\/"[^>]*aria-current="page"/);
    assert.ok(!html.includes('Document Navigation'));
  });

  it('tag page lists the documents and escapes the tag', () => {
    const html = renderTagBody({ ...chrome(null), tag: EVIL, documents: [{ path: 'policies/data-handling.md', title: 'Data handling', date: null }] });
    assert.ok(!html.includes('<script'));
    assert.ok(html.includes('href="/zephyrcart/intranet/policies/data-handling"'));
  });

  it('project list shows cards, and an empty state that depends on signing in', () => {
    const html = renderProjectListBody({ signedIn: true, projects: [{ ...project, name: EVIL, documentCount: 1, description: 'Handbooks' }] });
    assert.match(html, /<h1>Projects<\/h1>/);
    assert.ok(html.includes('href="/zephyrcart/intranet/"'));
    assert.ok(html.includes('1 document<') && html.includes('ZephyrCart') && html.includes('Handbooks'));
    assert.ok(!html.includes('<script'));

    const anonymous = renderProjectListBody({ signedIn: false, projects: [] });
    assert.ok(anonymous.includes("Sign in to see your organization's projects"));
    const member = renderProjectListBody({ signedIn: true, projects: [] });
    assert.ok(!member.includes('Sign in to see'));
    assert.notEqual(anonymous, member);
  });

  it('login form posts with the CSRF token, next, autocomplete and an alert region', () => {
    const html = renderLoginBody({ csrfToken: 'tok"<', email: `a${EVIL}`, next: '/zephyrcart/', error: `Wrong ${EVIL}` });
    assert.match(html, /<form class="form" method="post" action="\/login">/);
    assert.ok(html.includes('name="_csrf" value="tok&quot;&lt;"'));
    assert.ok(html.includes('name="next" value="/zephyrcart/"'));
    assert.ok(html.includes('autocomplete="username"') && html.includes('autocomplete="current-password"'));
    assert.match(html, /role="alert">Wrong &lt;script>/);
    assert.ok(!html.includes('<script'));
  });

  it('logout confirmation posts the CSRF token', () => {
    const html = renderLogoutBody({ csrfToken: 'csrf-logout' });
    assert.match(html, /method="post" action="\/logout"/);
    assert.ok(html.includes('name="_csrf" value="csrf-logout"'));
  });

  it('error page shows status, title, message, request ID and a link home', () => {
    const html = renderErrorBody({ status: 403, title: 'Forbidden', message: EVIL, requestId: 'req-9' });
    assert.ok(html.includes('403') && html.includes('Forbidden'));
    assert.ok(html.includes('Request ID: <code>req-9</code>'));
    assert.ok(html.includes('href="/"'));
    assert.ok(!html.includes('<script'));
  });
});

describe('every page', () => {
  it('has no inline script and no inline style (the CSP forbids both)', () => {
    for (const [name, html] of Object.entries(allPages())) {
      // scripts only as files of our own assets (the top bar's search shortcut), never inline
      const inline = (html.match(/<script[^>]*>/gi) ?? []).filter((tag) => !/^<script type="module" src="\/-\/assets\/[\w.-]+\.js">$/.test(tag));
      assert.deepEqual(inline, [], `${name} has an inline <script>`);
      assert.ok(!/<script[^>]*>[^<]/i.test(html), `${name} has a <script> with content`);
      assert.ok(!/\sstyle=/i.test(html), `${name} has a style attribute`);
      assert.ok(!/<style/i.test(html), `${name} has a <style> element`);
      assert.ok(!/\son[a-z]+=/i.test(html), `${name} has an inline event handler`);
    }
  });

  it('uses unique ids', () => {
    for (const [name, html] of Object.entries(allPages())) {
      const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
      assert.equal(new Set(ids).size, ids.length, `${name} repeats an id`);
    }
  });

  it('writes raw HTML only through TrustedHtml', () => {
    const dir = new URL('../../src/web/views/', import.meta.url);
    const offenders = readdirSync(dir)
      .filter((file) => file !== 'trusted-html.tsx' && /\.tsx?$/.test(file))
      .filter((file) => readFileSync(new URL(file, dir), 'utf8').includes('dangerouslySetInnerHTML'));
    assert.deepEqual(offenders, []);
  });
});
