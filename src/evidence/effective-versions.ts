/**
 * Effective dates and the project as of a date (issue #14).
 *
 * A version whose front matter says `effective: YYYY-MM-DD` with a date after today is *upcoming*: readers keep
 * seeing the version in effect — the latest published version of that document whose effective date is today or
 * earlier, or that has none — with a notice of the date the new one takes effect. A document with no version in
 * effect yet (new, effective later) is missing for readers until its date.
 *
 * The version in effect is chosen per request by date, without a restart: per project this keeps the versions of
 * the documents that have upcoming ones (read from git once per published head) and the next date on which any of
 * them switches; a request on or after that date resolves them again (in memory). Page caches are keyed by the blob
 * shown and its notice (web/reading-pages.ts), so every cached page changes at the switch.
 *
 * The as-of view (`/{org}/{project}/-/at/{YYYY-MM-DD}/…`) is the snapshot of the published branch's commit at the
 * end of that day (UTC) — by the record of branch moves, i.e. when each commit was published, not the dates commits
 * carry — with the effective-date rules applied on that date. It is read under today's access rules: a document
 * counts as the stricter of its classification then and now, so nothing a reader may not read today shows.
 */
import { stricter } from '../content/classification.ts';
import { PUBLISHED_REF } from '../content/published-branch.ts';
import { withOrg, type Db } from '../db/connection.ts';
import type { Repository } from '../git/repository.ts';
import type { ProjectRecord } from '../projects/projects.ts';
import type { Publisher } from '../projects/publisher.ts';
import { versionKey } from '../projects/rendered-store.ts';
import type { RepositoryRegistry } from '../projects/repositories.ts';
import { Snapshot, type DocumentMeta, type SnapshotDocument } from '../projects/snapshot.ts';
import { utcDay } from './utc-day.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Earlier versions of one document read back to find the one in effect; beyond it, none is (fail closed). */
const MAX_VERSIONS_WALKED = 25;
/** As-of views kept warm (each is a snapshot derived from the published one: the documents that differ). */
const AS_OF_CACHE_SIZE = 16;

const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Is `value` a real calendar day `YYYY-MM-DD`? */
export function isIsoDay(value: string): boolean {
  const match = ISO_DAY.exec(value);
  if (!match) return false;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return date.toISOString().slice(0, 10) === value;
}

/** The next version of a document to take effect, for the notice on the version in effect. */
export interface UpcomingChange {
  /** `YYYY-MM-DD` */
  date: string;
  /** The commit of the version in effect, and of the upcoming one: the redline between them. */
  fromCommit: string;
  toCommit: string;
}

/** What readers see of a project on one day. */
export interface EffectiveView {
  snapshot: Snapshot;
  /** Documents whose version in effect has a newer version waiting, by path. */
  upcoming: ReadonlyMap<string, UpcomingChange>;
  /** The day (`YYYY-MM-DD`) the view is for. */
  date: string;
  /** For an as-of view: the published branch's commit at the end of that day. */
  commit: string | null;
}

/** One published version of a document, newest first in a chain. */
interface Version {
  commit: string;
  blobId: string;
  meta: DocumentMeta;
}

/** A document with a version after today: its versions back to (and including) one in effect on `walkedOn`. */
interface Chain {
  path: string;
  versions: Version[];
}

interface LiveState {
  head: Snapshot;
  /** The day the chains were walked for (the view is exact for this day and later days). */
  walkedOn: string;
  chains: Chain[];
  view: EffectiveView;
  /** The day the view was resolved for: it holds from then until `nextSwitch` (a clock set back resolves again). */
  resolvedOn: string;
  /** The first day the view is no longer right for (a version takes effect), or null. */
  nextSwitch: string | null;
}

/** Chooses the version of each document in effect on a day, for today's readers and the as-of view. */
export class EffectiveVersions {
  private readonly live = new Map<string, LiveState>();
  private readonly building = new Map<string, Promise<LiveState | null>>();
  private readonly asOfViews = new Map<string, Promise<EffectiveView | null>>();
  /** Commit of the published branch at the end of past days, by `projectId|day` (a past day never changes). */
  private readonly pastCommits = new Map<string, string | null>();

  constructor(
    private readonly db: Db,
    private readonly publisher: Pick<Publisher, 'snapshotOf' | 'snapshotAt' | 'metasOf'>,
    private readonly repositories: RepositoryRegistry,
    private readonly now: () => number = Date.now,
  ) {}

  /** Today (UTC) on this service's clock. */
  today(): string {
    return utcDay(this.now());
  }

  /**
   * What readers see today: the published snapshot with each upcoming version replaced by the one in effect.
   * The same object while nothing switches (a Map lookup and two string comparisons per request).
   */
  async current(project: ProjectRecord): Promise<EffectiveView | null> {
    const head = this.publisher.snapshotOf(project.id);
    if (!head) return null;
    const today = this.today();
    const state = this.live.get(project.id);
    if (state && state.head === head && today >= state.resolvedOn && (state.nextSwitch === null || today < state.nextSwitch)) return state.view;
    let pending = this.building.get(project.id);
    if (!pending) {
      pending = this.build(project, head, today, state).finally(() => this.building.delete(project.id));
      this.building.set(project.id, pending);
    }
    const built = await pending;
    return built?.view ?? null;
  }

  private async build(project: ProjectRecord, head: Snapshot, today: string, previous: LiveState | undefined): Promise<LiveState | null> {
    // same head, later day: the chains walked before still reach a version in effect (versions only take effect)
    const chains =
      previous && previous.head === head && today >= previous.walkedOn ? previous.chains : await this.walk(project, head, today);
    const walkedOn = previous && previous.head === head && today >= previous.walkedOn ? previous.walkedOn : today;
    const { view, nextSwitch } = resolve(head, chains, today, null, (_path, classification) => classification);
    const state: LiveState = { head, walkedOn, chains, view, resolvedOn: today, nextSwitch };
    // a publish while this was built: keep the state only if it is still the published head
    if (this.publisher.snapshotOf(project.id) === head) this.live.set(project.id, state);
    return state;
  }

  /**
   * The project as in effect at the end of `date` (`YYYY-MM-DD`), or null when it had nothing published then (or
   * the date is after today). Kept warm per project, day and commit.
   */
  async asOf(project: ProjectRecord, date: string): Promise<EffectiveView | null> {
    if (!isIsoDay(date) || date > this.today()) return null;
    const commit = await this.commitAt(project, date);
    if (commit === null) return null;
    const today = this.publisher.snapshotOf(project.id);
    if (!today) return null;
    const cacheKey = `${project.id}|${date}|${commit}|${today.commit}`;
    let view = this.asOfViews.get(cacheKey);
    if (view) {
      // most recently used last
      this.asOfViews.delete(cacheKey);
      this.asOfViews.set(cacheKey, view);
      return view;
    }
    view = this.buildAsOf(project, date, commit).catch((error: unknown) => {
      this.asOfViews.delete(cacheKey);
      throw error;
    });
    this.asOfViews.set(cacheKey, view);
    while (this.asOfViews.size > AS_OF_CACHE_SIZE) this.asOfViews.delete(this.asOfViews.keys().next().value!);
    return view;
  }

  private async buildAsOf(project: ProjectRecord, date: string, commit: string): Promise<EffectiveView | null> {
    const snapshot = await this.publisher.snapshotAt(project, commit);
    if (!snapshot) return null;
    const chains = await this.walk(project, snapshot, date);
    const now = await this.current(project);
    const todays = now?.snapshot ?? this.publisher.snapshotOf(project.id);
    // today's rules: a document is as strict as it was then or is now, whichever is stricter
    const classificationToday = (path: string, classification: DocumentMeta['classification']) => {
      const current = todays?.documents.get(path);
      return current ? stricter(classification, current.meta.classification) : classification;
    };
    return resolve(snapshot, chains, date, commit, classificationToday).view;
  }

  /**
   * The version of a document in effect at the end of `date`, or null when none was (for the evidence pack:
   * no access check, callers authorize).
   */
  async versionInEffectAt(project: ProjectRecord, path: string, date: string): Promise<{ path: string; blobId: string; meta: DocumentMeta; commit: string } | null> {
    const view = await this.asOf(project, date);
    const doc = view?.snapshot.documents.get(path);
    return view && doc ? { path, blobId: doc.blobId, meta: doc.meta, commit: view.commit! } : null;
  }

  /** The published branch's commit at the end of `date` (UTC), from the record of its moves; null before the first. */
  async commitAt(project: Pick<ProjectRecord, 'id' | 'orgId'>, date: string): Promise<string | null> {
    const cacheKey = `${project.id}|${date}`;
    if (this.pastCommits.has(cacheKey)) return this.pastCommits.get(cacheKey)!;
    const endOfDay = new Date(Date.parse(`${date}T00:00:00Z`) + DAY_MS);
    const row = await withOrg(this.db, project.orgId, (trx) =>
      trx
        .selectFrom('branch_moves')
        .select('new_commit')
        .where('org_id', '=', project.orgId)
        .where('project_id', '=', project.id)
        .where('ref', '=', PUBLISHED_REF)
        .where('created_at', '<', endOfDay)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst(),
    );
    const commit = row?.new_commit ?? null;
    // a day that has ended on both clocks (the database's records moves in real time) is history
    if (endOfDay.getTime() <= Math.min(this.now(), Date.now())) {
      if (this.pastCommits.size > 10_000) this.pastCommits.clear();
      this.pastCommits.set(cacheKey, commit);
    }
    return commit;
  }

  /**
   * The documents of `snapshot` whose version is not in effect on `day`, each with its earlier versions back to one
   * that is (read from git: the published branch's first parents that changed the path, at most MAX_VERSIONS_WALKED).
   */
  private async walk(project: ProjectRecord, snapshot: Snapshot, day: string): Promise<Chain[]> {
    const waiting = [...snapshot.documents.values()].filter((doc) => doc.meta.effective !== null && doc.meta.effective > day);
    if (waiting.length === 0 || snapshot.commit === null) return [];
    const repository = await this.repositories.get(project);
    const chains: Chain[] = [];
    for (const doc of waiting) chains.push(await this.chainOf(project, repository, snapshot.commit, doc, day));
    return chains;
  }

  private async chainOf(project: ProjectRecord, repository: Repository, head: string, doc: SnapshotDocument, day: string): Promise<Chain> {
    const log = await repository.log(head, { path: doc.path, firstParent: true, limit: MAX_VERSIONS_WALKED });
    const versions: Version[] = [{ commit: log[0]?.oid ?? head, blobId: doc.blobId, meta: doc.meta }];
    // the commits that changed the path, newest first: the version each one published
    for (const entry of log.slice(1)) {
      const found = await repository.entryAt(entry.oid, doc.path);
      if (!found || found.type !== 'blob') break; // the document did not exist before: nothing earlier is in effect
      const metas = await this.publisher.metasOf(project, [{ path: doc.path, blobId: found.oid }]);
      const meta = metas.get(versionKey(doc.path, found.oid));
      if (!meta) break;
      versions.push({ commit: entry.oid, blobId: found.oid, meta });
      if (meta.effective === null || meta.effective <= day) break;
    }
    return { path: doc.path, versions };
  }
}

/**
 * The view on `day`: each chained document replaced by its version in effect (or removed when none is), with the
 * notice of its next version, and the first later day on which any of them switches.
 */
function resolve(
  snapshot: Snapshot,
  chains: readonly Chain[],
  day: string,
  commit: string | null,
  classificationToday: (path: string, classification: DocumentMeta['classification']) => DocumentMeta['classification'],
): { view: EffectiveView; nextSwitch: string | null } {
  const upserts: SnapshotDocument[] = [];
  const removed = new Set<string>();
  const upcoming = new Map<string, UpcomingChange>();
  let nextSwitch: string | null = null;
  for (const chain of chains) {
    const index = chain.versions.findIndex((v) => v.meta.effective === null || v.meta.effective <= day);
    const skipped = index === -1 ? chain.versions : chain.versions.slice(0, index);
    // the earliest date a skipped version takes effect: the document switches then
    let next: Version | null = null;
    for (const version of skipped) {
      if (version.meta.effective !== null && version.meta.effective > day && (next === null || version.meta.effective < next.meta.effective!)) next = version;
    }
    if (next && (nextSwitch === null || next.meta.effective! < nextSwitch)) nextSwitch = next.meta.effective;
    if (index === 0) {
      const head = chain.versions[0]!;
      const classification = classificationToday(chain.path, head.meta.classification);
      if (classification !== head.meta.classification) upserts.push({ path: chain.path, blobId: head.blobId, meta: { ...head.meta, classification } });
      continue;
    }
    if (index === -1) {
      removed.add(chain.path);
      continue;
    }
    const inEffect = chain.versions[index]!;
    // what is in effect and what will be: the stricter classification of the two decides who reads it
    const classification = classificationToday(chain.path, stricter(inEffect.meta.classification, chain.versions[0]!.meta.classification));
    upserts.push({ path: chain.path, blobId: inEffect.blobId, meta: { ...inEffect.meta, classification } });
    if (next) upcoming.set(chain.path, { date: next.meta.effective!, fromCommit: inEffect.commit, toCommit: next.commit });
  }
  // the as-of view reads under today's rules: every document of that day as strict as it is now
  if (commit !== null) {
    const chained = new Set(chains.map((c) => c.path));
    for (const doc of snapshot.documents.values()) {
      if (chained.has(doc.path)) continue;
      const classification = classificationToday(doc.path, doc.meta.classification);
      if (classification !== doc.meta.classification) upserts.push({ path: doc.path, blobId: doc.blobId, meta: { ...doc.meta, classification } });
    }
  }
  const derived =
    upserts.length === 0 && removed.size === 0
      ? snapshot
      : Snapshot.derive(snapshot, snapshot.commit!, snapshot.tree!, upserts, removed);
  return { view: { snapshot: derived, upcoming, date: day, commit }, nextSwitch };
}
