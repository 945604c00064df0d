import { setFlagsFromString } from 'node:v8';

let applied = false;

/**
 * Keep PGlite's WebAssembly (PostgreSQL compiled to wasm, ~9 MB) on V8's baseline compiler, Liftoff.
 *
 * By default V8 recompiles every wasm function that gets hot with its optimizing compiler, TurboFan, on background
 * threads. PostgreSQL has thousands of such functions: a first import of 10,000 documents spent ~1.2 s of CPU
 * (of ~12 s) compiling them while the same two cores rendered, and the compiled code added 70–120 MB to the
 * process. Liftoff code runs the database's part of a query a little slower once warm (a query is mostly
 * PGlite's JavaScript and the protocol; we measured the steady state within noise), but a process never pays for
 * the compilation. Applies to the whole process, which loads no other WebAssembly; must run before PGlite compiles
 * its module. A PostgreSQL server (DATABASE_URL) involves no wasm and does not call this.
 */
export function keepWasmOnBaselineCompiler(): void {
  if (applied) return;
  applied = true;
  setFlagsFromString('--liftoff-only');
}
