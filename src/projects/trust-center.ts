/**
 * The public trust center of an organization (`/{org}`): its public documents across projects, and the public
 * changelog of those documents, built from the published branches' commits.
 *
 * What is public here is decided twice, so that nothing internal leaks through history:
 * - a change is recorded only when the version it published declares `classification: public`;
 * - it is listed only while its document is public in today's published snapshot (at the same path): a document
 *   that became internal, was deleted or renamed takes its whole past off the changelog ("hidden is missing").
 *
 * The words of an entry are never a commit message. They are, in order:
 * 1. a `Public-Summary:` trailer of the commit (`git commit --trailer "Public-Summary: …"`), or a
 *    `Public-Summary:` line in the merged change request's description: text its author wrote for the public;
 * 2. the merged change request's title, only when every document the merge touched is public before and after
 *    (a change request that also touched an internal document may name it in its title);
 * 3. nothing: the page then says "Updated" or "Published" with the document's title.
 *
 * Cost: each project's first-parent history is walked once per published head (up to MAX_WALK commits, then
 * incrementally from the previous head), and an organization's page merges the cached entries and reads the
 * change requests of the entries shown only.
 */
import { withOrg, type Db } from '../db/connection.ts';
import { isDocumentPath } from '../content/document-path.ts';
import type { Classification, NavNode } from '../content/types.ts';
import type { Repository } from '../git/repository.ts';
import { VersionClassifier } from '../changes/version-access.ts';
import type { ProjectRecord } from './projects.ts';
import type { Publisher } from './publisher.ts';
import type { RepositoryRegistry } from './repositories.ts';
import { ANONYMOUS } from '../access/actor.ts';
import type { ProjectHistory } from '../changes/history.ts';
import { NotFoundError } from '../errors.ts';
import { budgets, compareWithinBudget, deadlineIn } from './budget-pool.ts';
import type { Redline } from '../content/redline/redline.ts';

/** First-parent commits of a project walked at most (older changes are not in the changelog). */
export const MAX_WALK = 2000;
/** Entries kept per project (the newest). */
export const MAX_ENTRIES_PER_PROJECT = 1000;
/** Changelog entries per page (HTML and Atom). */
export const CHANGELOG_PAGE_SIZE = 25;
/** Documents listed per project on the trust center (the rest are on the project's own public pages). */
export const MAX_DOCUMENTS_PER_PROJECT = 200;
/** Pages of the changelog one may ask for. */
export const MAX_CHANGELOG_PAGE = 1000;
const SUMMARY_LIMIT = 300;

/** One public change as recorded from git (before the "still public" filter and the change request lookup). */
interface RecordedChange {
  commit: string;
  /** The first parent (null for a root commit). */
  parent: string | null;
  path: string;
  at: Date;
  /** True when the version before this one existed and was public: the redline compares the two. */
  previousPublic: boolean;
  /** From a `Public-Summary:` trailer. */
  trailerSummary: string | null;
  /** From a `Change-Request: n` trailer. */
  changeRequest: number | null;
  /** Every document the commit touched was public on both sides: a change request's title may be shown. */
  allPublic: boolean;
}

interface ProjectChanges {
  head: string;
  changes: RecordedChange[];
}

/** One entry of the public changelog, as shown. */
export interface PublicChange {
  project: { slug: string; name: string };
  commit: string;
  path: string;
  /** The document's title today. */
  title: string;
  at: Date;
  /** `published`: the first public version of the document; `updated`: a new version of a public one. */
  kind: 'published' | 'updated';
  /** The public summary or the change request's title; null when there is none that may be shown. */
  summary: string | null;
}

export interface PublicDocumentEntry {
  path: string;
  title: string;
  /** When its current version was published (null when older than the changelog's walk). */
  updated: Date | null;
}

export interface PublicSection {
  /** Folder path ('' for the project's top level). */
  path: string;
  /** "Policies", "Policies / Security". */
  title: string;
  documents: PublicDocumentEntry[];
}

export interface PublicProject {
  slug: string;
  name: string;
  description: string | null;
  sections: PublicSection[];
  /** Public documents not listed here (beyond MAX_DOCUMENTS_PER_PROJECT). */
  more: number;
}

export interface TrustCenterPage {
  org: { id: string; slug: string; name: string };
  projects: PublicProject[];
  changes: PublicChange[];
  page: number;
  hasNext: boolean;
  /** The newest change's time (the Atom feed's `updated`). */
  newest: Date | null;
}

/** The public changelog's one entry on a page of its own (the public redline). */
export interface PublicChangeTarget {
  project: ProjectRecord;
  commit: string;
  parent: string | null;
  path: string;
  at: Date;
  previousPublic: boolean;
}

export interface TrustCenterDeps {
  db: Db;
  publisher: Publisher;
  repositories: RepositoryRegistry;
  organizations: { bySlug(slug: string): Promise<{ id: string; slug: string; name: string } | null> };
  projects: { inOrganizations(orgIds: readonly string[]): Promise<ProjectRecord[]> };
  /** Versions and redlines, asked as an anonymous reader: the policy refuses anything not public. */
  history: Pick<ProjectHistory, 'version' | 'versionSource' | 'compare'>;
}

/** The public redline of one changelog entry. */
export interface PublicRedline {
  org: { slug: string; name: string };
  project: { slug: string; name: string };
  path: string;
  title: string;
  commit: string;
  at: Date;
  /** False when the entry is the document's first public version (the redline then shows it all as added). */
  previousPublic: boolean;
  /** Null when the versions are too large to compare within the time budget. */
  redline: Redline | null;
}

/** The trust center's data: what anyone, signed in or not, may see of an organization. */
export class TrustCenter {
  readonly #classifier = new VersionClassifier();
  readonly #byProject = new Map<string, ProjectChanges>();

  constructor(private readonly deps: TrustCenterDeps) {}

  /**
   * The organization's trust center, page `page` of its changelog; null when the organization does not exist.
   * `projects` is empty when it publishes nothing (then the page exists for its members only).
   */
  async page(orgSlug: string, page: number): Promise<TrustCenterPage | null> {
    const org = await this.deps.organizations.bySlug(orgSlug);
    if (!org) return null;
    const projects = (await this.deps.projects.inOrganizations([org.id])).filter((p) => p.orgId === org.id);
    const listed: PublicProject[] = [];
    const all: { project: ProjectRecord; change: RecordedChange; title: string }[] = [];
    for (const project of projects) {
      const snapshot = this.deps.publisher.snapshotOf(project.id) ?? (await this.deps.publisher.publish(project));
      const view = snapshot.viewFor('public');
      if (view.documents.size === 0) continue;
      const changes = await this.#changesOf(project, snapshot.commit);
      const updated = new Map<string, Date>();
      for (const change of changes) {
        const doc = view.documents.get(change.path);
        // listed only while its document is public today at that path (hidden is missing)
        if (!doc) continue;
        if (!updated.has(change.path)) updated.set(change.path, change.at);
        all.push({ project, change, title: doc.meta.title });
      }
      const sections = sectionsOf(view.nav, '', '', updated);
      let budget = MAX_DOCUMENTS_PER_PROJECT;
      const kept: PublicSection[] = [];
      for (const section of sections) {
        if (budget <= 0) break;
        const documents = section.documents.slice(0, budget);
        budget -= documents.length;
        kept.push({ ...section, documents });
      }
      listed.push({ slug: project.slug, name: project.name, description: project.description, sections: kept, more: Math.max(0, view.documents.size - MAX_DOCUMENTS_PER_PROJECT) });
    }
    all.sort((a, b) => b.change.at.getTime() - a.change.at.getTime() || (a.change.commit < b.change.commit ? -1 : 1) || (a.change.path < b.change.path ? -1 : 1));
    const start = (page - 1) * CHANGELOG_PAGE_SIZE;
    const shown = all.slice(start, start + CHANGELOG_PAGE_SIZE);
    const requests = await this.#changeRequests(org.id, shown);
    return {
      org,
      projects: listed,
      changes: shown.map(({ project, change, title }) => {
        const request = change.changeRequest !== null ? requests.get(`${project.id}:${change.changeRequest}`) : undefined;
        const summary = change.trailerSummary ?? request?.publicSummary ?? (change.allPublic ? (request?.title ?? null) : null);
        return {
          project: { slug: project.slug, name: project.name },
          commit: change.commit,
          path: change.path,
          title,
          at: change.at,
          kind: change.previousPublic ? ('updated' as const) : ('published' as const),
          summary: summary === null ? null : clip(summary),
        };
      }),
      page,
      hasNext: all.length > start + CHANGELOG_PAGE_SIZE,
      newest: all[0]?.change.at ?? null,
    };
  }

  /**
   * A changelog entry for its public redline page: the project of the organization, a change recorded for
   * `path` at `commit` whose document is public today. Null otherwise (the page is then missing).
   */
  async change(orgSlug: string, projectSlug: string, commit: string, path: string): Promise<PublicChangeTarget | null> {
    const org = await this.deps.organizations.bySlug(orgSlug);
    if (!org) return null;
    const project = (await this.deps.projects.inOrganizations([org.id])).find((p) => p.orgId === org.id && p.slug === projectSlug);
    if (!project) return null;
    const snapshot = this.deps.publisher.snapshotOf(project.id) ?? (await this.deps.publisher.publish(project));
    if (!snapshot.viewFor('public').documents.has(path)) return null;
    const change = (await this.#changesOf(project, snapshot.commit)).find((c) => c.commit === commit && c.path === path);
    return change ? { project, commit: change.commit, parent: change.parent, path, at: change.at, previousPublic: change.previousPublic } : null;
  }

  /**
   * The redline of a changelog entry, read as an anonymous reader (ProjectHistory applies the policy to both
   * versions and to what their document became); against nothing when the version before was not public.
   */
  async redline(target: PublicChangeTarget): Promise<PublicRedline> {
    const reader = { actor: ANONYMOUS, project: target.project, grants: new Set<string>() };
    const after = await this.deps.history.version(reader, target.commit, target.path);
    let redline: Redline | null;
    if (target.previousPublic && target.parent !== null) {
      redline = (await this.deps.history.compare(reader, target.parent, target.commit, target.path)).diff?.redline ?? null;
    } else {
      const source = (await this.deps.history.versionSource(reader, target.commit, target.path)).source.toString('utf8');
      redline = after.rendered.tooLarge ? null : ((await compareWithinBudget({ html: '', source: '' }, { html: after.rendered.html, source }, deadlineIn(budgets.compareMs)))?.redline ?? null);
    }
    if (after.rendered.classification !== 'public') throw new NotFoundError();
    return {
      org: { slug: target.project.orgSlug, name: target.project.orgName },
      project: { slug: target.project.slug, name: target.project.name },
      path: target.path,
      title: after.rendered.title,
      commit: target.commit,
      at: target.at,
      previousPublic: target.previousPublic,
      redline,
    };
  }

  /** The project's recorded public changes at `head`, newest first (walked once per head, then incrementally). */
  async #changesOf(project: ProjectRecord, head: string | null): Promise<RecordedChange[]> {
    if (head === null) return [];
    const cached = this.#byProject.get(project.id);
    if (cached?.head === head) return cached.changes;
    const repository = await this.deps.repositories.get(project);
    const fresh: RecordedChange[] = [];
    let reachedCache = false;
    let walked = 0;
    for (let oid: string | undefined = head; oid !== undefined && walked < MAX_WALK && fresh.length < MAX_ENTRIES_PER_PROJECT; walked++) {
      if (cached && oid === cached.head) {
        reachedCache = true;
        break;
      }
      const info = await repository.readCommit(oid);
      const parent = info.parents[0] ?? null;
      fresh.push(...(await this.#changesIn(repository, oid, parent, info.committer.time, info.message)));
      oid = parent ?? undefined;
    }
    const changes = reachedCache && cached ? [...fresh, ...cached.changes].slice(0, MAX_ENTRIES_PER_PROJECT) : fresh;
    this.#byProject.set(project.id, { head, changes });
    return changes;
  }

  /** The public versions one first-parent commit published. */
  async #changesIn(repository: Repository, oid: string, parent: string | null, at: Date, message: string): Promise<RecordedChange[]> {
    const touched: { path: string; before: Classification | null; after: Classification | null; blob: string }[] = [];
    for (const change of await repository.diffTrees(parent, oid)) {
      const beforeIsDoc = change.status !== 'A' && isDocumentPath(change.path, change.oldMode);
      const afterIsDoc = change.status !== 'D' && isDocumentPath(change.path, change.newMode);
      if (!beforeIsDoc && !afterIsDoc) continue;
      touched.push({
        path: change.path,
        blob: change.newOid,
        before: beforeIsDoc ? await this.#classifier.of(repository, change.path, change.oldOid) : null,
        after: afterIsDoc ? await this.#classifier.of(repository, change.path, change.newOid) : null,
      });
    }
    const allPublic = touched.every((t) => (t.before === null || t.before === 'public') && (t.after === null || t.after === 'public'));
    const trailerSummary = trailerOf(message, 'Public-Summary');
    const number = trailerOf(message, 'Change-Request');
    const changeRequest = number !== null && /^\d{1,9}$/.test(number) ? Number(number) : null;
    return touched
      .filter((t) => t.after === 'public')
      .sort((a, b) => (a.path < b.path ? -1 : 1))
      .map((t) => ({ commit: oid, parent, path: t.path, at, previousPublic: t.before === 'public', trailerSummary, changeRequest, allPublic }));
  }

  /** Titles and public summaries of the merged change requests the shown entries name (one query). */
  async #changeRequests(orgId: string, shown: { project: ProjectRecord; change: RecordedChange }[]) {
    const out = new Map<string, { title: string; publicSummary: string | null }>();
    const wanted = shown.filter((s) => s.change.changeRequest !== null);
    if (wanted.length === 0) return out;
    const projectIds = [...new Set(wanted.map((w) => w.project.id))];
    const numbers = [...new Set(wanted.map((w) => w.change.changeRequest!))];
    const rows = await withOrg(this.deps.db, orgId, (trx) =>
      trx
        .selectFrom('change_requests')
        .select(['project_id', 'number', 'title', 'description', 'merge_commit'])
        .where('org_id', '=', orgId)
        .where('project_id', 'in', projectIds)
        .where('number', 'in', numbers)
        .where('state', '=', 'merged')
        .execute(),
    );
    const commits = new Set(wanted.map((w) => w.change.commit));
    for (const row of rows) {
      // the trailer must name the change request whose merge this commit is
      if (row.merge_commit === null || !commits.has(row.merge_commit)) continue;
      out.set(`${row.project_id}:${row.number}`, { title: row.title, publicSummary: trailerOf(row.description, 'Public-Summary', true) });
    }
    return out;
  }
}

/** The value of a `Key: value` line (the last one), in the trailer block, or anywhere with `anyLine`. */
export function trailerOf(message: string, key: string, anyLine = false): string | null {
  const text = message.replace(/\r\n?/g, '\n').trimEnd();
  const paragraphs = text.split(/\n[ \t]*\n/);
  if (!anyLine && paragraphs.length < 2) return null;
  const lines = anyLine ? text.split('\n') : paragraphs[paragraphs.length - 1]!.split('\n');
  const pattern = new RegExp(`^${key}:[ \\t]*(.+)$`, 'i');
  let found: string | null = null;
  for (const line of lines) {
    const match = pattern.exec(line.trim());
    if (match) found = match[1]!.trim();
  }
  return found === '' ? null : found;
}

function clip(text: string): string {
  const single = text.replace(/\s+/g, ' ').trim();
  return single.length > SUMMARY_LIMIT ? `${single.slice(0, SUMMARY_LIMIT - 1)}…` : single;
}

/** The public view's navigation as flat sections (a nested section's title joins its parents'), in nav order. */
function sectionsOf(nodes: NavNode[], path: string, title: string, updated: Map<string, Date>): PublicSection[] {
  const here: PublicSection = { path, title, documents: [] };
  const nested: PublicSection[] = [];
  for (const node of nodes) {
    if (node.kind === 'document') {
      here.documents.push({ path: node.path, title: node.title, updated: updated.get(node.path) ?? null });
    } else {
      const sectionTitle = title === '' ? node.title : `${title} / ${node.title}`;
      const inner = sectionsOf(node.children.filter((c) => c.kind !== 'document' || c.path !== node.indexPath), node.path, sectionTitle, updated);
      if (node.indexPath !== null) {
        const index = { path: node.indexPath, title: node.title, updated: updated.get(node.indexPath) ?? null };
        if (inner[0]?.path === node.path) inner[0].documents.unshift(index);
        else inner.unshift({ path: node.path, title: sectionTitle, documents: [index] });
      }
      nested.push(...inner);
    }
  }
  return [...(here.documents.length > 0 ? [here] : []), ...nested];
}
