/**
 * Load generator for the benchmark, run as a child process (bench/run.ts forks it) so that autocannon's own CPU
 * and memory do not count against the server: the server process is measured alone, and the load generator gets
 * its own event loop (and core) instead of sharing the server's.
 *
 * Input: one JSON argument `{ url, connections, duration, headers?, warmup? }`.
 * Output: one message over IPC (or one JSON line on stdout without IPC) with the figures.
 */
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';

export interface LoadRequest {
  url: string;
  connections: number;
  /** Seconds. */
  duration: number;
  headers?: Record<string, string>;
  /** Seconds of unmeasured load before the measured run (JIT, caches). */
  warmup?: number;
}

export interface LoadResult {
  /** Mean requests per second over the measured run. */
  rps: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  mean_ms: number;
  requests: number;
  ok_2xx: number;
  non_2xx: number;
  errors: number;
  timeouts: number;
  /** Mean response throughput, bytes per second. */
  bytes_per_second: number;
  duration_seconds: number;
  /** Peak RSS of this load-generator process (not the server). */
  loader_peak_rss_mb: number;
  /** CPU used by this load-generator process during the measured run, in % of one core. */
  loader_cpu_percent: number;
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

  const output: LoadResult = {
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
  if (process.send) {
    await new Promise<void>((resolve, reject) => process.send!(output, (error: Error | null) => (error ? reject(error) : resolve())));
    process.disconnect?.();
  } else {
    console.log(JSON.stringify(output));
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
