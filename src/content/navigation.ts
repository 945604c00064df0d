/**
 * The navigation tree of a project as one reader sees it. Built only from the documents that reader may read,
 * so a folder whose documents are all hidden from them never appears, not even by name.
 */
import { humanizeName } from './humanize.ts';
import { folderOf } from './links.ts';
import type { NavDocument, NavInput, NavNode, NavSection } from './types.ts';

/** Title and sort of a section known apart from `docs` (already filtered for the reader). */
export interface SectionIndex {
  title: string;
  sort: number | null;
}

export interface SectionCrumb {
  /** Folder path, e.g. `handbook/engineering`. */
  path: string;
  title: string;
}

interface Folder {
  path: string;
  index: NavInput | null;
  documents: NavInput[];
  folders: Map<string, Folder>;
}

const INDEX = 'index.md';
const README = 'README.md';
const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/**
 * Group documents into nested sections by folder. A folder's `index.md` titles and sorts its section; without
 * one, `sectionIndexes` may (it never creates a section), else the folder name is humanized.
 * The top-level `index.md` is the project home and is not listed.
 */
export function buildNavigation(
  docs: readonly NavInput[],
  sectionIndexes?: ReadonlyMap<string, SectionIndex>,
): NavNode[] {
  const root: Folder = { path: '', index: null, documents: [], folders: new Map() };
  // A folder's page is its index.md, else its README.md (as GitHub shows a folder's README).
  const withIndex = new Set(docs.filter((doc) => fileName(doc.path) === INDEX).map((doc) => folderOf(doc.path)));
  const isFolderPage = (path: string) => fileName(path) === INDEX || (fileName(path) === README && !withIndex.has(folderOf(path)));
  for (const doc of docs) {
    if (doc.path === INDEX || (doc.path === README && !withIndex.has(''))) continue;
    const folder = folderFor(root, folderOf(doc.path));
    if (isFolderPage(doc.path)) folder.index = doc;
    else folder.documents.push(doc);
  }
  const children: NavNode[] = [
    ...root.documents.map(toNavDocument),
    ...[...root.folders.values()].map((folder) => toSection(folder, sectionIndexes)),
  ];
  return children.sort(byPosition);
}

/** The sections above a document or section path (its own section not included for a section or `index.md`). */
export function breadcrumbsFor(nav: readonly NavNode[], path: string): SectionCrumb[] {
  const trimmed = trimSlashes(path);
  let folder: string;
  if (/\.md$/i.test(trimmed)) {
    folder = folderOf(trimmed);
    if (fileName(trimmed) === INDEX) folder = folderOf(folder);
  } else {
    folder = folderOf(trimmed);
  }
  const crumbs: SectionCrumb[] = [];
  if (folder === '') return crumbs;
  const parts = folder.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const section = findSection(nav, parts.slice(0, i).join('/'));
    if (!section) break;
    crumbs.push({ path: section.path, title: section.title });
  }
  return crumbs;
}

/** The section for a folder path (`policies`, `handbook/engineering`, trailing slash tolerated), or null. */
export function findSection(nav: readonly NavNode[], folderPath: string): NavSection | null {
  const wanted = trimSlashes(folderPath);
  if (wanted === '') return null;
  let level: readonly NavNode[] = nav;
  for (;;) {
    const next = level.find(
      (node): node is NavSection => node.kind === 'section' && (wanted === node.path || wanted.startsWith(node.path + '/')),
    );
    if (!next) return null;
    if (next.path === wanted) return next;
    level = next.children;
  }
}

function folderFor(root: Folder, path: string): Folder {
  let folder = root;
  if (path === '') return folder;
  let current = '';
  for (const name of path.split('/')) {
    current = current ? `${current}/${name}` : name;
    let child = folder.folders.get(name);
    if (!child) {
      child = { path: current, index: null, documents: [], folders: new Map() };
      folder.folders.set(name, child);
    }
    folder = child;
  }
  return folder;
}

function toSection(folder: Folder, sectionIndexes: ReadonlyMap<string, SectionIndex> | undefined): NavSection {
  const known = sectionIndexes?.get(folder.path);
  const dated = folder.documents.length > 0 && folder.documents.every((doc) => Boolean(doc.date));
  const documents = folder.documents.map(toNavDocument);
  const sections = [...folder.folders.values()].map((child) => toSection(child, sectionIndexes));
  const children: NavNode[] = dated
    ? [...documents.sort(byDateNewestFirst), ...sections.sort(byPosition)]
    : [...documents, ...sections].sort(byPosition);
  return {
    kind: 'section',
    path: folder.path,
    title: folder.index?.title ?? known?.title ?? humanizeName(fileName(folder.path)),
    sort: folder.index ? folder.index.sort : (known?.sort ?? null),
    indexPath: folder.index?.path ?? null,
    dated,
    children,
  };
}

function toNavDocument(doc: NavInput): NavDocument {
  return { kind: 'document', path: doc.path, title: doc.title, sort: doc.sort, date: doc.date };
}

/** Items with a `sort` first (ascending), then the rest; ties and unsorted items by title, then path. */
function byPosition(a: NavNode, b: NavNode): number {
  if (a.sort !== null && b.sort !== null && a.sort !== b.sort) return a.sort - b.sort;
  if (a.sort !== null && b.sort === null) return -1;
  if (a.sort === null && b.sort !== null) return 1;
  return byTitle(a, b);
}

function byDateNewestFirst(a: NavDocument, b: NavDocument): number {
  const dateA = a.date ?? '';
  const dateB = b.date ?? '';
  if (dateA !== dateB) return dateA < dateB ? 1 : -1;
  return byTitle(a, b);
}

function byTitle(a: NavNode, b: NavNode): number {
  return collator.compare(a.title, b.title) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}

function fileName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function trimSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, '');
}
