/**
 * History and redline benchmark (callable from bench/run.ts; runnable alone: `node --import tsx bench/history.ts`).
 *
 *   1. history: a bare repository whose main branch holds 2,000 commits made with `git fast-import`: 1,000 versions
 *      of one document interleaved with 1,000 commits to other files. Times ProjectHistory.documentHistory (git log
 *      --follow with the file records, the classification of each listed version) plus rendering the page body, for
 *      the first page and for the last page (the oldest 50 versions), median over runs.
 *   2. redline: two versions of a ~200 KB document differing in a dozen places. Times redline() + sourceDiff() on
 *      the two rendered bodies (what a compare page computes once the versions are rendered; renders are cached by
 *      blob), median over runs, and reports one render of the document separately.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { ProjectHistory } from '../src/changes/history.ts';
import { redline } from '../src/content/redline/redline.ts';
import { sourceDiff } from '../src/content/redline/source-diff.ts';
import { renderDocument } from '../src/content/render-document.ts';
import { Repository } from '../src/git/repository.ts';
import { runGit } from '../src/git/run.ts';
import type { ProjectRecord } from '../src/projects/projects.ts';
import type { Publisher } from '../src/projects/publisher.ts';
import type { RepositoryRegistry } from '../src/projects/repositories.ts';
import { Snapshot } from '../src/projects/snapshot.ts';
import type { UserActor } from '../src/access/actor.ts';
import { renderHistoryBody } from '../src/web/views/history.tsx';

export interface HistoryBenchOptions {
  versions?: number;
  runs?: number;
  redlineBytes?: number;
}

export interface HistoryBenchFigures {
  versions: number;
  commits: number;
  buildMs: number;
  historyFirstPageMedianMs: number;
  historyLastPageMedianMs: number;
  redlineDocumentBytes: number;
  redlineMedianMs: number;
  renderOnceMs: number;
  /** 1-minute load average and CPUs when the run ended: figures from a busy machine are inflated. */
  loadAverage: number;
  cpus: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

async function time<T>(fn: () => Promise<T> | T): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** A fast-import stream: `versions` versions of policies/tracked.md interleaved with as many other commits. */
function fastImportStream(versions: number): string {
  const out: string[] = [];
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  let mark = 0;
  const base = 1_700_000_000;
  for (let i = 0; i < versions * 2; i++) {
    const tracked = i % 2 === 0;
    const version = Math.floor(i / 2);
    const path = tracked ? 'policies/tracked.md' : `notes/note-${i % 50}.md`;
    const content = tracked
      ? `---\ntitle: Tracked\nclassification: internal\n---\n\n# Tracked\n\n## Section\n\nVersion ${version} of the tracked policy.\n`
      : `---\ntitle: Note ${i % 50}\n---\n\nNote body ${i}.\n`;
    out.push(`commit refs/heads/main\nmark :${++mark}\ncommitter Bench <bench@example.test> ${base + i} +0000\n`);
    out.push(data(tracked ? `Update tracked policy to version ${version}` : `Note ${i}`));
    if (i > 0) out.push(`from :${mark - 1}\n`);
    out.push(`M 100644 inline ${path}\n`, data(content));
  }
  return out.join('');
}

/** A Markdown document of about `bytes` bytes: sections of paragraphs, lists and tables. */
function bigDocument(bytes: number): string {
  const parts = ['---\ntitle: Big policy\nclassification: internal\n---\n\n# Big policy\n'];
  let size = parts[0]!.length;
  for (let section = 0; size < bytes; section++) {
    const text = [`## Section ${section}`];
    for (let p = 0; p < 6; p++) {
      text.push(`Paragraph ${p} of section ${section}: the organization keeps records of every change, reviews access every quarter and encrypts data at rest and in transit with managed keys.`);
    }
    text.push(`- first rule of section ${section}\n- second rule of section ${section}\n- third rule of section ${section}`);
    text.push(`| Item | Owner |\n|---|---|\n| Item ${section} | Team ${section % 7} |`);
    const block = text.join('\n\n') + '\n\n';
    parts.push(block);
    size += block.length;
  }
  return parts.join('');
}

/** Runs the benchmark and returns its figures. */
export async function runHistoryBench(options: HistoryBenchOptions = {}): Promise<HistoryBenchFigures> {
  const versions = options.versions ?? 1000;
  const runs = options.runs ?? 15;
  const dir = mkdtempSync(join(tmpdir(), 'docucommit-bench-history-'));
  try {
    // 1. history
    const buildStart = performance.now();
    const repository = await Repository.create(join(dir, 'repo.git'));
    await runGit({ gitDir: repository.path, args: ['fast-import', '--quiet'], input: fastImportStream(versions), timeoutMs: 120_000 });
    const head = (await repository.resolveCommit('refs/heads/main'))!;
    const { tree } = await repository.readCommit(head);
    const buildMs = performance.now() - buildStart;

    const project: ProjectRecord = {
      id: 'bench', orgId: 'org', orgSlug: 'bench', orgName: 'Bench', slug: 'history', name: 'History bench',
      description: null, repoDir: 'repo.git', publishedCommit: head, publishedTree: tree,
    };
    const trackedBlob = (await repository.listTree(head)).find((e) => e.path === 'policies/tracked.md')!.oid;
    const rendered = renderDocument('policies/tracked.md', (await repository.readBlob(trackedBlob)).toString('utf8'));
    const { html: _html, ...meta } = rendered;
    const snapshot = new Snapshot(project.id, head, tree, new Map([['policies/tracked.md', { path: 'policies/tracked.md', blobId: trackedBlob, meta }]]));
    const publisher = { snapshotOf: () => snapshot, publish: async () => snapshot } as unknown as Publisher;
    const registry = { get: async () => repository } as unknown as RepositoryRegistry;
    const history = new ProjectHistory(registry, publisher);
    const actor: UserActor = { kind: 'user', userId: 'u', email: 'u@example.test', name: 'U', memberships: new Map([['org', 'member']]) };
    const reader = { actor, project, grants: new Set<string>() };
    const viewProject = { orgSlug: 'bench', orgName: 'Bench', slug: 'history', name: 'History bench' };
    const historyPage = async (page: number) => {
      const result = await history.documentHistory(reader, 'policies/tracked.md', page);
      if (result.entries.length === 0) throw new Error('empty history page');
      return renderHistoryBody({
        chrome: { project: viewProject, nav: snapshot.viewFor('internal').nav, currentPath: 'policies/tracked.md', breadcrumbs: [] },
        ...result,
        csrfToken: null,
      });
    };
    const lastPage = Math.ceil(versions / 50);
    await historyPage(1); // warm-up (cat-file process, caches)
    const first: number[] = [];
    const last: number[] = [];
    for (let i = 0; i < runs; i++) {
      first.push(await time(() => historyPage(1)));
      last.push(await time(() => historyPage(lastPage)));
    }
    await repository.close();

    // 2. redline
    const before = bigDocument(options.redlineBytes ?? 200 * 1024);
    let after = before;
    for (const section of [1, 9, 17, 30, 44, 58, 71, 85, 99, 120, 140, 160]) {
      after = after.replace(`Paragraph 3 of section ${section}:`, `Paragraph 3 of section ${section} (revised):`);
    }
    after = after.replace('## Section 50\n', '## Section 50\n\nA whole new paragraph in section 50.\n\n');
    const renderStart = performance.now();
    const beforeHtml = renderDocument('big.md', before).html;
    const renderOnceMs = performance.now() - renderStart;
    const afterHtml = renderDocument('big.md', after).html;
    const redlineRuns: number[] = [];
    redline(beforeHtml, afterHtml); // warm-up
    for (let i = 0; i < runs; i++) {
      redlineRuns.push(
        await time(() => {
          const result = redline(beforeHtml, afterHtml);
          if (!result.changed) throw new Error('no change found');
          sourceDiff(before, after);
        }),
      );
    }
    return {
      versions,
      commits: versions * 2,
      buildMs,
      historyFirstPageMedianMs: median(first),
      historyLastPageMedianMs: median(last),
      redlineDocumentBytes: Buffer.byteLength(before),
      redlineMedianMs: median(redlineRuns),
      renderOnceMs,
      loadAverage: loadavg()[0]!,
      cpus: availableParallelism(),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The figures as table rows: name, value, target. */
export function historyBenchRows(f: HistoryBenchFigures): [string, string, string][] {
  return [
    [`history page of a document with ${f.versions} versions (newest 50, median)`, `${f.historyFirstPageMedianMs.toFixed(1)} ms`, '< 100 ms'],
    [`history page of a document with ${f.versions} versions (oldest 50, median)`, `${f.historyLastPageMedianMs.toFixed(1)} ms`, '< 100 ms'],
    [`redline + source diff of two versions of a ${Math.round(f.redlineDocumentBytes / 1024)} KB document (median)`, `${f.redlineMedianMs.toFixed(1)} ms`, '< 100 ms'],
    ['  (one render of that document, cached by blob on the compare page)', `${f.renderOnceMs.toFixed(1)} ms`, ''],
    [`  (building ${f.commits} commits with git fast-import)`, `${f.buildMs.toFixed(0)} ms`, ''],
    [`  (load average ${f.loadAverage.toFixed(1)} on ${f.cpus} CPUs)`, '', ''],
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const figures = await runHistoryBench();
  for (const [name, value, target] of historyBenchRows(figures)) console.log(`${name.padEnd(86)} ${value.padStart(10)}  ${target}`);
  console.log(JSON.stringify(figures));
}
