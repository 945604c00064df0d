/**
 * The auditor's evidence pack (issue #14): one `.tar.gz` with the policy register, every version of every
 * document in effect during a period (Markdown and rendered HTML) with its approval record and acknowledgments,
 * the review events, the organization's audit events of the period with their hash chain, and a manifest of
 * every file's SHA-256 signed with the organization's Ed25519 key. `docucommit evidence verify` (verify-pack.ts)
 * checks one offline. See docs/evidence.md.
 */
import type { Writable } from 'node:stream';
import type { UserActor } from '../access/actor.ts';
import { authorize } from '../access/authorize.ts';
import { can } from '../access/policy.ts';
import { auditActorOf } from '../audit/actor.ts';
import { recordAuditEvent } from '../audit/audit-log.ts';
import { CHAIN_ORIGIN } from '../audit/chain-check.ts';
import { csvCell, toJsonLines } from '../audit/export.ts';
import { auditEventsBetween, chainBounds, type AuditEvent } from '../audit/query.ts';
import type { SecretBox } from '../auth/secret-box.ts';
import { stricter } from '../content/classification.ts';
import { escapeHtml } from '../content/escape-html.ts';
import { parseFrontMatter } from '../content/front-matter.ts';
import { PUBLISHED_REF } from '../content/published-branch.ts';
import { withOrg, type Db } from '../db/connection.ts';
import { InvalidInputError, NotFoundError } from '../errors.ts';
import { budgets, renderWithinBudget } from '../projects/budget-pool.ts';
import { listOrganizationProjects, type ProjectRecord } from '../projects/projects.ts';
import type { Publisher } from '../projects/publisher.ts';
import type { RepositoryRegistry } from '../projects/repositories.ts';
import {
  AUDIT_CHAIN_FILE,
  AUDIT_EVENTS_FILE,
  manifestBytes,
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  PUBLIC_KEY_FILE,
  sha256,
  SIGNATURE_FILE,
  signManifest,
  type AuditChainSummary,
  type Manifest,
  type ManifestFile,
} from './manifest.ts';
import { EffectiveVersions } from './effective-versions.ts';
import { publishedHistory, versionInEffect, versionsInEffectDuring, type Publication, type PublishedVersion } from './published-history.ts';
import { isoDay, type ReviewEvent } from './register-dates.ts';
import { nextReviewDue, reviewsOfProject, type ReviewRecord } from './reviews.ts';
import { signingKeyOf, type SigningKey } from './signing-key.ts';
import { TarWriter } from './tar.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Longest period one pack covers. */
export const MAX_PERIOD_DAYS = 3660;

export interface EvidenceDeps {
  db: Db;
  repositories: RepositoryRegistry;
  /** Today's published snapshots (the view of the day a period ends is derived from them). */
  publisher: Pick<Publisher, 'snapshotOf' | 'snapshotAt' | 'metasOf' | 'follow'>;
  /** Seals the organization's signing key (the MFA secrets' box). */
  box: SecretBox;
  now?: () => Date;
}

export interface EvidenceRequest {
  org: { id: string; slug: string; name: string };
  /** One project's documents, or (null) every project of the organization. */
  projectSlug: string | null;
  /** `YYYY-MM-DD`, both days included (UTC). */
  from: string;
  to: string;
  /** A user exporting from the browser (admins and owners), or the operator running the CLI on the server's data. */
  reader: UserActor | 'operator';
  requestId?: string;
  ip?: string;
}

export interface EvidenceSummary {
  documents: number;
  versions: number;
  auditEvents: number;
  files: number;
  fingerprint: string;
}

/** The period [from 00:00 UTC, the day after `to` 00:00 UTC) of two dates; InvalidInputError when they are not. */
export function evidencePeriod(from: string, to: string): { from: Date; to: Date } {
  const day = (value: string, name: string) => {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) throw new InvalidInputError(`${name} must be a date like 2026-01-31.`);
    const date = new Date(`${value}T00:00:00.000Z`);
    if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== value) throw new InvalidInputError(`${name} is not a date: ${value}.`);
    return date;
  };
  const start = day(from, 'From');
  const end = new Date(day(to, 'To').getTime() + DAY_MS);
  if (end.getTime() <= start.getTime()) throw new InvalidInputError('The period must end on or after the day it starts.');
  if (end.getTime() - start.getTime() > MAX_PERIOD_DAYS * DAY_MS) throw new InvalidInputError(`A pack covers at most ${MAX_PERIOD_DAYS} days.`);
  return { from: start, to: end };
}

/** Check who may export and what (before anything is written): the projects in scope. */
export async function evidenceScope(deps: EvidenceDeps, request: EvidenceRequest): Promise<ProjectRecord[]> {
  if (request.reader !== 'operator') authorize(request.reader, 'read', { kind: 'audit-log', orgId: request.org.id }, { hidden: true });
  evidencePeriod(request.from, request.to);
  const projects = await listOrganizationProjects(deps.db, request.org.id);
  if (request.projectSlug === null) return projects;
  const project = projects.find((p) => p.slug === request.projectSlug);
  if (!project) throw new NotFoundError();
  return [project];
}

/**
 * Write the evidence pack to `out` (gzip it: the caller pipes a gzip stream to a file or a response). The export
 * is audited (`evidence.exported`) before anything is written. Only documents of the projects in scope are read;
 * a browser export leaves out versions its reader may not read.
 */
export async function writeEvidencePack(deps: EvidenceDeps, request: EvidenceRequest, out: Writable): Promise<EvidenceSummary> {
  return (await startEvidencePack(deps, request)).write(out);
}

/**
 * The checks and the record of an export, before any byte is written: who may export, the period, the projects
 * in scope, the signing key (created on first use) and the audit event. Then `write` streams the pack.
 */
export async function startEvidencePack(deps: EvidenceDeps, request: EvidenceRequest): Promise<{ write(out: Writable): Promise<EvidenceSummary> }> {
  const projects = await evidenceScope(deps, request);
  const now = deps.now?.() ?? new Date();
  const actor = request.reader === 'operator' ? { type: 'system' as const, id: null, label: 'docucommit evidence export' } : auditActorOf(request.reader);
  const key = await signingKeyOf(deps.db, deps.box, request.org.id, actor);
  await recordAuditEvent(deps.db, {
    orgId: request.org.id,
    actor,
    action: 'evidence.exported',
    target: { type: 'organization', id: request.org.id, label: request.org.slug },
    outcome: 'success',
    requestId: request.requestId ?? null,
    ip: request.ip ?? null,
    details: { from: request.from, to: request.to, project: request.projectSlug, fingerprint: key.fingerprint },
  });
  return { write: (out) => writePack(deps, request, projects, key, now, out) };
}

/** One row of the policy register: a document in effect at the end of the period, as `register.csv` lists it. */
export interface RegisterRow {
  project: string;
  document: string;
  title: string;
  owner: string;
  classification: string;
  commit: string;
  blob: string;
  /** ISO time of the publication. */
  publishedAt: string;
  /** `YYYY-MM-DD`: the day the version took effect. */
  effective: string;
  /** `YYYY-MM-DD`, or '' when never reviewed. */
  lastReview: string;
  /** `YYYY-MM-DD`, or '' when no review is due. */
  nextReview: string;
  approvers: string[];
}

/** A version in effect during the period that its reader may read (the pack writes its files). */
interface VisitedVersion {
  project: ProjectRecord;
  path: string;
  version: PublishedVersion;
  source: string;
  title: string;
  html: string;
  classification: string;
  record: ReturnType<typeof approvalRecord>;
  effective: string | null;
  inEffectFrom: Date;
}

interface PeriodWalk {
  register: RegisterRow[];
  reviewRows: string[][];
  documents: number;
  versions: number;
}

/**
 * Walk the period: every document of the projects in scope with a version in effect during it that the reader
 * may read (each such version handed to `onVersion`), its reviews of the period, and its register row.
 */
async function walkPeriod(
  deps: EvidenceDeps,
  request: EvidenceRequest,
  projects: ProjectRecord[],
  now: Date,
  onVersion: ((visited: VisitedVersion) => Promise<void>) | null,
): Promise<PeriodWalk> {
  const { from, to } = evidencePeriod(request.from, request.to);
  const register: RegisterRow[] = [];
  const reviewRows: string[][] = [];
  let documents = 0;
  let versions = 0;

  // Nothing after the export has happened yet: a period reaching past it ends now (versions still upcoming then
  // were not in effect, and the register's version is the one in effect when the pack was made).
  const end = new Date(Math.min(to.getTime(), now.getTime()));
  const endDay = isoDay(new Date(end.getTime() - 1));
  const effectiveVersions = new EffectiveVersions(deps.db, deps.publisher, deps.repositories, () => now.getTime());

  for (const project of projects) {
    const repository = await deps.repositories.get(project);
    const publications = await publicationsOf(deps.db, project, end);
    const history = await publishedHistory(repository, publications);
    const acknowledgments = onVersion ? await acknowledgmentsOf(deps.db, project) : new Map<string, AckRecord[]>();
    const changeRequests = await changeRequestsOf(deps.db, project);
    const recordedReviews = await reviewsOfProject(deps.db, project);
    // the view of the day the period ends reads today's snapshot: held by a server, followed here by the CLI
    if (!deps.publisher.snapshotOf(project.id)) await deps.publisher.follow(project);
    for (const path of [...history.timelines.keys()].sort()) {
      const timeline = history.timelines.get(path)!;
      // each version's `effective:` date, read once (versions published after the period's end never count)
      const effective = new Map<PublishedVersion, string | null>();
      for (const entry of timeline) {
        if (entry.blob === null || entry.at.getTime() >= end.getTime()) continue;
        const front = parseFrontMatter(path, (await repository.readBlob(entry.blob)).toString('utf8')).data;
        effective.set(entry, front?.effective ?? null);
      }
      const effectiveOf = (version: PublishedVersion) => effective.get(version) ?? null;
      const during = end.getTime() > from.getTime() ? versionsInEffectDuring(timeline, from, end, effectiveOf) : [];
      if (during.length === 0) continue;
      const reviews = reviewsOfDocument(path, recordedReviews.get(path) ?? [], history.reviews);
      let readableVersions = 0;
      for (const version of during) {
        const source = (await repository.readBlob(version.blob)).toString('utf8');
        const rendered = await renderWithinBudget(path, source, { runMs: budgets.publishRenderMs });
        if (request.reader !== 'operator' && !can(request.reader, 'read', { kind: 'document', orgId: project.orgId, classification: rendered.classification, projectId: project.id, path })) continue;
        readableVersions++;
        versions++;
        if (onVersion) {
          await onVersion({
            project,
            path,
            version,
            source,
            title: rendered.title,
            html: rendered.html,
            classification: rendered.classification,
            record: approvalRecord(project, version, changeRequests, acknowledgments.get(`${path}\0${version.blob}`) ?? []),
            effective: effectiveOf(version),
            inEffectFrom: effectiveFrom(version, effectiveOf(version)),
          });
        }
      }
      if (readableVersions === 0) continue;
      documents++;
      for (const review of reviews) {
        if (review.at.getTime() >= from.getTime() && review.at.getTime() < end.getTime()) reviewRows.push([project.slug, path, review.commit, review.at.toISOString(), review.by, review.kind]);
      }
      // the version in effect at the end of the period, as the as-of view and readers are served it
      const found = await effectiveVersions.versionInEffectAt(project, path, endDay);
      const inEffect = found
        ? (timeline.findLast((e): e is PublishedVersion => e.blob === found.blobId && e.at.getTime() < end.getTime()) ?? null)
        : publications.length === 0
          ? versionInEffect(timeline, end.getTime() - 1, effectiveOf)
          : null;
      if (!inEffect) continue;
      // today's rules: the classification the view applies (the stricter of then and now) decides who reads the row
      const readAs = found?.meta.classification ?? 'restricted';
      const source = (await repository.readBlob(inEffect.blob)).toString('utf8');
      const front = parseFrontMatter(path, source).data;
      if (request.reader !== 'operator' && !can(request.reader, 'read', { kind: 'document', orgId: project.orgId, classification: stricter(readAs, front?.classification ?? 'restricted'), projectId: project.id, path })) continue;
      const reviewsBefore = reviews.filter((r) => r.at.getTime() < end.getTime());
      const lastReview = reviewsBefore[0] ?? null;
      const lastMarked = reviewsBefore.find((r) => r.kind === 'marked') ?? null;
      const next = nextReviewDue({
        reviewBy: front?.review_by ?? null,
        reviewEvery: front?.review_every ?? null,
        lastReviewed: lastReview?.at ?? null,
        lastMarked: lastMarked?.at ?? null,
      });
      const record = approvalRecord(project, inEffect, changeRequests, []);
      register.push({
        project: project.slug,
        document: path,
        title: front?.title ?? '',
        owner: front?.owner ?? '',
        classification: front?.classification ?? 'restricted',
        commit: inEffect.commit,
        blob: inEffect.blob,
        publishedAt: inEffect.at.toISOString(),
        effective: isoDay(effectiveFrom(inEffect, effectiveOf(inEffect))),
        lastReview: lastReview ? isoDay(lastReview.at) : '',
        nextReview: next ?? '',
        approvers: record.approvers,
      });
    }
  }
  return { register, reviewRows, documents, versions };
}

async function writePack(deps: EvidenceDeps, request: EvidenceRequest, projects: ProjectRecord[], key: SigningKey, now: Date, out: Writable): Promise<EvidenceSummary> {
  const { from, to } = evidencePeriod(request.from, request.to);

  const tar = new TarWriter(out, now);
  const files: ManifestFile[] = [];
  const add = async (path: string, data: Buffer) => {
    await tar.add(path, data);
    files.push({ path, sha256: sha256(data), bytes: data.length });
  };
  const walk = await walkPeriod(deps, request, projects, now, async (visited) => {
    const base = `documents/${visited.project.slug}/${visited.path}/${visited.version.commit}`;
    await add(`${base}.md`, Buffer.from(visited.source, 'utf8'));
    await add(`${base}.html`, Buffer.from(htmlPage(visited.title, visited.html), 'utf8'));
    await add(
      `${base}.record.json`,
      Buffer.from(
        JSON.stringify({ ...visited.record, effective: visited.effective, in_effect_from: visited.inEffectFrom.toISOString(), title: visited.title, classification: visited.classification }, null, 2) + '\n',
        'utf8',
      ),
    );
  });
  const { documents, versions } = walk;

  await add('register.csv', csv(REGISTER_COLUMNS, walk.register.map(registerCsvRow)));
  await add('reviews.csv', csv(REVIEW_COLUMNS, walk.reviewRows));
  const audit = await auditTrail(deps.db, request.org.id, from, to);
  await add(AUDIT_EVENTS_FILE, Buffer.from(audit.jsonl, 'utf8'));
  await add(AUDIT_CHAIN_FILE, Buffer.from(JSON.stringify(audit.summary, null, 2) + '\n', 'utf8'));
  await add('README.txt', Buffer.from(README, 'utf8'));

  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    organization: request.org,
    project: request.projectSlug,
    from: from.toISOString(),
    to: to.toISOString(),
    generated_at: now.toISOString(),
    public_key_sha256: key.fingerprint,
    files,
  };
  const bytes = manifestBytes(manifest);
  await tar.add(PUBLIC_KEY_FILE, Buffer.from(key.publicKeyPem, 'utf8'));
  await tar.add(MANIFEST_FILE, bytes);
  await tar.add(SIGNATURE_FILE, signManifest(bytes, key.privateKey));
  await tar.finish();
  return { documents, versions, auditEvents: audit.summary.events, files: files.length + 3, fingerprint: key.fingerprint };
}

/** The policy register of a period, as the pack's `register.csv` has it, for its PDF. */
export interface PolicyRegister {
  org: { id: string; slug: string; name: string };
  /** The project's slug, or null for every project. */
  projectSlug: string | null;
  from: string;
  to: string;
  generatedAt: Date;
  rows: RegisterRow[];
}

/**
 * The policy register alone (its PDF): the same checks as a pack (who may export, the period, the projects in
 * scope) and an audit event `evidence.register_exported` recorded before the register is read; the same rows as
 * the pack's `register.csv` for the same reader and moment.
 */
export async function policyRegister(deps: EvidenceDeps, request: EvidenceRequest): Promise<PolicyRegister> {
  const projects = await evidenceScope(deps, request);
  const now = deps.now?.() ?? new Date();
  const actor = request.reader === 'operator' ? { type: 'system' as const, id: null, label: 'docucommit evidence export' } : auditActorOf(request.reader);
  await recordAuditEvent(deps.db, {
    orgId: request.org.id,
    actor,
    action: 'evidence.register_exported',
    target: { type: 'organization', id: request.org.id, label: request.org.slug },
    outcome: 'success',
    requestId: request.requestId ?? null,
    ip: request.ip ?? null,
    details: { from: request.from, to: request.to, project: request.projectSlug, format: 'pdf' },
  });
  const walk = await walkPeriod(deps, request, projects, now, null);
  return { org: request.org, projectSlug: request.projectSlug, from: request.from, to: request.to, generatedAt: now, rows: walk.register };
}

function registerCsvRow(row: RegisterRow): string[] {
  return [row.project, row.document, row.title, row.owner, row.classification, row.commit, row.blob, row.publishedAt, row.effective, row.lastReview, row.nextReview, row.approvers.join('; ')];
}

const REGISTER_COLUMNS = ['project', 'document', 'title', 'owner', 'classification', 'version_commit', 'version_blob', 'published_at', 'effective', 'last_review', 'next_review', 'approvers'];
const REVIEW_COLUMNS = ['project', 'document', 'commit', 'at', 'by', 'kind'];

function csv(columns: string[], rows: string[][]): Buffer {
  return Buffer.from([columns.join(','), ...rows.map((row) => row.map(csvCell).join(','))].join('\r\n') + '\r\n', 'utf8');
}

function htmlPage(title: string, html: string): string {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>\n<body><article>\n${html}\n</article></body></html>\n`;
}

/**
 * When a version took effect: at its publication, or at the start (00:00 UTC) of its `effective:` date when that
 * came later.
 */
function effectiveFrom(version: PublishedVersion, effective: string | null): Date {
  const midnight = effective === null ? Number.NEGATIVE_INFINITY : Date.parse(`${effective}T00:00:00.000Z`);
  return new Date(Math.max(version.at.getTime(), midnight));
}

/**
 * A document's reviews, newest first: those recorded in `document_reviews`, and, for the time before its first
 * recorded one (reviews that predate the record), those the published branch's history shows.
 */
function reviewsOfDocument(path: string, recorded: readonly ReviewRecord[], fromHistory: readonly ReviewEvent[]): ReviewEvent[] {
  const oldest = recorded.at(-1)?.at.getTime() ?? Number.POSITIVE_INFINITY;
  const known = new Set(recorded.map((r) => r.commit));
  const earlier = fromHistory.filter((r) => r.path === path && r.at.getTime() < oldest && !known.has(r.commit));
  const all: ReviewEvent[] = [...recorded.map((r) => ({ path, commit: r.commit, at: r.at, by: r.reviewer, kind: r.kind })), ...earlier];
  return all.sort((a, b) => b.at.getTime() - a.at.getTime());
}

/** The recorded moves of a project's published branch before `end`, oldest first (when each commit was published). */
async function publicationsOf(db: Db, project: ProjectRecord, end: Date): Promise<Publication[]> {
  const rows = await withOrg(db, project.orgId, (trx) =>
    trx
      .selectFrom('branch_moves')
      .select(['new_commit', 'created_at'])
      .where('org_id', '=', project.orgId)
      .where('project_id', '=', project.id)
      .where('ref', '=', PUBLISHED_REF)
      .where('new_commit', 'is not', null)
      .where('created_at', '<', end)
      .orderBy('created_at')
      .orderBy('id')
      .execute(),
  );
  return rows.map((row) => ({ commit: row.new_commit!, at: new Date(row.created_at) }));
}

interface AckRecord {
  name: string;
  email: string;
  acknowledged_at: string;
  commit: string;
}

/** Acknowledgments of a project, by document path and blob (an acknowledgment is of that exact content). */
async function acknowledgmentsOf(db: Db, project: ProjectRecord): Promise<Map<string, AckRecord[]>> {
  const rows = await withOrg(db, project.orgId, (trx) =>
    trx
      .selectFrom('acknowledgments as a')
      .innerJoin('users as u', 'u.id', 'a.user_id')
      .select(['a.path', 'a.blob_id', 'a.commit_id', 'a.acknowledged_at', 'u.name', 'u.email'])
      .where('a.project_id', '=', project.id)
      .orderBy('a.acknowledged_at')
      .execute(),
  );
  const out = new Map<string, AckRecord[]>();
  for (const row of rows) {
    const key = `${row.path}\0${row.blob_id}`;
    const list = out.get(key) ?? [];
    list.push({ name: row.name, email: row.email, acknowledged_at: new Date(row.acknowledged_at).toISOString(), commit: row.commit_id });
    out.set(key, list);
  }
  return out;
}

interface ChangeRequestRecord {
  number: number;
  title: string;
  author: string;
  opened_at: string;
  merged_at: string | null;
  merged_by: string | null;
  merge_commit: string | null;
  approvals: { name: string; email: string; approved_at: string; commit: string }[];
}

async function changeRequestsOf(db: Db, project: ProjectRecord): Promise<Map<number, ChangeRequestRecord>> {
  return withOrg(db, project.orgId, async (trx) => {
    const requests = await trx
      .selectFrom('change_requests as c')
      .innerJoin('users as a', 'a.id', 'c.author_id')
      .leftJoin('users as m', 'm.id', 'c.merged_by')
      .select(['c.id', 'c.number', 'c.title', 'c.head_commit', 'c.merge_commit', 'c.created_at', 'c.closed_at', 'c.state', 'a.email as author', 'm.email as merged_by'])
      .where('c.project_id', '=', project.id)
      .execute();
    const reviews = await trx
      .selectFrom('change_request_reviews as r')
      .innerJoin('users as u', 'u.id', 'r.user_id')
      .select(['r.change_request_id', 'r.commit', 'r.created_at', 'u.name', 'u.email'])
      .where('r.org_id', '=', project.orgId)
      .where('r.verdict', '=', 'approve')
      .where('r.dismissed_at', 'is', null)
      .orderBy('r.id')
      .execute();
    const out = new Map<number, ChangeRequestRecord>();
    for (const request of requests) {
      out.set(request.number, {
        number: request.number,
        title: request.title,
        author: request.author,
        opened_at: new Date(request.created_at).toISOString(),
        merged_at: request.state === 'merged' && request.closed_at ? new Date(request.closed_at).toISOString() : null,
        merged_by: request.merged_by,
        merge_commit: request.merge_commit,
        // approvals that counted: of the head that was merged
        approvals: reviews
          .filter((r) => r.change_request_id === request.id && r.commit === request.head_commit)
          .map((r) => ({ name: r.name, email: r.email, approved_at: new Date(r.created_at).toISOString(), commit: r.commit })),
      });
    }
    return out;
  });
}

/**
 * The approval record of a version: the commit that published it, the change request it merged (from its
 * `Change-Request:` trailer and the change request's stored approvals) and its `Approved-by:` trailers.
 */
function approvalRecord(project: ProjectRecord, version: PublishedVersion, requests: Map<number, ChangeRequestRecord>, acknowledgments: AckRecord[]) {
  const number = /^Change-Request:\s*(\d+)\s*$/m.exec(version.message)?.[1];
  const trailers = [...version.message.matchAll(/^Approved-by:\s*(.+)$/gm)].map((m) => m[1]!.trim());
  const request = number !== undefined ? (requests.get(Number(number)) ?? null) : null;
  const approvers = request && request.approvals.length > 0 ? request.approvals.map((a) => `${a.name} <${a.email}>`) : trailers;
  return {
    project: project.slug,
    document: version.path,
    commit: version.commit,
    blob: version.blob,
    published_at: version.at.toISOString(),
    published_by: version.author,
    change_request: request,
    approved_by_trailers: trailers,
    approvers,
    acknowledgments,
  };
}

/** The period's events of the chain, as JSON Lines, with where they sit in the chain. */
async function auditTrail(db: Db, orgId: string, from: Date, to: Date): Promise<{ jsonl: string; summary: AuditChainSummary }> {
  const events: AuditEvent[] = [];
  for await (const event of auditEventsBetween(db, orgId, from, to)) events.push(event);
  const bounds = await chainBounds(db, orgId);
  const first = events[0];
  const anchor = !first ? null : first.seq === '1' ? { seq: String(CHAIN_ORIGIN.seq), hash: CHAIN_ORIGIN.hash } : { seq: String(BigInt(first.seq) - 1n), hash: first.prevHash };
  const prunedThrough = bounds && bounds.first !== '1' && (!first || first.seq === bounds.first) ? String(BigInt(bounds.first) - 1n) : null;
  return {
    jsonl: toJsonLines(events),
    summary: {
      org_id: orgId,
      anchor: anchor ?? { seq: bounds?.head.seq ?? '0', hash: bounds?.head.hash ?? CHAIN_ORIGIN.hash },
      events: events.length,
      last_seq: events.at(-1)?.seq ?? null,
      head: bounds?.head ?? null,
      pruned_through: prunedThrough,
    },
  };
}

const README = `DocuCommit evidence pack

register.csv          the policy register: each document in effect at the end of the period
documents/            every version in effect during the period: Markdown (.md), rendered HTML (.html), and
                      its record (.record.json): the commit that published it, the change request and its
                      approvals, and who acknowledged exactly that version and when
reviews.csv           review events of the period (published changes, and "reviewed, no changes" commits)
audit/events.jsonl    the organization's audit events of the period, with their hash chain
audit/chain.json      where those events sit in the chain, and the chain's head when the pack was made
manifest.json         every file's SHA-256, signed (manifest.sig, Ed25519) with the organization's key
public-key.pem        that key; compare its fingerprint with the one served at /{organization}/-/evidence-key

Check it without the server: docucommit evidence verify FILE [--key public-key.pem]
`;
