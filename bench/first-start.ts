/**
 * The first start as a user meets it: `docucommit serve` on an empty data directory (embedded database created,
 * demo project imported, owner account made) until the server answers its first page. Measured from outside:
 * wall time from spawning the command to the first 200 of `/`, and the peak RSS of the whole process tree
 * (the server, the git spawner, and any child that builds the prepared database image), summed from /proc every
 * 20 ms. Linux only for the memory figure (null elsewhere).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { findDatabaseImage } from '../src/db/database-image.ts';

export interface FirstStartFigures {
  seconds: number;
  peakRssMb: number | null;
  /** Whether the prepared database image (npm ci) was there, or the start had to build it. */
  image: 'prepared' | 'built during the start';
}

const BIN = fileURLToPath(new URL('../bin/docucommit.mjs', import.meta.url));

export async function measureFirstStart(): Promise<FirstStartFigures> {
  const dataDir = mkdtempSync(join(tmpdir(), 'docucommit-first-start-'));
  const image = findDatabaseImage() ? 'prepared' : 'built during the start';
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--data', dataDir], {
    env: { ...process.env, DATABASE_URL: '', DATABASE_APP_URL: '', DOCUCOMMIT_LOADER: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let peak: number | null = null;
  const sample = () => {
    const rss = treeRssBytes(child.pid!);
    if (rss !== null) peak = Math.max(peak ?? 0, rss);
  };
  const sampler = setInterval(sample, 20);
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        const found = /running at (http:\/\/\S+)/.exec(out);
        if (found) resolve(found[1]!.replace('://localhost', '://127.0.0.1'));
      });
      child.stderr.on('data', () => {});
      child.once('exit', (code) => reject(new Error(`docucommit serve exited with ${code} before listening`)));
    });
    for (;;) {
      sample();
      const status = await fetch(`${url}/`).then((r) => (r.body?.cancel(), r.status), () => 0);
      if (status === 200) break;
      if (status >= 300 || performance.now() - started > 120_000) throw new Error(`the first page answered ${status}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - started) / 1000;
    sample();
    return { seconds, peakRssMb: peak === null ? null : peak / 1024 / 1024, image };
  } finally {
    clearInterval(sampler);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** VmRSS of `root` and every process below it, in bytes; null without /proc. */
function treeRssBytes(root: number): number | null {
  try {
    const parents = new Map<number, number[]>();
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        parents.set(ppid, [...(parents.get(ppid) ?? []), Number(name)]);
      } catch {
        // gone meanwhile
      }
    }
    let total = 0;
    const queue = [root];
    while (queue.length > 0) {
      const pid = queue.pop()!;
      try {
        const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
        total += Number(kb ?? 0) * 1024;
      } catch {
        // exited meanwhile
      }
      queue.push(...(parents.get(pid) ?? []));
    }
    return total;
  } catch {
    return null;
  }
}
