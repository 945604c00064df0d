/**
 * The organization export (issue #17, docs/organization-export-and-deletion.md): one `.tar.gz` holding everything
 * the organization keeps with us, in open formats — each project's repository as a git bundle (`git clone
 * x.bundle`), the members, the acknowledgments (JSON Lines and CSV), the whole audit log with its hash chain, a
 * README that says what each file is, and a manifest of every file's SHA-256.
 *
 * Streaming: each entry is written to a temporary file (hashing it on the way) and then copied into the archive
 * in chunks (TarWriter.addFile), so neither a repository nor the log is ever held in memory whole. The temporary
 * folder is removed whatever happens.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { UserActor } from '../access/actor.ts';
import { authorize } from '../access/authorize.ts';
import { recordAuditEvent, type AuditEventInput } from '../audit/audit-log.ts';
import { ChainWalker, CHAIN_ORIGIN } from '../audit/chain-check.ts';
import { csvCell, toJsonLine } from '../audit/export.ts';
import { toAuditEvent, type AuditEvent } from '../audit/query.ts';
import { withAuditChain, withOrg, type Db } from '../db/connection.ts';
import { NotFoundError } from '../errors.ts';
import { TarWriter } from '../evidence/tar.ts';
import { runGit } from '../git/run.ts';
import { listOrganizationProjects, type ProjectRecord } from '../projects/projects.ts';
import type { RepositoryRegistry } from '../projects/repositories.ts';
import { freshActor } from './commands/membership-lock.ts';

export const EXPORT_FORMAT = 'docucommit-organization-export-v1';
export const EXPORT_MANIFEST_FILE = 'manifest.json';
const BATCH = 1000;
/** A bundle of a large repository takes a while; git's default call timeout is for small operations. */
const BUNDLE_TIMEOUT_MS = 30 * 60 * 1000;

export interface OrganizationExportDeps {
  db: Db;
  repositories: RepositoryRegistry;
  now?: () => number;
}

export interface OrganizationExportRequest {
  org: { id: string; slug: string; name: string };
  /** An owner in the browser, or the operator running `docucommit org export` on the server's data. */
  reader: UserActor | 'operator';
  requestId?: string;
  ip?: string;
}

export interface OrganizationExportSummary {
  projects: number;
  members: number;
  auditEvents: number;
  acknowledgments: number;
  files: number;
  /** Whether the audit chain checked out while it was written (it is checked again by whoever reads the archive). */
  auditChainIntact: boolean;
}

/** One file of the manifest. */
export interface ExportManifestFile {
  path: string;
  sha256: string;
  bytes: number;
}

const MEMBER_COLUMNS = ['user_id', 'email', 'name', 'role', 'member_since', 'account_disabled'] as const;
const ACK_COLUMNS = ['user_id', 'email', 'project', 'path', 'commit', 'blob', 'acknowledged_at'] as const;
const PROJECT_COLUMNS = ['id', 'slug', 'name', 'description', 'published_commit', 'created_at', 'bundle'] as const;

/**
 * Check who may export (owners; the operator), record `organization.exported` in the organization's chain, and
 * return the writer that streams the archive into `out` (a gzip stream, usually). Nothing is recorded for a refusal.
 */
export async function startOrganizationExport(
  deps: OrganizationExportDeps,
  request: OrganizationExportRequest,
): Promise<{ write(out: Writable): Promise<OrganizationExportSummary> }> {
  const { org } = request;
  const exists = await deps.db.selectFrom('organizations').select('id').where('id', '=', org.id).executeTakeFirst();
  if (!exists) throw new NotFoundError();
  let actor: AuditEventInput['actor'] = { type: 'system', id: null, label: 'docucommit org export' };
  if (request.reader !== 'operator') {
    const reader = request.reader;
    // the role the database holds now (a session's memberships leave out an organization scheduled for deletion)
    const fresh = await withOrg(deps.db, org.id, (trx) => freshActor(trx, reader, org.id));
    authorize(fresh, 'read', { kind: 'organization-data', orgId: org.id }, { hidden: true });
    actor = { type: 'user', id: reader.userId, label: reader.email };
  }
  const projects = await listOrganizationProjects(deps.db, org.id);
  const recorded = await recordAuditEvent(deps.db, {
    orgId: org.id,
    actor,
    action: 'organization.exported',
    target: { type: 'organization', id: org.id, label: org.slug },
    outcome: 'success',
    requestId: request.requestId ?? null,
    ip: request.ip ?? null,
    details: { projects: projects.length },
  });
  const now = new Date(deps.now?.() ?? Date.now());
  // the archive's audit log ends with this record: events appended while it is written belong to the next export
  return { write: (out) => writeExport(deps, org, projects, now, recorded.seq, out) };
}

/** Lines written to a temporary file while their SHA-256 is computed. */
class StagedFile {
  readonly #stream: WriteStream;
  readonly #hash = createHash('sha256');
  bytes = 0;

  constructor(readonly path: string) {
    this.#stream = createWriteStream(path);
  }

  async write(text: string): Promise<void> {
    const data = Buffer.from(text, 'utf8');
    this.#hash.update(data);
    this.bytes += data.length;
    if (!this.#stream.write(data)) await new Promise<void>((resolve, reject) => {
      this.#stream.once('drain', resolve);
      this.#stream.once('error', reject);
    });
  }

  async close(): Promise<string> {
    await new Promise<void>((resolve, reject) => this.#stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
    return this.#hash.digest('hex');
  }
}

async function writeExport(
  deps: OrganizationExportDeps,
  org: OrganizationExportRequest['org'],
  projects: ProjectRecord[],
  now: Date,
  auditThroughSeq: bigint,
  out: Writable,
): Promise<OrganizationExportSummary> {
  const staging = await mkdtemp(join(tmpdir(), 'docucommit-org-export-'));
  const tar = new TarWriter(out, now);
  const files: ExportManifestFile[] = [];
  let counter = 0;
  /** A new temporary file, to fill and then `commit` into the archive. */
  const stage = () => new StagedFile(join(staging, `${++counter}.tmp`));
  /** Close a staged file, copy it into the archive as `name`, list it in the manifest and remove it. */
  const commit = async (name: string, file: StagedFile) => {
    const digest = await file.close();
    await tar.addFile(name, file.path);
    files.push({ path: name, sha256: digest, bytes: file.bytes });
    await rm(file.path, { force: true });
  };
  /** A table as JSON Lines and as CSV (formula-neutralized cells), both written in one pass over the rows. */
  const addTable = async <C extends readonly string[]>(name: string, columns: C, rows: AsyncIterable<Record<C[number], unknown>>) => {
    const jsonl = stage();
    const csv = stage();
    try {
      await csv.write(columns.join(',') + '\r\n');
      for await (const row of rows) {
        await jsonl.write(JSON.stringify(row) + '\n');
        await csv.write(columns.map((column: C[number]) => csvCell(row[column])).join(',') + '\r\n');
      }
    } catch (error) {
      await Promise.allSettled([jsonl.close(), csv.close()]);
      throw error;
    }
    await commit(`${name}.jsonl`, jsonl);
    await commit(`${name}.csv`, csv);
  };
  const addBuffer = async (name: string, data: Buffer) => {
    await tar.add(name, data);
    files.push({ path: name, sha256: createHash('sha256').update(data).digest('hex'), bytes: data.length });
  };
  try {
    const orgRow = await deps.db
      .selectFrom('organizations')
      .select(['id', 'slug', 'name', 'created_at', 'require_mfa', 'session_idle_minutes', 'session_absolute_minutes', 'access_grant_max_minutes', 'ack_due_days', 'audit_retention_days', 'deletion_requested_at', 'deletion_purge_after'])
      .where('id', '=', org.id)
      .executeTakeFirstOrThrow();
    await addBuffer('organization.json', json({ format: EXPORT_FORMAT, exported_at: now.toISOString(), organization: orgRow }));

    // repositories: one bundle per project (every branch and tag), or none for a repository without commits
    const projectRows: Record<(typeof PROJECT_COLUMNS)[number], unknown>[] = [];
    for (const project of projects) {
      const bundleName = `repositories/${project.slug}.bundle`;
      const staged = join(staging, `${++counter}.bundle`);
      const repository = await deps.repositories.get(project);
      const hasRefs = (await runGit({ args: ['for-each-ref', '--count=1', '--format=%(refname)'], gitDir: repository.path })).stdout.toString().trim() !== '';
      let bundled = false;
      if (hasRefs) {
        await runGit({ args: ['bundle', 'create', '--quiet', staged, '--all'], gitDir: repository.path, timeoutMs: BUNDLE_TIMEOUT_MS });
        const digest = await sha256OfFile(staged);
        await tar.addFile(bundleName, staged);
        files.push({ path: bundleName, sha256: digest, bytes: (await stat(staged)).size });
        await rm(staged, { force: true });
        bundled = true;
      }
      const created = await withOrg(deps.db, org.id, (trx) => trx.selectFrom('projects').select('created_at').where('id', '=', project.id).executeTakeFirst());
      projectRows.push({
        id: project.id,
        slug: project.slug,
        name: project.name,
        description: project.description,
        published_commit: project.publishedCommit,
        created_at: created ? new Date(created.created_at).toISOString() : null,
        bundle: bundled ? bundleName : null,
      });
    }
    await addTable('projects', PROJECT_COLUMNS, (async function* () {
      yield* projectRows;
    })());

    // members, with their accounts' names and addresses as the organization sees them
    let members = 0;
    await addTable('members', MEMBER_COLUMNS, (async function* () {
      const rows = await withOrg(deps.db, org.id, (trx) =>
        trx
          .selectFrom('memberships as m')
          .innerJoin('users as u', 'u.id', 'm.user_id')
          .select(['m.user_id', 'u.email', 'u.name', 'm.role', 'm.created_at', 'u.disabled_at'])
          .where('m.org_id', '=', org.id)
          .orderBy('u.email')
          .execute(),
      );
      for (const row of rows) {
        members++;
        yield { user_id: row.user_id, email: row.email, name: row.name, role: row.role, member_since: new Date(row.created_at).toISOString(), account_disabled: row.disabled_at !== null };
      }
    })());

    // acknowledgments, oldest first, in batches
    let acknowledgments = 0;
    const slugOf = new Map(projects.map((p) => [p.id, p.slug]));
    await addTable('acknowledgments', ACK_COLUMNS, (async function* () {
      let after: string | null = null;
      for (;;) {
        const last: string | null = after;
        const rows = await withOrg(deps.db, org.id, (trx) => {
          let query = trx
            .selectFrom('acknowledgments as a')
            .innerJoin('users as u', 'u.id', 'a.user_id')
            .select(['a.id', 'a.user_id', 'u.email', 'a.project_id', 'a.path', 'a.commit_id', 'a.blob_id', 'a.acknowledged_at'])
            .where('a.org_id', '=', org.id)
            .orderBy('a.id')
            .limit(BATCH);
          if (last !== null) query = query.where('a.id', '>', last);
          return query.execute();
        });
        for (const row of rows) {
          acknowledgments++;
          yield {
            user_id: row.user_id,
            email: row.email,
            project: slugOf.get(row.project_id) ?? row.project_id,
            path: row.path,
            commit: row.commit_id,
            blob: row.blob_id,
            acknowledged_at: new Date(row.acknowledged_at).toISOString(),
          };
        }
        if (rows.length < BATCH) return;
        after = String(rows[rows.length - 1]!.id);
      }
    })());

    // the audit log: every event of the chain, oldest first, checked on the way
    let walker: ChainWalker | null = null;
    let intact = true;
    let auditEvents = 0;
    let anchor = { seq: '0', hash: CHAIN_ORIGIN.hash };
    const events = stage();
    for await (const event of chainEvents(deps.db, org.id, auditThroughSeq)) {
      if (walker === null) {
        // a chain whose oldest events were pruned (retention) starts after the last pruned event
        if (event.seq !== '1') anchor = { seq: String(BigInt(event.seq) - 1n), hash: event.prevHash };
        walker = new ChainWalker({ seq: BigInt(anchor.seq), hash: anchor.hash });
      }
      if (intact && walker.next(event) !== null) intact = false;
      auditEvents++;
      await events.write(toJsonLine(event));
    }
    await commit('audit/events.jsonl', events);
    const head = walker === null ? null : walker.head;
    await addBuffer(
      'audit/chain.json',
      json({
        org_id: org.id,
        events: auditEvents,
        anchor,
        head: head === null ? null : { seq: String(head.seq), hash: head.hash },
        intact_when_exported: intact,
      }),
    );
    await addBuffer('README.md', Buffer.from(readme(org, now), 'utf8'));
    // the manifest lists every file before it (it cannot list itself)
    await tar.add(EXPORT_MANIFEST_FILE, json({ format: EXPORT_FORMAT, organization: { id: org.id, slug: org.slug, name: org.name }, generated_at: now.toISOString(), files }));
    await tar.finish();
    return { projects: projects.length, members, auditEvents, acknowledgments, files: files.length + 1, auditChainIntact: intact };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function* chainEvents(db: Db, orgId: string, throughSeq: bigint): AsyncGenerator<AuditEvent> {
  let after: string | null = null;
  for (;;) {
    const last: string | null = after;
    const rows = await withAuditChain(db, orgId, (trx) => {
      let query = trx.selectFrom('audit_events').selectAll().where('org_id', '=', orgId).where('seq', '<=', String(throughSeq)).orderBy('seq', 'asc').limit(BATCH);
      if (last !== null) query = query.where('seq', '>', last);
      return query.execute();
    });
    const events = rows.map(toAuditEvent);
    yield* events;
    if (events.length < BATCH) return;
    after = events[events.length - 1]!.seq;
  }
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value, null, 2) + '\n', 'utf8');

function readme(org: OrganizationExportRequest['org'], now: Date): string {
  return `# Export of the organization "${org.name.replace(/[\r\n]/g, ' ')}" (${org.slug})

Made by DocuCommit on ${now.toISOString()} (format ${EXPORT_FORMAT}). Every file is in an open format and can be
read without DocuCommit.

| file | what it holds |
|---|---|
| \`organization.json\` | The organization: id, slug, name, creation date and its security settings. |
| \`projects.jsonl\`, \`projects.csv\` | One line per project: id, slug, name, description, published commit, creation date, and the bundle holding its repository (empty: the repository had no commits). |
| \`repositories/<project>.bundle\` | Each project's git repository, every branch and tag with its whole history, as a git bundle. Restore it with \`git clone repositories/<project>.bundle <folder>\`; \`git bundle verify\` checks it. |
| \`members.jsonl\`, \`members.csv\` | One line per member: user id, email, name, role, member since, whether the account is disabled. |
| \`acknowledgments.jsonl\`, \`acknowledgments.csv\` | One line per acknowledgment: who (user id, email), which document (project, path) and exact version (commit, blob), when. |
| \`audit/events.jsonl\` | The organization's whole audit log, oldest first: every stored field of every event, with \`prev_hash\` and \`hash\`. |
| \`audit/chain.json\` | The chain's summary: how many events, the first sequence number (above 1 when old events were pruned by retention: \`anchor\` is the last pruned event), the head (last seq and hash), and whether the chain checked out when exported. |
| \`manifest.json\` | The SHA-256 and size of every file above (it is the last file of the archive and does not list itself). |

CSV files are RFC 4180 with a header line; a cell that a spreadsheet would run as a formula starts with an
apostrophe. JSON Lines files hold one JSON object per line, with the same fields as the CSV columns.

## Checking the archive

- Each file: \`sha256sum <file>\` must equal its line in \`manifest.json\`.
- The audit chain: each event's \`hash\` is the SHA-256 of its canonical serialization (DocuCommit's
  \`src/audit/hash.ts\`), and its \`prev_hash\` is the \`hash\` of the event before it (the first event's is 64 zeros,
  or the anchor's hash after pruning); the sequence numbers have no gaps. Keep \`audit/chain.json\`'s head: it is
  also recorded, without personal data, in the instance's system audit chain when the organization is deleted.
`;
}
