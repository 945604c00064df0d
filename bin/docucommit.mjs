#!/usr/bin/env node
// Entry point of the `docucommit` command: load the TypeScript sources (compiled once by esbuild, see
// load-sources.mjs), then run the CLI.
import { loadSources } from './load-sources.mjs';

const { main } = await loadSources('src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
