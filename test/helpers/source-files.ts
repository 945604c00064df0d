import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Every TypeScript source file under src/ as [repository-relative path, text], for tests that guard a rule. */
export function sourceFiles(): [string, string][] {
  const found: [string, string][] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.tsx?$/.test(name)) found.push([relative(root, full), readFileSync(full, 'utf8')]);
    }
  };
  walk(join(root, 'src'));
  return found;
}

/** The source files (besides `allowed`) whose text matches `pattern`. */
export function filesMatching(pattern: RegExp, allowed: readonly string[]): string[] {
  return sourceFiles()
    .filter(([path, text]) => !allowed.includes(path) && pattern.test(text))
    .map(([path]) => path);
}
