/**
 * Evidence pack benchmark (`npm run bench:evidence`).
 *
 * A generated project of 1,000 documents (bench/corpus.ts) with a year of history on its published branch: the
 * whole corpus committed a year ago, then two commits a day, each changing one to three documents (every fifth a
 * merged change request with its trailers, every tenth a "reviewed, no changes" empty commit), and a thousand
 * audit events, with the records a server keeps as it goes (each move of main with its time, each review in
 * `document_reviews`). Measured: the export of the whole year (`docucommit evidence export`'s code path, to a file),
 * its size and file count, and the offline verification of the pack. Prints figures; the machine's load average
 * is printed with them (the reference machine is shared: read the figures with it).
 *
 * Flags: --documents N (1000)  --days D (365)  --per-day C (2)
 */
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { createGzip } from 'node:zlib';
import { createAppContext } from '../src/app-context.ts';
import { recordAuditEvent } from '../src/audit/audit-log.ts';
import { mfaSecretBox } from '../src/auth/mfa.ts';
import { loadConfig } from '../src/config/config.ts';
import { openDatabase } from '../src/db/connection.ts';
import { writeEvidencePack } from '../src/evidence/evidence-pack.ts';
import { verifyEvidencePackFile } from '../src/evidence/verify-pack.ts';
import { ensureOrganization } from '../src/organizations/organizations.ts';
import { ensureProject } from '../src/projects/projects.ts';
import { generateCorpus, Rng } from './corpus.ts';

const { values } = parseArgs({ options: { documents: { type: 'string', default: '1000' }, days: { type: 'string', default: '365' }, 'per-day': { type: 'string', default: '2' } }, strict: false });
const DOCUMENTS = Number(values.documents);
const DAYS = Number(values.days);
const PER_DAY = Number(values['per-day']);
const DAY = 24 * 60 * 60 * 1000;

const work = mkdtempSync(join(tmpdir(), 'docucommit-bench-evidence-'));
try {
  const corpus = generateCorpus(join(work, 'corpus'), { documents: DOCUMENTS });
  const dataDir = join(work, 'data');
  mkdirSync(dataDir);
  const config = loadConfig({ dataDir, env: {} });
  const db = await openDatabase({ kind: 'pglite', dataDir: join(dataDir, 'db') });
  const context = await createAppContext(config, db);
  const org = await ensureOrganization(db, 'bench');
  const { project } = await ensureProject(db, { orgId: org.id, slug: 'handbook', name: 'Handbook' });
  const repository = await context.repositories.get(project);
  const rng = new Rng(7);
  const start = Date.now() - DAYS * DAY;
  const author = (at: Date) => ({ name: 'Bench Author', email: 'author@bench.test', date: at });
  let t0 = performance.now();
  const documents = corpus.paths.filter((p) => p.endsWith('.md'));
  let head = (
    await repository.commitFiles({
      branch: 'main',
      expectedOld: null,
      mode: 'replace-all',
      changes: corpus.paths.map((path) => ({ path, content: readFileSync(join(corpus.dir, path)) })),
      author: author(new Date(start)),
      message: `Import ${corpus.paths.length} files`,
    })
  ).commit!;
  let commits = 1;
  let changeRequest = 0;
  // what a server records as it goes: each move of main (when readers were served it) and each review
  const moves: { old: string | null; commit: string; at: Date; paths: string[] }[] = [{ old: null, commit: head, at: new Date(start), paths: documents }];
  const reviewRows: { path: string; commit: string; kind: 'change' | 'marked'; at: Date }[] = documents.map((path) => ({ path, commit: head, kind: 'change' as const, at: new Date(start) }));
  for (let day = 0; day < DAYS; day++) {
    for (let n = 0; n < PER_DAY; n++) {
      const at = new Date(start + day * DAY + (n + 1) * (DAY / (PER_DAY + 1)));
      commits++;
      if (commits % 10 === 0) {
        const path = documents[Math.floor(rng.next() * documents.length)]!;
        const old = head;
        head = (await repository.commitFiles({ branch: 'main', expectedOld: head, mode: 'patch', changes: [], author: author(at), message: `Review ${path}: no changes\n\nReviewed-by: Bench Reviewer <reviewer@bench.test>` })).commit!;
        moves.push({ old, commit: head, at, paths: [] });
        reviewRows.push({ path, commit: head, kind: 'marked', at });
        continue;
      }
      const byPath = new Map<string, string>(); // a document drawn twice is changed once
      for (let k = 1 + Math.floor(rng.next() * 3); k > 0; k--) {
        const path = documents[Math.floor(rng.next() * documents.length)]!;
        const before = readFileSync(join(corpus.dir, path), 'utf8');
        byPath.set(path, `${before}\nRevision of day ${day}, change ${n}.\n`);
      }
      const changes = [...byPath].map(([path, content]) => ({ path, content }));
      const message = commits % 5 === 0 ? `Merge change request !${++changeRequest}\n\nChange-Request: ${changeRequest}\nApproved-by: Bench Approver <approver@bench.test>` : `Update day ${day}`;
      const old = head;
      head = (await repository.commitFiles({ branch: 'main', expectedOld: head, mode: 'patch', changes, author: author(at), message })).commit!;
      const paths = changes.map((c) => c.path);
      moves.push({ old, commit: head, at, paths });
      for (const path of paths) reviewRows.push({ path, commit: head, kind: 'change', at });
    }
  }
  await db.transaction().execute(async (trx) => {
    await sql`SET LOCAL ROLE NONE`.execute(trx);
    const actor = JSON.stringify({ type: 'user', id: 'bench', label: 'author@bench.test' });
    for (let i = 0; i < moves.length; i += 500) {
      await trx
        .insertInto('branch_moves')
        .values(moves.slice(i, i + 500).map((m) => ({ org_id: org.id, project_id: project.id, ref: 'refs/heads/main', old_commit: m.old, new_commit: m.commit, kind: 'push', actor, changed_paths: JSON.stringify(m.paths), paths_truncated: false, created_at: m.at })))
        .execute();
    }
    for (let i = 0; i < reviewRows.length; i += 500) {
      await trx
        .insertInto('document_reviews')
        .values(reviewRows.slice(i, i + 500).map((r) => ({ org_id: org.id, project_id: project.id, path: r.path, commit_id: r.commit, kind: r.kind, reviewer_id: null, reviewer_label: 'author@bench.test', reviewed_at: r.at })))
        .execute();
    }
  });
  // a server holds the published snapshot; the export derives the view of the period's last day from it
  await context.publisher.publish(project);
  for (let n = 0; n < 1000; n++) await recordAuditEvent(db, { orgId: org.id, actor: { type: 'system', id: null }, action: 'settings.changed', outcome: 'success', details: { n } });
  console.log(`setup: ${documents.length} documents, ${commits} commits over ${DAYS} days, 1000 audit events (${((performance.now() - t0) / 1000).toFixed(1)} s)`);

  const file = join(work, 'pack.tar.gz');
  const today = new Date().toISOString().slice(0, 10);
  const from = new Date(start).toISOString().slice(0, 10);
  const rssBefore = process.memoryUsage().rss;
  t0 = performance.now();
  const gzip = createGzip();
  const [summary] = await Promise.all([
    writeEvidencePack({ db, repositories: context.repositories, publisher: context.publisher, box: mfaSecretBox(config.mfaKeys) }, { org: { id: org.id, slug: org.slug, name: org.name }, projectSlug: 'handbook', from, to: today, reader: 'operator' }, gzip),
    pipeline(gzip, createWriteStream(file)),
  ]);
  const exportSeconds = (performance.now() - t0) / 1000;
  const rssAfter = process.memoryUsage().rss;
  t0 = performance.now();
  const verdict = await verifyEvidencePackFile(file);
  const verifySeconds = (performance.now() - t0) / 1000;
  if (!verdict.ok) throw new Error(`the pack does not verify: ${verdict.problem}`);
  console.table([
    {
      documents: summary.documents,
      versions: summary.versions,
      files: summary.files,
      audit_events: summary.auditEvents,
      pack_MB: Math.round((statSync(file).size / 1e6) * 10) / 10,
      export_s: Math.round(exportSeconds * 10) / 10,
      verify_s: Math.round(verifySeconds * 10) / 10,
      rss_MB: Math.round(rssAfter / 1e6),
      rss_growth_MB: Math.round((rssAfter - rssBefore) / 1e6),
    },
  ]);
  console.log(`load average (1, 5, 15 min): ${loadavg().map((l) => l.toFixed(2)).join(', ')}`);
  await context.close();
} finally {
  rmSync(work, { recursive: true, force: true });
}
