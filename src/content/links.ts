/**
 * Links between documents. Page URLs mirror repository paths (`policies/x.md` → `…/policies/x`,
 * `policies/index.md` → `…/policies/`), so a relative link keeps its meaning once `.md` is dropped.
 */
import type { DocumentLink } from './types.ts';

export interface ResolvedLink {
  /** Repository path the link points to; starts with `../` when it leaves the repository. */
  target: string;
  anchor?: string;
}

export interface BrokenLink {
  from: string;
  href: string;
  target: string;
}

const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:/i;
const MARKDOWN_FILE = /\.md$/i;
const INDEX_FILE = /(^|\/)index\.md$/i;

/** Resolve a relative link to a Markdown document against the linking document's path; null for anything else. */
export function resolveRelativeLink(fromPath: string, href: string): ResolvedLink | null {
  const { path, fragment } = splitHref(href);
  if (path === '' || HAS_SCHEME.test(path) || path.startsWith('/') || path.startsWith('\\')) return null;
  const decodedPath = safeDecode(path);
  if (!MARKDOWN_FILE.test(decodedPath)) return null;
  const target = joinRepoPath(folderOf(fromPath), decodedPath);
  const anchor = fragment ? safeDecode(fragment) : '';
  return anchor ? { target, anchor } : { target };
}

/** A reference from a document to something in the repository: a document, a folder or an attachment. */
export interface LocalReference {
  /** Repository path it points to (no trailing slash); starts with `../` when it leaves the repository. */
  target: string;
  anchor?: string;
  /** The href to write in the page: `.md` dropped (see pageHrefFor), `/…` made relative to the page. */
  pageHref: string;
}

/**
 * Resolve any href that stays on this site against the linking document: relative paths, paths from the
 * repository root (`/images/a.png`, as GitHub reads them) and same-page anchors (`#x`, target = `fromPath`).
 * Null for URLs with a scheme, protocol-relative URLs and empty hrefs.
 */
export function resolveLocalReference(fromPath: string, href: string): LocalReference | null {
  const { path, fragment } = splitHref(href);
  const anchor = fragment ? safeDecode(fragment) : '';
  if (path === '') {
    if (!anchor) return null;
    return { target: fromPath, anchor, pageHref: href };
  }
  if (HAS_SCHEME.test(path) || path.startsWith('//') || path.startsWith('\\') || path.startsWith('/\\')) return null;
  const fromRoot = path.startsWith('/');
  const decodedPath = safeDecode(path);
  const target = joinRepoPath(fromRoot ? '' : folderOf(fromPath), decodedPath);
  // A page's URL sits at the same depth as its file (`a/b/c.md` → `a/b/c`, `a/b/index.md` → `a/b/`), so a path
  // from the root becomes relative by climbing out of the document's folder.
  const relative = fromRoot ? pageRootPrefix(fromPath) + href.replace(/^\/+/, '') : href;
  const pageHref = MARKDOWN_FILE.test(decodedPath) ? pageHrefFor(relative) : relative;
  return anchor ? { target, anchor, pageHref } : { target, pageHref };
}

/** From a document's page to the project root, relative: `a/b/c.md` → `../../`, `c.md` → `./`. */
function pageRootPrefix(fromPath: string): string {
  const folder = folderOf(fromPath);
  return folder === '' ? './' : '../'.repeat(folder.split('/').length);
}

/** Rewrite a relative `.md` href to the matching page URL, still relative: `a/index.md#x` → `a/#x`, `b.md` → `b`. */
export function pageHrefFor(href: string): string {
  const { path, query, fragment } = splitHref(href);
  let page: string;
  if (INDEX_FILE.test(path)) {
    page = path.slice(0, path.length - 'index.md'.length) || './';
  } else {
    page = path.replace(MARKDOWN_FILE, '');
  }
  return page + (query ? `?${query}` : '') + (fragment ? `#${fragment}` : '');
}

/** Links whose target is outside the repository or is not one of `existingPaths`. */
export function findBrokenLinks(
  docs: readonly { path: string; links: readonly DocumentLink[] }[],
  existingPaths: ReadonlySet<string>,
): BrokenLink[] {
  const broken: BrokenLink[] = [];
  for (const doc of docs) {
    for (const link of doc.links) {
      if (link.target === '..' || link.target.startsWith('../') || !existingPaths.has(link.target)) {
        broken.push({ from: doc.path, href: link.href, target: link.target });
      }
    }
  }
  return broken;
}

/** Folder of a repository path: `a/b/c.md` → `a/b`, `c.md` → ``. */
export function folderOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash === -1 ? '' : path.slice(0, slash);
}

function joinRepoPath(folder: string, relative: string): string {
  const parts: string[] = [];
  addSegments(parts, folder);
  addSegments(parts, relative);
  return parts.join('/');
}

/** Append the `/`-separated segments of `path` to `parts`, resolving `.` and `..` against what is there. */
function addSegments(parts: string[], path: string): void {
  // The segments of path.split('/'), read with indexOf: this runs for every link, and split was ~3x slower.
  for (let start = 0; start <= path.length; ) {
    const slash = path.indexOf('/', start);
    const end = slash === -1 ? path.length : slash;
    const segment = path.slice(start, end);
    start = end + 1;
    if (segment === '' || segment === '.') continue;
    if (segment === '..' && parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop();
    else parts.push(segment);
  }
}

function splitHref(href: string): { path: string; query: string; fragment: string } {
  const hashAt = href.indexOf('#');
  const beforeHash = hashAt === -1 ? href : href.slice(0, hashAt);
  const fragment = hashAt === -1 ? '' : href.slice(hashAt + 1);
  const queryAt = beforeHash.indexOf('?');
  return {
    path: queryAt === -1 ? beforeHash : beforeHash.slice(0, queryAt),
    query: queryAt === -1 ? '' : beforeHash.slice(queryAt + 1),
    fragment,
  };
}

function safeDecode(value: string): string {
  // Without a `%` there is nothing to decode (and nothing malformed).
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
