/**
 * Prometheus metrics through prom-client, one registry per app (text exposition format 0.0.4): requests by
 * method/route/status, a latency histogram per route, images and faces processed, errors by code,
 * connection-level client errors, queue gauges and process memory. Label values come from bounded sets
 * (route patterns, not raw URLs).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LimiterStats } from './limiter.js';

/** Upper bounds of the latency buckets, in seconds. */
export const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;

type QueueStats = LimiterStats & { receiving: number };

export class Metrics {
  readonly #registry = new Registry();
  readonly #requests: Counter<'method' | 'route' | 'status'>;
  readonly #latency: Histogram<'route'>;
  readonly #images: Counter;
  readonly #faces: Counter;
  readonly #errors: Counter<'code'>;
  readonly #clientErrors: Counter<'code'>;
  readonly #started = Date.now();

  constructor(queue: () => QueueStats) {
    const registers = [this.#registry];
    this.#requests = new Counter({ name: 'expnet_http_requests_total', help: 'HTTP requests answered, by method, route pattern and status.', labelNames: ['method', 'route', 'status'], registers });
    this.#latency = new Histogram({ name: 'expnet_http_request_duration_seconds', help: 'Time from request start to response end, by route pattern.', labelNames: ['route'], buckets: [...LATENCY_BUCKETS_S], registers });
    this.#images = new Counter({ name: 'expnet_images_processed_total', help: 'Images run through the recognizer.', registers });
    this.#faces = new Counter({ name: 'expnet_faces_detected_total', help: 'Faces found in processed images.', registers });
    this.#errors = new Counter({ name: 'expnet_errors_total', help: 'Error responses by error code.', labelNames: ['code'], registers });
    this.#clientErrors = new Counter({ name: 'expnet_client_errors_total', help: 'Connections refused by the HTTP parser, by Node error code.', labelNames: ['code'], registers });
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({ name, help, registers, collect(this: Gauge) { this.set(read()); } });
    };
    gauge('expnet_uploads_receiving', 'Requests still receiving their body (not yet admitted).', () => queue().receiving);
    gauge('expnet_queue_admitted', 'Requests admitted (body read: waiting, running or answering).', () => queue().admitted);
    gauge('expnet_queue_waiting', 'Requests waiting for a recognizer slot.', () => queue().waiting);
    gauge('expnet_queue_running', 'Recognizer calls running.', () => queue().running);
    gauge('expnet_queue_capacity', 'Most requests admitted at once (concurrency + queue).', () => queue().capacity);
    gauge('process_resident_memory_bytes', 'Resident set size.', () => process.memoryUsage.rss());
    gauge('nodejs_heap_used_bytes', 'V8 heap in use.', () => process.memoryUsage().heapUsed);
    gauge('process_uptime_seconds', 'Seconds since the app was created.', () => (Date.now() - this.#started) / 1000);
  }

  /** The Content-Type of render()'s text. */
  get contentType(): string {
    return this.#registry.contentType;
  }

  request(method: string, route: string, status: number, seconds: number): void {
    this.#requests.inc({ method, route, status: String(status) });
    this.#latency.observe({ route }, seconds);
  }

  image(faces: number): void {
    this.#images.inc();
    this.#faces.inc(faces);
  }

  error(code: string): void {
    this.#errors.inc({ code });
  }

  /** Errors Node answers before a request exists (header overflow, slow headers/body, parse errors). */
  clientError(code: string): void {
    this.#clientErrors.inc({ code });
  }

  render(): Promise<string> {
    return this.#registry.metrics();
  }
}
