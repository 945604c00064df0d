/**
 * Large documents and the event loop (runnable alone: `node --import tsx bench/large-compare.ts`).
 *
 *   1. compare: two versions of a 20,000-line document, every line changed (issue #10: 34.2 s, the server frozen).
 *      Times ProjectHistory.compare (renders in workers, redline and source diff in a worker with the compare's
 *      time budget), while a small HTTP server in this process is asked every 20 ms: the slowest of those
 *      requests is how long any other request could have waited.
 *   2. wide table: a ~5 MB document with a table of 20,000 columns (issue #10: push 10.6 s, first blob view 9.8 s,
 *      both frozen). Times renderWithinBudget with the viewer's budget, with the same probe.
 *
 * BENCH_COMPARE_BUDGET_MS raises the compare's budget, to time the whole diff in its worker.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { UserActor } from '../src/access/actor.ts';
import { ProjectHistory } from '../src/changes/history.ts';
import { Repository } from '../src/git/repository.ts';
import { runGit } from '../src/git/run.ts';
import { budgets, deadlineIn, renderWithinBudget, setBudgets } from '../src/projects/budget-pool.ts';
import type { ProjectRecord } from '../src/projects/projects.ts';
import type { Publisher } from '../src/projects/publisher.ts';
import type { RepositoryRegistry } from '../src/projects/repositories.ts';
import { Snapshot } from '../src/projects/snapshot.ts';
import { renderDocument } from '../src/content/render-document.ts';

const LINES = 20_000;
const header = (title: string) => `---\ntitle: ${title}\nclassification: internal\n---\n\n`;
const bigVersion = (word: string) => header('Big') + Array.from({ length: LINES }, (_, i) => `- Item ${i} ${word} ${i * 7}`).join('\n') + '\n';

function wideTable(): string {
  const row = (cell: (column: number) => string) => `|${Array.from({ length: 20_000 }, (_, c) => ` ${cell(c)} `).join('|')}|`;
  const lines = [row((c) => `h${c}`), row(() => '---')];
  for (let r = 0; r < 23; r++) lines.push(row((c) => `${r}x${c}`));
  return `${header('Wide table')}${lines.join('\n')}\n`;
}

/** Asks a tiny HTTP server of this process every 20 ms while `work` runs; the slowest answer is the figure. */
async function withProbe<T>(work: () => Promise<T>): Promise<{ result: T; workMs: number; slowestOtherMs: number; otherRequests: number }> {
  const server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  let done = false;
  const latencies: number[] = [];
  const probe = (async () => {
    while (!done) {
      const start = performance.now();
      await (await fetch(url)).text();
      latencies.push(performance.now() - start);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const start = performance.now();
  const result = await work();
  const workMs = performance.now() - start;
  done = true;
  await probe;
  server.close();
  return { result, workMs, slowestOtherMs: Math.max(...latencies), otherRequests: latencies.length };
}

export async function runLargeCompareBench() {
  const dir = mkdtempSync(join(tmpdir(), 'docucommit-bench-large-'));
  try {
    const repository = await Repository.create(join(dir, 'repo.git'));
    const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
    const stream = [
      'commit refs/heads/main\nmark :1\ncommitter Bench <bench@example.test> 1700000000 +0000\n', data('v1'), 'M 100644 inline big.md\n', data(bigVersion('before')),
      'commit refs/heads/main\nmark :2\ncommitter Bench <bench@example.test> 1700000001 +0000\n', data('v2'), 'from :1\n', 'M 100644 inline big.md\n', data(bigVersion('after')),
    ].join('');
    await runGit({ gitDir: repository.path, args: ['fast-import', '--quiet'], input: stream, timeoutMs: 120_000 });
    const head = (await repository.resolveCommit('refs/heads/main'))!;
    const first = (await repository.readCommit(head)).parents[0]!;
    const { tree } = await repository.readCommit(head);
    const project: ProjectRecord = {
      id: 'bench', orgId: 'org', orgSlug: 'bench', orgName: 'Bench', slug: 'large', name: 'Large bench',
      description: null, repoDir: 'repo.git', publishedCommit: head, publishedTree: tree,
    };
    const blob = (await repository.listTree(head)).find((e) => e.path === 'big.md')!.oid;
    const { html: _html, ...meta } = renderDocument('big.md', bigVersion('after'));
    const snapshot = new Snapshot(project.id, head, tree, new Map([['big.md', { path: 'big.md', blobId: blob, meta }]]));
    const publisher = { snapshotOf: () => snapshot, publish: async () => snapshot } as unknown as Publisher;
    const registry = { get: async () => repository } as unknown as RepositoryRegistry;
    const history = new ProjectHistory(registry, publisher);
    const actor: UserActor = { kind: 'user', userId: 'u', email: 'u@example.test', name: 'U', memberships: new Map([['org', 'member']]) };
    const reader = { actor, project, grants: new Set<string>() };

    const compare = await withProbe(() => history.compare(reader, first, head, 'big.md'));
    const wide = wideTable();
    const table = await withProbe(() => renderWithinBudget('wide.md', wide, deadlineIn(budgets.viewRenderMs)));
    await repository.close();
    return {
      compareMs: compare.workMs,
      compareAnswer: compare.result.diff ? 'diff' : 'too large to compare',
      compareSlowestOtherMs: compare.slowestOtherMs,
      compareOtherRequests: compare.otherRequests,
      wideTableBytes: Buffer.byteLength(wide),
      wideTableMs: table.workMs,
      wideTableAnswer: table.result.tooLarge ? 'too large to render' : 'rendered',
      wideTableSlowestOtherMs: table.slowestOtherMs,
      budgets: { ...budgets },
      loadAverage: loadavg()[0]!,
      cpus: availableParallelism(),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.env.BENCH_COMPARE_BUDGET_MS) setBudgets({ compareMs: Number(process.env.BENCH_COMPARE_BUDGET_MS) });
const figures = await runLargeCompareBench();
console.log(`compare of two ${LINES}-line versions, every line changed: ${figures.compareMs.toFixed(0)} ms (${figures.compareAnswer}); slowest other request meanwhile: ${figures.compareSlowestOtherMs.toFixed(1)} ms (of ${figures.compareOtherRequests})`);
console.log(`render of a ${(figures.wideTableBytes / 1e6).toFixed(1)} MB table of 20,000 columns: ${figures.wideTableMs.toFixed(0)} ms (${figures.wideTableAnswer}); slowest other request meanwhile: ${figures.wideTableSlowestOtherMs.toFixed(1)} ms`);
console.log(`  (budgets: compare ${figures.budgets.compareMs} ms, view render ${figures.budgets.viewRenderMs} ms; load average ${figures.loadAverage.toFixed(1)} on ${figures.cpus} CPUs)`);
console.log(JSON.stringify(figures));
process.exit(0);
