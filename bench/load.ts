/**
 * Load generator for the benchmark, run as a child process (bench/run.ts forks it) so that the generator's own
 * CPU and memory do not count against the server: the server process is measured alone.
 *
 * The generator is `wrk` (a C program, one thread, on loopback) when it is installed, else autocannon (Node,
 * programmatic API). On a 2-core machine the generator shares the cores with the server: autocannon needs more
 * CPU than the server to parse these pages, wrk a fraction of it, so wrk is preferred. `generator` forces one.
 *
 * Input: one JSON argument `{ url, connections, duration, headers?, warmup?, generator? }`.
 * Output: one message over IPC (or one JSON line on stdout without IPC) with the figures.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';

export type LoadGenerator = 'wrk' | 'autocannon';

export interface LoadRequest {
  url: string;
  connections: number;
  /** Seconds. */
  duration: number;
  headers?: Record<string, string>;
  /** Seconds of unmeasured load before the measured run (JIT, caches). */
  warmup?: number;
  /** Default: wrk when installed, else autocannon. */
  generator?: LoadGenerator;
}

export interface LoadResult {
  generator: LoadGenerator;
  /** Requests per second over the measured run (wrk: completed requests / duration; autocannon: mean of 1 s samples). */
  rps: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  mean_ms: number;
  requests: number;
  ok_2xx: number;
  /** autocannon: every answer outside 2xx; wrk: answers ≥ 400 (a 3xx counts as done: run.ts checks the page is a
   * 200 before and after each run). */
  non_2xx: number;
  errors: number;
  timeouts: number;
  /** Mean response throughput, bytes per second. */
  bytes_per_second: number;
  duration_seconds: number;
  /** Peak RSS of the load generator (this process, or wrk). */
  loader_peak_rss_mb: number;
  /** CPU used by the load generator during the measured run, in % of one core. */
  loader_cpu_percent: number;
}

/** True when a `wrk` binary answers on PATH. */
export function wrkAvailable(): boolean {
  const probe = spawnSync('wrk', ['--version'], { stdio: 'ignore' });
  return probe.error === undefined; // `wrk --version` exits 1 after printing its version
}

// Prints the figures as one JSON line after the run (latencies in µs).
const WRK_REPORT = String.raw`
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "\nWRK_JSON {\"requests\":%d,\"duration_us\":%d,\"bytes\":%d,\"connect\":%d,\"read\":%d,\"write\":%d,\"status\":%d,\"timeout\":%d," ..
    "\"p50\":%.0f,\"p90\":%.0f,\"p99\":%.0f,\"max\":%.0f,\"mean\":%.1f}\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
`;

interface WrkReport {
  requests: number;
  duration_us: number;
  bytes: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** CPU seconds of this process's exited, waited-for children (wrk), from /proc (USER_HZ = 100). */
function childrenCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  return (fields[13]! + fields[14]!) / 100;
}

/** One wrk run; resolves with its report, the CPU it used and its peak RSS. */
function runWrk(request: LoadRequest, duration: number, script: string): Promise<{ report: WrkReport; cpuSeconds: number; peakRss: number }> {
  const threads = Math.max(1, Math.min(Number(process.env.BENCH_WRK_THREADS ?? 1), request.connections));
  const args = ['-t', String(threads), '-c', String(request.connections), '-d', `${Math.max(1, Math.round(duration))}s`, '--timeout', '10s', '-s', script];
  for (const [name, value] of Object.entries(request.headers ?? {})) args.push('-H', `${name}: ${value}`);
  args.push(request.url);
  return new Promise((resolve, reject) => {
    const cpuBefore = childrenCpuSeconds();
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let peakRss = 0;
    const sampler = setInterval(() => {
      try {
        const pages = Number(readFileSync(`/proc/${child.pid}/statm`, 'utf8').split(' ')[1]);
        peakRss = Math.max(peakRss, pages * 4096);
      } catch {
        // exited
      }
    }, 50);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', (error) => {
      clearInterval(sampler);
      reject(error);
    });
    child.on('close', (code) => {
      clearInterval(sampler);
      const line = stdout.split('\n').find((l) => l.startsWith('WRK_JSON '));
      if (code !== 0 || !line) return reject(new Error(`wrk exited with code ${code}: ${stderr || stdout}`));
      resolve({ report: JSON.parse(line.slice('WRK_JSON '.length)) as WrkReport, cpuSeconds: childrenCpuSeconds() - cpuBefore, peakRss });
    });
  });
}

async function measureWithWrk(request: LoadRequest): Promise<LoadResult> {
  const script = join(tmpdir(), `docucommit-bench-wrk-${process.pid}.lua`);
  writeFileSync(script, WRK_REPORT);
  let measured: Awaited<ReturnType<typeof runWrk>>;
  let own: NodeJS.CpuUsage;
  let wallSeconds: number;
  try {
    if (request.warmup && request.warmup > 0) await runWrk(request, request.warmup, script);
    process.send?.({ event: 'measure-start' });
    const ownCpu = process.cpuUsage();
    const wallStart = performance.now();
    measured = await runWrk(request, request.duration, script);
    own = process.cpuUsage(ownCpu);
    wallSeconds = (performance.now() - wallStart) / 1000;
  } finally {
    rmSync(script, { force: true });
  }
  const { report, cpuSeconds, peakRss } = measured;
  const seconds = report.duration_us / 1e6;
  const ms = (us: number) => Math.round(us / 10) / 100;
  return {
    generator: 'wrk',
    rps: report.requests / seconds,
    p50_ms: ms(report.p50),
    p90_ms: ms(report.p90),
    p99_ms: ms(report.p99),
    max_ms: ms(report.max),
    mean_ms: ms(report.mean),
    requests: report.requests,
    ok_2xx: report.requests - report.status,
    non_2xx: report.status,
    errors: report.connect + report.read + report.write,
    timeouts: report.timeout,
    bytes_per_second: report.bytes / seconds,
    duration_seconds: seconds,
    loader_peak_rss_mb: peakRss / 1024 / 1024,
    // wrk's CPU plus this (idle, waiting) Node process's, which is what the generator costs the machine.
    loader_cpu_percent: ((cpuSeconds + (own.user + own.system) / 1e6) / wallSeconds) * 100,
  };
}

function run(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
    // autocannon prints nothing unless asked; make sure it never renders its progress bar here.
    void instance;
  });
}

async function main(): Promise<void> {
  const raw = process.argv[2];
  if (!raw) throw new Error('usage: load.ts \'{"url": "...", "connections": 64, "duration": 10}\'');
  const request = JSON.parse(raw) as LoadRequest;
  const generator = request.generator ?? (wrkAvailable() ? 'wrk' : 'autocannon');
  const output = generator === 'wrk' ? await measureWithWrk(request) : await measureWithAutocannon(request);
  if (process.send) {
    await new Promise<void>((resolve, reject) => process.send!(output, (error: Error | null) => (error ? reject(error) : resolve())));
    process.disconnect?.();
  } else {
    console.log(JSON.stringify(output));
  }
}

async function measureWithAutocannon(request: LoadRequest): Promise<LoadResult> {
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 50);
  sampler.unref();

  const base: autocannon.Options = {
    url: request.url,
    connections: request.connections,
    pipelining: 1,
    headers: request.headers ?? {},
    timeout: 10,
  };
  if (request.warmup && request.warmup > 0) await run({ ...base, duration: request.warmup });
  process.send?.({ event: 'measure-start' });
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  const result = await run({ ...base, duration: request.duration });
  const cpu = process.cpuUsage(cpuStart);
  const loaderCpuPercent = ((cpu.user + cpu.system) / 1000 / (performance.now() - wallStart)) * 100;
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage.rss());

  return {
    generator: 'autocannon',
    rps: result.requests.average,
    p50_ms: result.latency.p50,
    p90_ms: result.latency.p90,
    p99_ms: result.latency.p99,
    max_ms: result.latency.max,
    mean_ms: result.latency.average,
    requests: result.requests.total,
    ok_2xx: result['2xx'],
    non_2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    bytes_per_second: result.throughput.average,
    duration_seconds: result.duration,
    loader_peak_rss_mb: peakRss / 1024 / 1024,
    loader_cpu_percent: loaderCpuPercent,
  };
}

// Run only as the child process (run.ts also imports this module, for wrkAvailable).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  });
}
