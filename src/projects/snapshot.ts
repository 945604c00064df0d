import { clearanceCovers } from '../content/classification.ts';
import { checkLinks, type LinkProblem } from '../content/link-check.ts';
import { buildNavigation } from '../content/navigation.ts';
import type { Classification, NavNode, RenderedDocument } from '../content/types.ts';

/** What a snapshot keeps in memory about each document: everything but the HTML. */
export type DocumentMeta = Omit<RenderedDocument, 'html'>;

export interface SnapshotDocument {
  path: string;
  blobId: string;
  meta: DocumentMeta;
}

/** A non-Markdown file of the project (an image, a PDF, …), served at its path to those who may read it. */
export interface SnapshotAttachment {
  path: string;
  blobId: string;
  /** Bytes; null when git did not say. */
  size: number | null;
}

/** How the attachments changed in an incremental publish. */
export interface AttachmentChanges {
  upserts: readonly SnapshotAttachment[];
  removed: ReadonlySet<string>;
}

const NO_ATTACHMENTS: ReadonlyMap<string, SnapshotAttachment> = new Map();

/** The documents a reader of one clearance may see, with the navigation and tag index built from them. */
export interface ClearanceView {
  /**
   * Identifies `nav`, `folders` and the titles, dates and tags of the view's documents: a view carried over to the
   * next snapshot keeps it (pages built only from those may be reused); a rebuilt view gets a new one.
   */
  id: number;
  nav: NavNode[];
  documents: Map<string, SnapshotDocument>;
  /** Tag → readable documents carrying it. */
  tags: Map<string, SnapshotDocument[]>;
  /** Folder paths that contain at least one readable document (at any depth). */
  folders: Set<string>;
}

/** How a snapshot differs from the one before it (an incremental publish). */
export interface SnapshotChange {
  previous: Snapshot;
  /** Paths whose document is new or has a new blob. */
  changed: ReadonlySet<string>;
  /** Paths that are documents in `previous` and no longer in this snapshot. */
  removed: ReadonlySet<string>;
  /**
   * This snapshot succeeds `previous` as the published one (the publisher's derivation): it takes over its link
   * index. Any other derivation (a push's link check, an as-of view) only reads it.
   */
  succeeds: boolean;
}

const byPath = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The rendered site of a project at one commit. Immutable once built. Clearance views and broken links are
 * computed on first use; after an incremental publish they are derived from the previous snapshot's when that is
 * exact (see `carryView`), so a one-file commit costs work proportional to the change, not to the project.
 */
export class Snapshot {
  private readonly views = new Map<Classification, ClearanceView>();
  private readonly problems = new Map<Classification, Map<string, LinkProblem[]>>();
  private linkers: Map<string, SnapshotDocument[]> | null = null;
  /** Link target → documents linking to it (any classification); handed on to the next snapshot (see `sourcesLinkingTo`). */
  private linkIndex: Map<string, Set<string>> | null = null;
  private change: SnapshotChange | null;

  constructor(
    readonly projectId: string,
    readonly commit: string | null,
    readonly tree: string | null,
    readonly documents: ReadonlyMap<string, SnapshotDocument>,
    change?: SnapshotChange,
    /** Every other regular file of the tree, by path (dot-files and `-/` excluded). */
    readonly attachments: ReadonlyMap<string, SnapshotAttachment> = NO_ATTACHMENTS,
  ) {
    this.change = change ?? null;
  }

  /**
   * A snapshot made from `previous` by replacing, adding and removing documents (keyed by path). The document
   * map stays sorted by path, the order a full build produces.
   */
  static derive(
    previous: Snapshot,
    commit: string,
    tree: string,
    upserts: readonly SnapshotDocument[],
    removed: ReadonlySet<string>,
    attachmentChanges?: AttachmentChanges,
    options: { succeeds?: boolean } = {},
  ): Snapshot {
    const added = upserts.some((d) => !previous.documents.has(d.path));
    let documents: Map<string, SnapshotDocument>;
    if (!added) {
      documents = new Map(previous.documents);
      for (const path of removed) documents.delete(path);
      for (const doc of upserts) documents.set(doc.path, doc);
    } else {
      const all = new Map(previous.documents);
      for (const path of removed) all.delete(path);
      for (const doc of upserts) all.set(doc.path, doc);
      documents = new Map([...all.keys()].sort(byPath).map((path) => [path, all.get(path)!]));
    }
    const changed = new Set(upserts.map((d) => d.path));
    let attachments = previous.attachments;
    if (attachmentChanges && (attachmentChanges.upserts.length > 0 || attachmentChanges.removed.size > 0)) {
      const next = new Map(attachments);
      for (const path of attachmentChanges.removed) next.delete(path);
      for (const file of attachmentChanges.upserts) next.set(file.path, file);
      attachments = next;
    }
    return new Snapshot(previous.projectId, commit, tree, documents, { previous, changed, removed, succeeds: options.succeeds === true }, attachments);
  }

  /** Every link problem of the project (broken links, missing images, unknown anchors), per source document. */
  get brokenLinks(): ReadonlyMap<string, LinkProblem[]> {
    return this.linkProblemsFor('restricted');
  }

  /**
   * The link problems readers of `clearance` may be shown, per source document: links in the documents they may
   * read, checked against those documents only (a document they may not read is missing for them, so no problem
   * reveals that it exists or which headings it has), the attachments and the folders of their view.
   */
  linkProblemsFor(clearance: Classification): ReadonlyMap<string, LinkProblem[]> {
    let found = this.problems.get(clearance);
    if (!found) {
      const view = this.viewFor(clearance);
      const targets = {
        document: (path: string) => {
          const doc = view.documents.get(path);
          return doc && { path, links: doc.meta.links, anchors: doc.meta.anchors };
        },
        hasAttachment: (path: string) => this.attachments.has(path),
        hasFolder: (path: string) => view.folders.has(path),
      };
      const carried = this.carriedProblems(clearance, view);
      const sources = carried ? carried.recheck : view.documents.keys();
      found = carried ? carried.problems : new Map();
      const checked: { path: string; links: SnapshotDocument['meta']['links'] }[] = [];
      for (const path of sources) {
        const doc = view.documents.get(path);
        if (doc) checked.push({ path, links: doc.meta.links });
      }
      for (const problem of checkLinks(checked, targets)) {
        const forDocument = found.get(problem.from) ?? [];
        forDocument.push(problem);
        found.set(problem.from, forDocument);
      }
      this.problems.set(clearance, found);
    }
    return found;
  }

  /**
   * After an incremental publish, the previous snapshot's problems for `clearance` with the entries of every
   * document whose answer may differ removed, and those documents to check again: the changed, added and removed
   * documents themselves, and every document linking to one of them, to a folder that appeared or disappeared in
   * the view, or to an attachment that came or went. A publish then costs work proportional to the change, not to
   * the project (tests/projects/snapshot-link-problems.test.ts compares it with a full check after random changes).
   */
  private carriedProblems(clearance: Classification, view: ClearanceView): { problems: Map<string, LinkProblem[]>; recheck: Set<string> } | null {
    const change = this.change;
    const before = change?.previous.problems.get(clearance);
    const beforeView = change?.previous.views.get(clearance);
    if (!change || !before || !beforeView) return null;
    const targets = new Set<string>([...change.changed, ...change.removed]);
    if (view.folders !== beforeView.folders) {
      for (const folder of view.folders) if (!beforeView.folders.has(folder)) targets.add(folder);
      for (const folder of beforeView.folders) if (!view.folders.has(folder)) targets.add(folder);
    }
    const attachmentsBefore = change.previous.attachments;
    if (this.attachments !== attachmentsBefore) {
      for (const path of this.attachments.keys()) if (attachmentsBefore.get(path)?.blobId === undefined) targets.add(path);
      for (const path of attachmentsBefore.keys()) if (!this.attachments.has(path)) targets.add(path);
    }
    const recheck = new Set<string>([...change.changed, ...change.removed]);
    const index = this.sourcesLinkingTo();
    for (const target of targets) {
      for (const source of index.get(target) ?? []) recheck.add(source);
      // a link without the extension finds `target.md` (link-check.ts)
      if (target.endsWith('.md')) for (const source of index.get(target.slice(0, -3)) ?? []) recheck.add(source);
    }
    const problems = new Map(before);
    for (const path of recheck) problems.delete(path);
    return { problems, recheck };
  }

  /**
   * Link target → the documents linking to it. Derived from the previous snapshot's index when there is one (it
   * is taken over and updated in place: only the newest snapshot derives further), else built from every document.
   */
  private sourcesLinkingTo(): ReadonlyMap<string, ReadonlySet<string>> {
    if (this.linkIndex) return this.linkIndex;
    const change = this.change;
    const inherited = change?.previous.linkIndex ?? null;
    // A derivation that does not succeed the previous snapshot reads its index as it is: the sources it finds
    // for a target are those of before the change, and the changed documents (the only ones whose links differ)
    // are checked again anyway (see carriedProblems).
    if (change && inherited && !change.succeeds) return inherited;
    let index: Map<string, Set<string>>;
    if (change && inherited) {
      change.previous.linkIndex = null;
      index = inherited;
      for (const path of [...change.changed, ...change.removed]) {
        for (const link of change.previous.documents.get(path)?.meta.links ?? []) index.get(link.target)?.delete(path);
        for (const link of this.documents.get(path)?.meta.links ?? []) addLink(index, link.target, path);
      }
    } else {
      index = new Map();
      for (const doc of this.documents.values()) for (const link of doc.meta.links) addLink(index, link.target, doc.path);
    }
    this.linkIndex = index;
    return index;
  }

  /** The documents that link to or embed the attachment at `path` (any classification). */
  linkersOf(path: string): readonly SnapshotDocument[] {
    if (!this.linkers) {
      const linkers = new Map<string, SnapshotDocument[]>();
      for (const doc of this.documents.values()) {
        for (const link of doc.meta.links) {
          if (!this.attachments.has(link.target)) continue;
          const list = linkers.get(link.target) ?? [];
          if (list[list.length - 1] !== doc) list.push(doc);
          linkers.set(link.target, list);
        }
      }
      this.linkers = linkers;
    }
    return this.linkers.get(path) ?? [];
  }

  /** The view for readers cleared up to `clearance`; built once per snapshot and clearance. */
  viewFor(clearance: Classification): ClearanceView {
    let view = this.views.get(clearance);
    if (!view) {
      view = this.carryView(clearance) ?? buildView([...this.documents.values()].filter((d) => clearanceCovers(clearance, d.meta.classification)));
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

  /** The clearances whose views have been built (a publish builds the same ones for the next snapshot). */
  builtClearances(): Classification[] {
    return [...this.views.keys()];
  }

  /**
   * Build what the previous snapshot had built (views, broken links) now, so the first reader after a publish
   * pays nothing, then drop the link to the previous snapshot so it can be collected.
   */
  prepareLike(previous: Snapshot | null): void {
    if (previous) {
      for (const clearance of previous.builtClearances()) this.viewFor(clearance);
      for (const clearance of previous.problems.keys()) this.linkProblemsFor(clearance);
    }
    this.change = null;
  }

  /**
   * The previous snapshot's view with the changed documents swapped in, when that is exactly what building it
   * anew would give: no document of the view added or removed, and every changed document keeps the title,
   * sort, date, classification and tags that navigation, folders and the tag index are built from.
   */
  private carryView(clearance: Classification): ClearanceView | null {
    const change = this.change;
    const before = change?.previous.views.get(clearance);
    if (!change || !before) return null;
    if (change.removed.size > 0) return null;
    const replaced: SnapshotDocument[] = [];
    for (const path of change.changed) {
      const now = this.documents.get(path)!;
      const old = change.previous.documents.get(path);
      if (!old || !sameNavigationFacts(old.meta, now.meta)) return null;
      if (clearanceCovers(clearance, now.meta.classification)) replaced.push(now);
    }
    if (replaced.length === 0) return before;
    const documents = new Map(before.documents);
    const tags = new Map(before.tags);
    for (const doc of replaced) {
      documents.set(doc.path, doc);
      for (const tag of doc.meta.tags) tags.set(tag, tags.get(tag)!.map((d) => (d.path === doc.path ? doc : d)));
    }
    return { id: before.id, nav: before.nav, folders: before.folders, documents, tags };
  }
}

function addLink(index: Map<string, Set<string>>, target: string, source: string): void {
  const sources = index.get(target);
  if (sources) sources.add(source);
  else index.set(target, new Set([source]));
}

function sameNavigationFacts(a: DocumentMeta, b: DocumentMeta): boolean {
  return (
    a.title === b.title &&
    a.sort === b.sort &&
    a.date === b.date &&
    a.classification === b.classification &&
    a.tags.length === b.tags.length &&
    a.tags.every((tag, i) => tag === b.tags[i])
  );
}

let nextViewId = 1;

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
  return { id: nextViewId++, nav, documents, tags, folders };
}
