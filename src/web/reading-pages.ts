import type { Actor, UserActor } from '../access/actor.ts';
import { can, clearanceFor, type Grants } from '../access/policy.ts';
import { projectLinks } from '../access/view-links.ts';
import { breadcrumbsFor, findSection } from '../content/navigation.ts';
import type { TrustedHtml } from '../content/trusted-html.ts';
import type { NavNode } from '../content/types.ts';
import type { ProjectRecord } from '../projects/projects.ts';
import type { Publisher } from '../projects/publisher.ts';
import type { ClearanceView, SnapshotAttachment, SnapshotDocument } from '../projects/snapshot.ts';
import type { EffectiveView, UpcomingChange } from '../evidence/effective-versions.ts';
import { PageCache } from './page-cache.ts';
import { compareUrl, documentUrl, projectUrl, sectionUrl } from './urls.ts';
import { isReservedPath } from '../content/document-path.ts';
import {
  renderDocumentBody,
  renderProblemsBody,
  renderSectionBody,
  renderTagBody,
  renderTagIndexBody,
  type EditorNotices,
  type ProjectChrome,
  type ViewProject,
} from './views/index.ts';

/** A resolved reading page: a body to frame, a redirect, or nothing the reader may see. */
export type ReadingResult =
  | { kind: 'page'; title: string; body: TrustedHtml | Buffer; audit?: AuditedRead; cacheKey?: string; document?: ShownDocument }
  | { kind: 'redirect'; location: string }
  | null;

/** An attachment the reader may fetch, with the audit record its read needs (when only sensitive documents embed it). */
export interface AttachmentAnswer {
  file: SnapshotAttachment;
  audit?: AuditedRead;
}

/** The document version a page shows (for what is added per reader: the acknowledgment and review banners). */
export interface ShownDocument {
  project: ProjectRecord;
  path: string;
  blobId: string;
  /** The version's front matter asks someone to acknowledge it (otherwise no banner is looked up). */
  asks: boolean;
  /** The version's front matter sets a review cadence (`review_every`, `review_by`): editors see its state. */
  reviewed: boolean;
  /** Shown as of a past day (`/-/at/{day}/`): nothing is asked or recorded there. */
  asOf: boolean;
  /**
   * A newer version is published but not yet in effect: the page shows an older version than the one
   * acknowledgments ask about (they follow the published branch), so no acknowledgment banner is offered.
   */
  upcoming: boolean;
}

/** The versions readers see: today's (effective dates applied) and a past day's (evidence/effective-versions.ts). */
export interface ReaderViews {
  current(project: ProjectRecord): Promise<EffectiveView | null>;
  asOf(project: ProjectRecord, date: string): Promise<EffectiveView | null>;
}

const NO_UPCOMING: ReadonlyMap<string, UpcomingChange> = new Map();

/** A read the audit log must record (confidential and restricted documents), per request, never per cache fill. */
export interface AuditedRead {
  orgId: string;
  projectId: string;
  path: string;
  classification: 'confidential' | 'restricted';
}

/** Navigation trees larger than this show only the branch of the current page expanded. */
const FULL_NAV_LIMIT = 150;
/** Entries shown at one level of a pruned navigation (around the current page's branch). */
const NAV_WINDOW = 30;

/**
 * Turns a URL inside a project into a page for one reader. Everything the reader sees comes from the view of
 * the snapshot for their clearance, so a document they may not read is absent from navigation, tags and lists,
 * and its URL resolves exactly like a missing one.
 */
export class ReadingPages {
  private readonly cache = new PageCache();
  /** Renders in flight by cache key. */
  private readonly rendering = new Map<string, Promise<Buffer>>();
  private readonly problemsByScope = new Map<string, EditorNotices>();

  constructor(
    private readonly publisher: Publisher,
    /** Live access grants of a reader in a project (`projectId:path` keys); asked per request, never cached. */
    private readonly grantsFor: GrantLookup = async () => new Set(),
    /** The versions in effect (without: the published snapshot as it is, and no as-of view). */
    private readonly views: ReaderViews | null = null,
  ) {}

  /** What readers see of the project today. */
  private async current(project: ProjectRecord): Promise<EffectiveView | null> {
    if (this.views) return this.views.current(project);
    const snapshot = this.publisher.snapshotOf(project.id);
    return snapshot ? { snapshot, upcoming: NO_UPCOMING, date: '', commit: null } : null;
  }

  /** The page at `rest` (the URL after `/{org}/{project}/`, decoded). */
  async page(project: ProjectRecord, actor: Actor, rest: string): Promise<ReadingResult> {
    const ctx = this.context(project, actor, await this.current(project));
    if (!ctx) return null;
    return this.pageIn(ctx, actor, rest);
  }

  /**
   * A page of the project as in effect on `date` (`/{org}/{project}/-/at/{date}/{rest}`): its documents and
   * navigation then, read under today's access rules; its tag pages under `-/tags`. Null (404) when the project
   * had nothing published that day, or the date is not a past or present day.
   */
  async asOfPage(project: ProjectRecord, actor: Actor, date: string, rest: string): Promise<ReadingResult> {
    if (!this.views) return null;
    const ctx = this.context(project, actor, await this.views.asOf(project, date), date);
    if (!ctx) return null;
    if (rest === '-/tags') return this.tagIndexIn(ctx);
    if (rest.startsWith('-/tags/')) return this.tagIn(ctx, rest.slice('-/tags/'.length));
    if (rest === '-' || isReservedPath(rest)) return null;
    return this.pageIn(ctx, actor, rest);
  }

  private pageIn(ctx: ReadingContext, actor: Actor, rest: string): Promise<ReadingResult> | ReadingResult {
    const { view } = ctx;
    if (rest === '' || rest.endsWith('/')) {
      const folder = rest.replace(/\/+$/, '');
      const prefix = folder === '' ? '' : `${folder}/`;
      // A folder's page is its index.md, else its README.md, as GitHub shows a folder's README.
      const index = view.documents.get(`${prefix}index.md`) ?? view.documents.get(`${prefix}README.md`);
      if (index) return this.documentPage(ctx, index);
      if (folder === '' ? view.documents.size > 0 : view.folders.has(folder)) return this.sectionPage(ctx, folder);
      return this.grantedPage(ctx, actor, folder === '' ? 'index.md' : `${folder}/index.md`);
    }
    const doc = view.documents.get(`${rest}.md`);
    if (doc) return this.documentPage(ctx, doc);
    if (view.folders.has(rest)) return { kind: 'redirect', location: sectionUrl(ctx.viewProject, rest) };
    return this.grantedPage(ctx, actor, `${rest}.md`);
  }

  /**
   * A document outside the reader's clearance view that a live access grant opens to them. Rendered per request
   * and never put in the per-clearance cache; navigation stays the clearance view's. The grant query runs for
   * every member's miss, whether or not a document exists at the path, so timing does not reveal existence.
   */
  private async grantedPage(ctx: ReadingContext, actor: Actor, path: string): Promise<ReadingResult> {
    if (actor.kind !== 'user' || !actor.memberships.has(ctx.project.orgId)) return null;
    const grants = await this.grantsFor(actor, ctx.project);
    const doc = ctx.snapshot.documents.get(path);
    if (!doc) return null;
    const resource = { kind: 'document', orgId: ctx.project.orgId, classification: doc.meta.classification, projectId: ctx.project.id, path, grants } as const;
    if (!can(actor, 'read', resource)) return null;
    const html = await this.publisher.loadHtml(ctx.project, doc);
    const { title, tags, classification, date, owner, effective, review_by, toc } = doc.meta;
    const sourceCommit = doc.meta.tooLarge ? ctx.snapshot.commit : null;
    const upcoming = this.upcomingOf(ctx, doc);
    const body = renderDocumentBody({ ...this.chrome(ctx, doc.path), path, title, tags, classification, date, owner, effective, review_by, toc, html, sourceCommit, upcoming });
    return {
      kind: 'page',
      title: `${title} · ${ctx.project.name}`,
      body,
      document: shown(ctx, doc),
      ...auditedRead(ctx.project, doc),
    };
  }

  /**
   * The non-Markdown file at `path`, when the reader may fetch it: they may read at least one published document
   * that links to or embeds it (through their clearance or a live access grant); a file nothing links to needs
   * editor rights. Anything else is missing, exactly like a path where no file is.
   */
  async attachment(project: ProjectRecord, actor: Actor, path: string, asOf?: string): Promise<AttachmentAnswer | null> {
    const snapshot = asOf === undefined ? this.publisher.snapshotOf(project.id) : ((await this.views?.asOf(project, asOf))?.snapshot ?? null);
    const file = snapshot?.attachments.get(path);
    if (!snapshot || !file) return null;
    const linkers = snapshot.linkersOf(path);
    if (linkers.length === 0) return can(actor, 'edit', { kind: 'project', orgId: project.orgId }) ? { file } : null;
    const view = snapshot.viewFor(clearanceFor(actor, project.orgId));
    let readable = linkers.filter((doc) => view.documents.has(doc.path));
    if (readable.length === 0 && actor.kind === 'user' && actor.memberships.has(project.orgId)) {
      const grants = await this.grantsFor(actor, project);
      readable = linkers.filter((doc) =>
        can(actor, 'read', { kind: 'document', orgId: project.orgId, classification: doc.meta.classification, projectId: project.id, path: doc.path, grants }),
      );
    }
    if (readable.length === 0) return null;
    // Embedded in a document anyone in the view may read without an audit record: none is needed for the file.
    if (readable.some((doc) => doc.meta.classification === 'public' || doc.meta.classification === 'internal')) return { file };
    const classification = readable.some((doc) => doc.meta.classification === 'confidential') ? 'confidential' : 'restricted';
    return { file, audit: { orgId: project.orgId, projectId: project.id, path, classification } };
  }

  /** For editors: every front-matter error and link problem among the documents they may read. */
  async problemsPage(project: ProjectRecord, actor: Actor): Promise<ReadingResult> {
    const ctx = this.context(project, actor, await this.current(project));
    if (!ctx || !ctx.editor) return null;
    const { key, body } = await this.cached(ctx, 'problems', async () =>
      renderProblemsBody({ ...this.chrome(ctx, null), notices: this.problems(ctx) }),
    );
    return { kind: 'page', title: `Source problems · ${project.name}`, body, cacheKey: key };
  }

  /** Every tag of the readable documents, with its count. */
  async tagIndexPage(project: ProjectRecord, actor: Actor): Promise<ReadingResult> {
    const ctx = this.context(project, actor, await this.current(project));
    if (!ctx) return null;
    return this.tagIndexIn(ctx);
  }

  private async tagIndexIn(ctx: ReadingContext): Promise<ReadingResult> {
    const project = ctx.project;
    const page = await this.cached(ctx, 'tags', async () =>
      renderTagIndexBody({
        ...this.chrome(ctx, null),
        tags: [...ctx.view.tags.entries()].map(([tag, docs]) => ({ tag, count: docs.length })).sort((a, b) => a.tag.localeCompare(b.tag)),
      }),
    );
    return { kind: 'page', title: `Tags · ${project.name}`, body: page.body, cacheKey: page.key };
  }

  /** The list of readable documents carrying `tag`. */
  async tagPage(project: ProjectRecord, actor: Actor, tag: string): Promise<ReadingResult> {
    const ctx = this.context(project, actor, await this.current(project));
    if (!ctx) return null;
    return this.tagIn(ctx, tag);
  }

  private async tagIn(ctx: ReadingContext, tag: string): Promise<ReadingResult> {
    const project = ctx.project;
    const documents = ctx.view.tags.get(tag);
    if (!documents) return null;
    const page = await this.cached(ctx, `tag:${tag}`, async () =>
      renderTagBody({
        ...this.chrome(ctx, null),
        tag,
        documents: documents
          .map((d) => ({ path: d.path, title: d.meta.title, date: d.meta.date }))
          .sort((a, b) => a.title.localeCompare(b.title)),
      }),
    );
    return { kind: 'page', title: `Tagged “${tag}” · ${project.name}`, body: page.body, cacheKey: page.key };
  }

  /** `at`: the as-of view's day (no editor affordances there: it is history). */
  private context(project: ProjectRecord, actor: Actor, effective: EffectiveView | null, at?: string) {
    const snapshot = effective?.snapshot;
    if (!effective || !snapshot) return null;
    const clearance = clearanceFor(actor, project.orgId);
    const view = snapshot.viewFor(clearance);
    if (view.documents.size === 0) return null;
    const editor = at === undefined && can(actor, 'edit', { kind: 'project', orgId: project.orgId });
    const links = projectLinks(actor, project.orgId);
    const viewProject: ViewProject = {
      orgSlug: project.orgSlug,
      orgName: project.orgName,
      slug: project.slug,
      name: project.name,
      ...(at !== undefined ? { at } : {}),
    };
    // Reader pages are built from the clearance view (navigation, titles, tags: `view.id`) and, for a document, its
    // blob: they stay valid across commits that do not touch them. Editor pages also show project-wide problems,
    // so they are keyed by the tree as well.
    // The name is in every page (navigation, titles): a renamed project's pages are built again.
    // The links shown follow the policy (view-links.ts): pages that differ in them are kept apart.
    const linkScope = `${links.requestAccess ? 'a' : ''}${links.projectSettings ? 'm' : ''}`;
    // As-of pages link within their day and carry its banner: never shared with today's pages.
    const cacheScope = `${project.id}|${project.name}|${clearance}|${view.id}|${editor ? `e|${snapshot.tree}` : 'r'}|${linkScope}|${at ?? 'now'}`;
    return { project, snapshot, view, editor, links, viewProject, clearance, cacheScope, upcoming: effective.upcoming, at };
  }

  private documentPage(ctx: ReadingContext, doc: SnapshotDocument): Promise<ReadingResult> {
    const upcoming = this.upcomingOf(ctx, doc);
    // the notice is part of the page: a version taking effect (or a new one waiting) makes a new key
    const key = `doc:${doc.path}@${doc.blobId}${upcoming ? `|next:${upcoming.date}@${upcoming.compareHref}` : ''}`;
    return this.cached(ctx, key, async () => {
      const html = await this.publisher.loadHtml(ctx.project, doc);
      const { path, title, tags, classification, date, owner, effective, review_by, toc } = doc.meta;
      const sourceCommit = doc.meta.tooLarge ? ctx.snapshot.commit : null;
      return renderDocumentBody(
        { ...this.chrome(ctx, doc.path), path, title, tags, classification, date, owner, effective, review_by, toc, html, sourceCommit, upcoming },
        ctx.editor ? this.notices(ctx, doc) : undefined,
      );
    }).then(({ key, body }) => ({
      kind: 'page' as const,
      title: `${doc.meta.title} · ${ctx.project.name}`,
      body,
      cacheKey: key,
      document: shown(ctx, doc),
      ...auditedRead(ctx.project, doc),
    }));
  }

  /** The notice of a newer version waiting to take effect, with the redline between the two. */
  private upcomingOf(ctx: ReadingContext, doc: SnapshotDocument): { date: string; compareHref: string } | null {
    const next = ctx.upcoming.get(doc.path);
    return next ? { date: next.date, compareHref: compareUrl(ctx.viewProject, next.fromCommit, next.toCommit, doc.path) } : null;
  }

  private sectionPage(ctx: ReadingContext, folder: string): Promise<ReadingResult> {
    return this.cached(ctx, `section:${folder}`, async () => {
      const section = folder === '' ? null : findSection(ctx.view.nav, folder);
      return renderSectionBody({
        ...this.chrome(ctx, folder),
        title: section?.title ?? ctx.project.name,
        entries: section?.children ?? ctx.view.nav,
      });
    }).then(({ key, body }) => {
      const title = folder === '' ? ctx.project.name : (findSection(ctx.view.nav, folder)?.title ?? folder);
      return { kind: 'page' as const, title: folder === '' ? title : `${title} · ${ctx.project.name}`, body, cacheKey: key };
    });
  }

  private chrome(ctx: ReadingContext, currentPath: string | null): ProjectChrome {
    const breadcrumbs = currentPath ? breadcrumbsFor(ctx.view.nav, currentPath) : [];
    return {
      project: ctx.viewProject,
      nav: pruneNavigation(ctx.view.nav, currentPath),
      currentPath,
      breadcrumbs: breadcrumbs.map((b) => ({ title: b.title, href: sectionUrl(ctx.viewProject, b.path) })),
      problems: this.problemsLink(ctx),
      newDocumentHref: ctx.editor ? `${projectUrl(ctx.viewProject)}-/new` : undefined,
      reviewsHref: ctx.editor ? `/${encodeURIComponent(ctx.project.orgSlug)}/-/reviews` : undefined,
      // Members may ask for what their clearance hides; managers of projects get the settings link (view-links.ts).
      accessRequests: ctx.clearance === 'public' ? undefined : { canRequest: ctx.links.requestAccess, canManage: ctx.links.projectSettings },
      asOf: ctx.at === undefined ? undefined : { date: ctx.at, liveHref: liveHref(ctx, currentPath) },
    };
  }

  /** All problems in the reader's clearance view, memoized per snapshot and clearance. */
  private problems(ctx: ReadingContext): EditorNotices {
    const key = `${ctx.cacheScope}|problems-data`;
    let found = this.problemsByScope.get(key);
    if (!found) {
      found = { errors: [], brokenLinks: [] };
      for (const doc of ctx.view.documents.values()) {
        found.errors.push(...doc.meta.errors);
        found.brokenLinks.push(...(ctx.snapshot.linkProblemsFor(ctx.clearance).get(doc.path) ?? []));
      }
      if (this.problemsByScope.size > 1000) this.problemsByScope.clear();
      this.problemsByScope.set(key, found);
    }
    return found;
  }

  private problemsLink(ctx: ReadingContext): { count: number; href: string } | undefined {
    if (!ctx.editor) return undefined;
    const { errors, brokenLinks } = this.problems(ctx);
    const count = errors.length + brokenLinks.length;
    return count > 0 ? { count, href: `${projectUrl(ctx.viewProject)}-/problems` } : undefined;
  }

  private notices(ctx: ReadingContext, doc: SnapshotDocument): EditorNotices {
    return { errors: doc.meta.errors, brokenLinks: ctx.snapshot.linkProblemsFor(ctx.clearance).get(doc.path) ?? [] };
  }

  /** A page body from the cache, or rendered, encoded and cached; with its key (the frame may cache by it too). */
  private async cached(ctx: ReadingContext, key: string, render: () => Promise<string>): Promise<{ key: string; body: Buffer }> {
    const fullKey = `${ctx.cacheScope}|${key}`;
    const hit = this.cache.get(fullKey);
    if (hit !== undefined) return { key: fullKey, body: hit };
    // the requests that miss together share one render (each would read the HTML from the database in turn)
    let rendering = this.rendering.get(fullKey);
    if (!rendering) {
      const current = render().then((html) => {
        const body = Buffer.from(html, 'utf8');
        this.cache.set(fullKey, body);
        return body;
      });
      rendering = current;
      this.rendering.set(fullKey, current);
      const done = () => {
        if (this.rendering.get(fullKey) === current) this.rendering.delete(fullKey);
      };
      current.then(done, done);
    }
    return { key: fullKey, body: await rendering };
  }
}

type ReadingContext = NonNullable<ReturnType<ReadingPages['context']>>;

/** Finds the live access grants of a signed-in reader in a project. */
export type GrantLookup = (actor: UserActor, project: ProjectRecord) => Promise<Grants>;

/** The same page as in effect today (from an as-of page). */
function liveHref(ctx: ReadingContext, currentPath: string | null): string {
  const today = { orgSlug: ctx.project.orgSlug, slug: ctx.project.slug };
  if (currentPath === null) return projectUrl(today);
  return /\.md$/i.test(currentPath) ? documentUrl(today, currentPath) : sectionUrl(today, currentPath);
}

function shown(ctx: ReadingContext, doc: SnapshotDocument): ShownDocument {
  return {
    project: ctx.project,
    path: doc.path,
    blobId: doc.blobId,
    asks: doc.meta.acknowledge !== undefined,
    reviewed: doc.meta.review_by !== null || doc.meta.review_every !== undefined,
    asOf: ctx.at !== undefined,
    upcoming: ctx.upcoming.has(doc.path),
  };
}

function auditedRead(project: ProjectRecord, doc: SnapshotDocument): { audit?: AuditedRead } {
  const classification = doc.meta.classification;
  if (classification !== 'confidential' && classification !== 'restricted') return {};
  return { audit: { orgId: project.orgId, projectId: project.id, path: doc.path, classification } };
}

/**
 * Keep large navigation trees small, so a page weighs about the same whatever the project's size: the top level,
 * and children only along the current page's branch (other sections collapsed: plain links to their section
 * pages); at each level at most NAV_WINDOW entries, those around the one on the branch, and a link to the section
 * page (which lists everything) standing for the rest.
 */
export function pruneNavigation(nav: NavNode[], currentPath: string | null): NavNode[] {
  if (countNodes(nav) <= FULL_NAV_LIMIT) return nav;
  const onBranch = (node: NavNode) =>
    currentPath !== null && (currentPath === node.path || currentPath.startsWith(node.path + '/') || (node.kind === 'section' && node.indexPath === currentPath));
  const prune = (nodes: NavNode[], parent: { path: string; title: string } | null): NavNode[] => {
    const at = nodes.findIndex(onBranch);
    let kept = nodes;
    if (nodes.length > NAV_WINDOW) {
      const start = Math.max(0, Math.min((at === -1 ? 0 : at) - Math.floor(NAV_WINDOW / 2), nodes.length - NAV_WINDOW));
      kept = nodes.slice(start, start + NAV_WINDOW);
    }
    const pruned: NavNode[] = kept.map((node) => (node.kind === 'document' ? node : { ...node, children: onBranch(node) ? prune(node.children, node) : [] }));
    const left = nodes.length - kept.length;
    if (left > 0 && parent) {
      pruned.push({ kind: 'section', path: parent.path, title: `All ${nodes.length} in ${parent.title}`, sort: null, indexPath: null, dated: false, children: [], more: left });
    }
    return pruned;
  };
  return prune(nav, { path: '', title: 'this project' });
}

function countNodes(nodes: NavNode[]): number {
  let count = 0;
  for (const node of nodes) count += 1 + (node.kind === 'section' ? countNodes(node.children) : 0);
  return count;
}

export type { ClearanceView };
