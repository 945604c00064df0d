// Worker threads do not inherit the main thread's TypeScript loader (Node 20), so a render worker starts here:
// register tsx inside the worker, then load the TypeScript worker body.
import { register } from 'tsx/esm/api';

register();
await import('./render-worker.ts');
