import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The collector's Prometheus metrics, on a registry of its own (not prom-client's global one) so that two
 * collectors in one process, as in tests, do not clash.
 */
export class CollectorMetrics {
  readonly registry = new Registry();
  readonly accepted = new Counter({
    name: 'tracklane_events_accepted_total',
    help: 'Events appended to the events topic',
    labelNames: ['protocol'],
    registers: [this.registry],
  });
  readonly rejected = new Counter({
    name: 'tracklane_events_rejected_total',
    help: 'Events rejected, by reason (each one is also a dead letter)',
    labelNames: ['protocol', 'reason'],
    registers: [this.registry],
  });
  readonly duplicates = new Counter({
    name: 'tracklane_events_duplicate_total',
    help: 'Events acknowledged but not appended because their messageId was already seen',
    labelNames: ['protocol'],
    registers: [this.registry],
  });
  readonly deadLetters = new Counter({
    name: 'tracklane_dead_letters_total',
    help: 'Records appended to the dead-letter topic',
    registers: [this.registry],
  });
  readonly refused = new Counter({
    name: 'tracklane_requests_refused_total',
    help: 'Requests refused before ingestion, by reason (rate_limit_key, rate_limit_ip, overloaded)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly requestDuration = new Histogram({
    name: 'tracklane_http_request_duration_seconds',
    help: 'Collector request latency',
    labelNames: ['route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly appendDuration = new Histogram({
    name: 'tracklane_log_append_duration_seconds',
    help: 'Time for the log to make one request’s events durable',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({
    name: 'tracklane_events_in_flight',
    help: 'Events being appended to the log right now',
    registers: [this.registry],
  });

  // Label children looked up once: prom-client hashes a label object on every call, which is measurable
  // per request on the hot path.
  readonly #accepted = new Map<string, Counter.Internal>();
  readonly #durations = new Map<string, Map<number, Histogram.Internal<'route' | 'status'>>>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  acceptedFor(protocol: string): Counter.Internal {
    let child = this.#accepted.get(protocol);
    if (child === undefined) {
      child = this.accepted.labels(protocol);
      this.#accepted.set(protocol, child);
    }
    return child;
  }

  observeRequest(route: string, status: number, seconds: number): void {
    let byStatus = this.#durations.get(route);
    if (byStatus === undefined) {
      byStatus = new Map();
      this.#durations.set(route, byStatus);
    }
    let child = byStatus.get(status);
    if (child === undefined) {
      child = this.requestDuration.labels(route, String(status));
      byStatus.set(status, child);
    }
    child.observe(seconds);
  }
}
