/**
 * Guard (with ESLint's import boundaries): routes parse input, open what they work on, call one use case and
 * present. No module under src/web/routes/ imports src/db/ or src/git/ (the smart-HTTP stream of git-http.ts
 * aside), receives the database handle, or starts a process.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sourceFiles } from '../helpers/source-files.ts';

const routes = () => sourceFiles().filter(([path]) => path.startsWith('src/web/routes/'));
const imports = (text: string) => [...text.matchAll(/^import [^;]*? from '([^']+)';/gms)].map((m) => m[1]!);

test('no route imports the database or git (the smart-HTTP stream aside) or starts a process', () => {
  const offenders = routes().flatMap(([path, text]) =>
    imports(text)
      .filter((from) => /(^|\/)(db|git)\//.test(from) || /child_process/.test(from))
      .filter((from) => !(path === 'src/web/routes/git-http.ts' && from.endsWith('/git/smart-http.ts')))
      .map((from) => `${path}: ${from}`),
  );
  assert.deepEqual(offenders, []);
});

test('no route receives the database handle', () => {
  assert.deepEqual(routes().filter(([, text]) => /\bDb\b|\bdb:\s/.test(text)).map(([path]) => path), []);
});

test('the guard reads multi-line imports', () => {
  assert.deepEqual(imports("import {\n  a,\n  b,\n} from '../../git/run.ts';\nimport type { Db } from '../../db/connection.ts';\n"), ['../../git/run.ts', '../../db/connection.ts']);
});
