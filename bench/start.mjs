// `npm run bench`: runs bench/run.ts compiled the way `docucommit serve` runs the product (bin/load-sources.mjs),
// so the measured server process is the one users run, without a TypeScript loader in it.
// `node --import tsx bench/run.ts` still works (e.g. with --cpu-prof), measuring the tsx way of running.
import { loadSources } from '../bin/load-sources.mjs';

await loadSources('bench/run.ts');
