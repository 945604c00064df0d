/**
 * Prometheus metrics (`prom-client`, a registry of our own rather than the library's global one): requests by
 * route pattern and status, request latency, publish/import/merge durations (operations.ts), git processes
 * started, the listener backlog of branch moves, the database's connections, and Node's process metrics.
 *
 * Labels never carry a user, organization, project or document: a route is its pattern (`/:org/:project/*`),
 * never the path asked for, and a request no route matched is `unmatched`.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DatabaseLoad } from '../db/connection.ts';
import { operationChannel, type OperationTiming } from './operations.ts';

/** What the metrics read when scraped. */
export interface MetricsSources {
  /** Deliveries of branch moves not yet done, per listener (a database query). */
  listenerBacklog(): Promise<{ listener: string; pending: number; failing: number }[]>;
  databaseLoad(): DatabaseLoad | null;
  /** git processes started so far, through the spawner process and directly. */
  gitProcesses(): { viaSpawner: number; direct: number };
  /** The webhook outbox across organizations (a database query): waiting, retrying after a failure, given up. */
  webhookBacklog?(): Promise<{ pending: number; retrying: number; failed: number }>;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const LATENCY_BUCKETS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const OPERATION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly latency: Histogram<'method' | 'route'>;
  private readonly operations: Histogram<'operation' | 'outcome'>;
  private readonly onOperation = (message: unknown) => {
    const { operation, seconds, outcome } = message as OperationTiming;
    this.operations.observe({ operation, outcome }, seconds);
  };

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'docucommit_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.latency = new Histogram({
      name: 'docucommit_http_request_duration_seconds',
      help: 'Time from a request arriving to its response being written, by method and route pattern.',
      labelNames: ['method', 'route'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.operations = new Histogram({
      name: 'docucommit_operation_duration_seconds',
      help: 'Duration of publishes, imports and merges.',
      labelNames: ['operation', 'outcome'],
      buckets: OPERATION_BUCKETS,
      registers,
    });
    new Counter({
      name: 'docucommit_git_processes_total',
      help: 'git processes started, through the spawner process or directly (streams: clone, push).',
      labelNames: ['via'],
      registers,
      collect() {
        const started = sources.gitProcesses();
        this.reset();
        this.inc({ via: 'spawner' }, started.viaSpawner);
        this.inc({ via: 'direct' }, started.direct);
      },
    });
    const backlogFailing = new Gauge({
      name: 'docucommit_listener_deliveries_failing',
      help: 'Deliveries of branch moves that failed at least once and wait for a retry, by listener.',
      labelNames: ['listener'],
      registers,
    });
    new Gauge({
      name: 'docucommit_listener_deliveries_pending',
      help: 'Deliveries of branch moves to listeners (search index, acknowledgments, change requests...) not yet done.',
      labelNames: ['listener'],
      registers,
      async collect() {
        const backlog = await sources.listenerBacklog();
        this.reset();
        backlogFailing.reset();
        for (const { listener, pending, failing } of backlog) {
          this.set({ listener }, pending);
          backlogFailing.set({ listener }, failing);
        }
      },
    });
    if (sources.webhookBacklog) {
      const webhookBacklog = sources.webhookBacklog.bind(sources);
      new Gauge({
        name: 'docucommit_webhook_deliveries',
        help: 'Webhook deliveries in the outbox by state: pending (queue depth, retries included), retrying (failed at least once, waiting), failed (given up after 24 hours).',
        labelNames: ['state'],
        registers,
        async collect() {
          const backlog = await webhookBacklog();
          this.reset();
          this.set({ state: 'pending' }, backlog.pending);
          this.set({ state: 'retrying' }, backlog.retrying);
          this.set({ state: 'failed' }, backlog.failed);
        },
      });
    }
    new Gauge({
      name: 'docucommit_database_connections',
      help: 'PostgreSQL pool connections by state (in use, idle), and requests waiting for one.',
      labelNames: ['state'],
      registers,
      collect() {
        const load = sources.databaseLoad();
        this.reset();
        if (load?.kind !== 'postgres') return;
        this.set({ state: 'in-use' }, load.connections - load.idle);
        this.set({ state: 'idle' }, load.idle);
        this.set({ state: 'waiting' }, load.waiting);
      },
    });
    new Gauge({
      name: 'docucommit_database_embedded_in_flight',
      help: 'Statements sent to the embedded database (PGlite) thread and not yet answered.',
      registers,
      collect() {
        const load = sources.databaseLoad();
        this.reset();
        if (load?.kind === 'pglite') this.set(load.inFlight);
      },
    });
    subscribe(operationChannel.name, this.onOperation);
  }

  /** Count one answered request. `route` is the matched route's pattern, or undefined when none matched. */
  observeRequest(method: string, route: string | undefined, status: number, seconds: number): void {
    const labels = { method: METHODS.has(method) ? method : 'other', route: route ?? 'unmatched' };
    this.requests.inc({ ...labels, status: String(status) });
    this.latency.observe(labels, seconds);
  }

  /** The exposition text and its content type. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** Stop listening to operation timings (the registry can still be read). */
  close(): void {
    unsubscribe(operationChannel.name, this.onOperation);
  }
}
