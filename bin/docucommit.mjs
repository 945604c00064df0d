#!/usr/bin/env node
// Entry point of the `docucommit` command: load TypeScript sources through tsx, then run the CLI.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

// Our own tsconfig.json, wherever the command is started from: it sets the JSX runtime (Preact) that the views
// need. Left to itself tsx would look in the current directory.
register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
