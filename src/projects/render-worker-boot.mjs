// Worker threads do not inherit the main thread's TypeScript loader (Node 20), so a render worker started without
// the esbuild bundle (render-pool.ts falls back to this when bundling fails) registers tsx here, with the
// project's own tsconfig.json whatever the current directory, then loads the TypeScript worker body.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../../tsconfig.json', import.meta.url)) });
await import('./render-worker.ts');
