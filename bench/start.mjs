// `npm run bench`: runs the benchmarks compiled the way `docucommit serve` runs the product (bin/load-sources.mjs),
// so the measured server process is the one users run, without a TypeScript loader in it:
//   1. bench/run.ts — import, updates, page load, git, history (its flags: see the file);
//   2. bench/audited-reads.ts — audited confidential reads on PGlite and PostgreSQL (skip with --no-audit);
//   3. bench/search.ts — search index build and query latency on 10,000 documents (skip with --no-search);
//   4. bench/as-of.ts — the project as of past days on 10,000 documents with a year of history (skip with --no-as-of);
//   5. bench/changes.ts — change requests on 10,000 documents: the page of one touching 50 documents, merge →
//      visible, the list (skip with --no-changes);
//   6. bench/navigation.ts — page bytes and first-view time of a document page at 1,000, 10,000 and 50,000
//      documents (skip with --no-navigation).
// Alone, each in a process of its own: `npm run bench:audit`, `bench:search`, `bench:as-of`, `bench:changes`, and two that are not
// part of the full run: `bench:processes` (bench/processes.ts: PostgreSQL, one and two server processes) and
// `bench:evidence` (bench/evidence.ts: the evidence pack of a 1,000-document project with a year of history).
// `node --import tsx bench/run.ts` still works (e.g. with --cpu-prof), measuring the tsx way of running.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadSources } from '../bin/load-sources.mjs';

/** The parts of the full run, with the flag that skips each. */
const FULL_RUN = [
  ['bench/run.ts', null],
  ['bench/audited-reads.ts', '--no-audit'],
  ['bench/search.ts', '--no-search'],
  ['bench/as-of.ts', '--no-as-of'],
  ['bench/changes.ts', '--no-changes'],
  ['bench/navigation.ts', '--no-navigation'],
];
/** `--only-…` flags: one benchmark alone. */
const ONLY = {
  '--only-audit': 'bench/audited-reads.ts',
  '--only-search': 'bench/search.ts',
  '--only-as-of': 'bench/as-of.ts',
  '--only-changes': 'bench/changes.ts',
  '--only-processes': 'bench/processes.ts',
  '--only-evidence': 'bench/evidence.ts',
};

const entry = process.env.DOCUCOMMIT_BENCH_ENTRY;
if (entry) {
  await loadSources(entry);
} else {
  const args = process.argv.slice(2);
  const only = Object.keys(ONLY).find((flag) => args.includes(flag));
  const runs = only ? [ONLY[only]] : FULL_RUN.filter(([, skip]) => skip === null || !args.includes(skip)).map(([run]) => run);
  const ours = new Set([...Object.keys(ONLY), ...FULL_RUN.map(([, skip]) => skip).filter(Boolean)]);
  const passed = args.filter((a) => !ours.has(a));
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
