import { parseFrontMatter } from './front-matter.ts';
import { titleFromPath } from './humanize.ts';
import { renderMarkdown } from './markdown.ts';
import { sanitizeDocumentHtml } from './sanitize.ts';
import type { ContentError, FrontMatter, RenderedDocument } from './types.ts';

/** Cache key part for rendered output: bump whenever the same source would render differently. */
export const RENDERER_VERSION = 'content-4';

/** Render one Markdown file (front matter + body) into everything a page and navigation need. Never throws. */
export function renderDocument(path: string, source: string): RenderedDocument {
  try {
    return render(path, String(source));
  } catch (error) {
    const message = `could not render this document: ${(error as Error)?.message ?? String(error)}`;
    return failedDocument(path, [{ file: path, line: 1, message }]);
  }
}

function render(path: string, source: string): RenderedDocument {
  const frontMatter = parseFrontMatter(path, source);
  const data = frontMatter.data;
  const body = renderMarkdown(frontMatter.body, { path, frontMatterTitle: data?.title, firstLine: frontMatter.bodyStartLine });
  return {
    path,
    title: data?.title ?? body.headingTitle ?? titleFromPath(path),
    sort: data?.sort ?? null,
    tags: data?.tags ?? [],
    // An unreadable header must not widen access: fail closed.
    classification: data?.classification ?? 'restricted',
    date: data?.date ?? null,
    owner: data?.owner ?? null,
    effective: data?.effective ?? null,
    review_by: data?.review_by ?? null,
    toc: body.toc,
    links: body.links,
    anchors: body.anchors,
    html: body.html,
    errors: frontMatter.errors,
    ...(data?.acknowledge ? { acknowledge: data.acknowledge } : {}),
    ...(data?.review_every ? { review_every: data.review_every } : {}),
  };
}

/** The notice that stands for the body of a document too large to render. */
export const TOO_LARGE_HTML = sanitizeDocumentHtml('<p class="too-large">This document is too large to render. Download its source to read it.</p>');

/**
 * A document whose rendering took longer than its budget (projects/budget-pool.ts): its front matter when it was
 * read in time (null or undefined: classified restricted, failing closed), a notice instead of its body.
 */
export function unrenderedDocument(path: string, frontMatter: FrontMatter | null | undefined): RenderedDocument {
  const data = frontMatter ?? null;
  return {
    path,
    title: data?.title ?? safeTitle(path),
    sort: data?.sort ?? null,
    tags: data?.tags ?? [],
    classification: data?.classification ?? 'restricted',
    date: data?.date ?? null,
    owner: data?.owner ?? null,
    effective: data?.effective ?? null,
    review_by: data?.review_by ?? null,
    toc: [],
    links: [],
    anchors: [],
    html: TOO_LARGE_HTML,
    errors: [],
    tooLarge: true,
    ...(data?.acknowledge ? { acknowledge: data.acknowledge } : {}),
    ...(data?.review_every ? { review_every: data.review_every } : {}),
  };
}

function failedDocument(path: string, errors: ContentError[]): RenderedDocument {
  return {
    path,
    title: safeTitle(path),
    sort: null,
    tags: [],
    classification: 'restricted',
    date: null,
    owner: null,
    effective: null,
    review_by: null,
    toc: [],
    links: [],
    anchors: [],
    html: NO_HTML,
    errors,
  };
}

const NO_HTML = sanitizeDocumentHtml('');

function safeTitle(path: string): string {
  try {
    return titleFromPath(String(path));
  } catch {
    return 'Untitled';
  }
}
