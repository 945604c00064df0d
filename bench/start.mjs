// `npm run bench`: runs the benchmarks compiled the way `docucommit serve` runs the product (bin/load-sources.mjs),
// so the measured server process is the one users run, without a TypeScript loader in it:
//   1. bench/run.ts — import, updates, page load, git, history (its flags: see the file);
//   2. bench/audited-reads.ts — audited confidential reads on PGlite and PostgreSQL (skip with --no-audit).
// `npm run bench:audit` runs only the second. Each runs in a process of its own.
// `node --import tsx bench/run.ts` still works (e.g. with --cpu-prof), measuring the tsx way of running.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadSources } from '../bin/load-sources.mjs';

const entry = process.env.DOCUCOMMIT_BENCH_ENTRY;
if (entry) {
  await loadSources(entry);
} else {
  const args = process.argv.slice(2);
  const only = args.includes('--only-audit');
  const runs = only ? ['bench/audited-reads.ts'] : args.includes('--no-audit') ? ['bench/run.ts'] : ['bench/run.ts', 'bench/audited-reads.ts'];
  const passed = args.filter((a) => a !== '--only-audit' && a !== '--no-audit');
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
