// `npm run bench`: runs the benchmarks compiled the way `docucommit serve` runs the product (bin/load-sources.mjs),
// so the measured server process is the one users run, without a TypeScript loader in it:
//   1. bench/run.ts — import, updates, page load, git, history (its flags: see the file);
//   2. bench/audited-reads.ts — audited confidential reads on PGlite and PostgreSQL (skip with --no-audit);
//   3. bench/search.ts — search index build and query latency on 10,000 documents (skip with --no-search);
//   4. bench/navigation.ts — page bytes and first-view time of a document page at 1,000, 10,000 and 50,000 documents.
// `npm run bench:audit` runs only the second, `npm run bench:search` only the third. Each runs in a process of its own.
// `node --import tsx bench/run.ts` still works (e.g. with --cpu-prof), measuring the tsx way of running.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadSources } from '../bin/load-sources.mjs';

const entry = process.env.DOCUCOMMIT_BENCH_ENTRY;
if (entry) {
  await loadSources(entry);
} else {
  const args = process.argv.slice(2);
  const runs = args.includes('--only-audit')
    ? ['bench/audited-reads.ts']
    : args.includes('--only-search')
      ? ['bench/search.ts']
      : ['bench/run.ts', 'bench/audited-reads.ts', 'bench/search.ts', 'bench/navigation.ts'].filter(
          (run) => !(args.includes('--no-audit') && run === 'bench/audited-reads.ts') && !(args.includes('--no-search') && run === 'bench/search.ts'),
        );
  const passed = args.filter((a) => !['--only-audit', '--no-audit', '--only-search', '--no-search'].includes(a));
  let status = 0;
  for (const run of runs) {
    const result = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...passed], {
      stdio: 'inherit',
      env: { ...process.env, DOCUCOMMIT_BENCH_ENTRY: run },
    });
    status ||= result.status ?? 1;
  }
  process.exit(status);
}
