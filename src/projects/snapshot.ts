import { clearanceCovers, CLASSIFICATION_ORDER } from '../access/roles.ts';
import { findBrokenLinks } from '../content/links.ts';
import { buildNavigation } from '../content/navigation.ts';
import type { Classification, NavNode, RenderedDocument } from '../content/types.ts';

/** What a snapshot keeps in memory about each document: everything but the HTML and search text. */
export type DocumentMeta = Omit<RenderedDocument, 'html' | 'text'>;

export interface SnapshotDocument {
  path: string;
  blobId: string;
  meta: DocumentMeta;
}

/** The documents a reader of one clearance may see, with the navigation and tag index built from them. */
export interface ClearanceView {
  nav: NavNode[];
  documents: Map<string, SnapshotDocument>;
  /** Tag → readable documents carrying it. */
  tags: Map<string, SnapshotDocument[]>;
  /** Folder paths that contain at least one readable document (at any depth). */
  folders: Set<string>;
}

/** The rendered site of a project at one commit. Immutable once built. */
export class Snapshot {
  private readonly views = new Map<Classification, ClearanceView>();
  /** Links to documents that do not exist, per source document path. */
  readonly brokenLinks: Map<string, { from: string; href: string }[]>;

  constructor(
    readonly projectId: string,
    readonly commit: string | null,
    readonly tree: string | null,
    readonly documents: ReadonlyMap<string, SnapshotDocument>,
  ) {
    const broken = findBrokenLinks(
      [...documents.values()].map((d) => ({ path: d.path, links: d.meta.links })),
      new Set(documents.keys()),
    );
    this.brokenLinks = new Map();
    for (const link of broken) {
      const list = this.brokenLinks.get(link.from) ?? [];
      list.push(link);
      this.brokenLinks.set(link.from, list);
    }
  }

  /** The view for readers cleared up to `clearance`; built once per snapshot and clearance. */
  viewFor(clearance: Classification): ClearanceView {
    let view = this.views.get(clearance);
    if (!view) {
      view = buildView(
        [...this.documents.values()].filter((d) => clearanceCovers(clearance, d.meta.classification)),
      );
      this.views.set(clearance, view);
    }
    return view;
  }

  /** Whether readers of `clearance` see at least one document. */
  hasReadable(clearance: Classification): boolean {
    return this.viewFor(clearance).documents.size > 0;
  }

  /** Number of documents readers of `clearance` see. */
  countFor(clearance: Classification): number {
    return this.viewFor(clearance).documents.size;
  }
}

function buildView(readable: SnapshotDocument[]): ClearanceView {
  const documents = new Map(readable.map((d) => [d.path, d]));
  const tags = new Map<string, SnapshotDocument[]>();
  const folders = new Set<string>();
  for (const doc of readable) {
    for (const tag of doc.meta.tags) {
      const list = tags.get(tag) ?? [];
      list.push(doc);
      tags.set(tag, list);
    }
    const parts = doc.path.split('/');
    for (let i = 1; i < parts.length; i++) folders.add(parts.slice(0, i).join('/'));
  }
  const nav = buildNavigation(
    readable.map((d) => ({ path: d.path, title: d.meta.title, sort: d.meta.sort, date: d.meta.date })),
  );
  return { nav, documents, tags, folders };
}

export { CLASSIFICATION_ORDER };
