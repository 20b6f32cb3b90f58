/**
 * Prometheus metrics, hand-written (text exposition format 0.0.4): requests by method/route/status, a
 * latency histogram per route, images and faces processed, errors by code, connection-level client errors,
 * queue gauges and process memory. Label values come from bounded sets (route patterns, not raw URLs).
 */
import type { LimiterStats } from './limiter.js';

/** Upper bounds of the latency buckets, in seconds. */
export const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (l: Record<string, string>): string => `{${Object.entries(l).map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}`;

export class Metrics {
  readonly #requests = new Map<string, number>();
  readonly #latency = new Map<string, Histogram>();
  readonly #errors = new Map<string, number>();
  readonly #clientErrors = new Map<string, number>();
  #images = 0;
  #faces = 0;
  readonly #started = Date.now();

  constructor(private readonly queue: () => LimiterStats & { receiving: number }) {}

  request(method: string, route: string, status: number, seconds: number): void {
    const key = labels({ method, route, status: String(status) });
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
    let h = this.#latency.get(route);
    if (!h) this.#latency.set(route, (h = { counts: LATENCY_BUCKETS_S.map(() => 0), sum: 0, count: 0 }));
    LATENCY_BUCKETS_S.forEach((b, i) => {
      if (seconds <= b) h.counts[i] = (h.counts[i] ?? 0) + 1;
    });
    h.sum += seconds;
    h.count++;
  }

  image(faces: number): void {
    this.#images++;
    this.#faces += faces;
  }

  error(code: string): void {
    this.#errors.set(code, (this.#errors.get(code) ?? 0) + 1);
  }

  /** Errors Node answers before a request exists (header overflow, slow headers/body, parse errors). */
  clientError(code: string): void {
    this.#clientErrors.set(code, (this.#clientErrors.get(code) ?? 0) + 1);
  }

  render(): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    };
    family('expnet_http_requests_total', 'counter', 'HTTP requests answered, by method, route pattern and status.');
    for (const [l, n] of this.#requests) out.push(`expnet_http_requests_total${l} ${n}`);
    family('expnet_http_request_duration_seconds', 'histogram', 'Time from request start to response end, by route pattern.');
    for (const [route, h] of this.#latency) {
      LATENCY_BUCKETS_S.forEach((b, i) => out.push(`expnet_http_request_duration_seconds_bucket${labels({ route, le: String(b) })} ${h.counts[i] ?? 0}`));
      out.push(`expnet_http_request_duration_seconds_bucket${labels({ route, le: '+Inf' })} ${h.count}`);
      out.push(`expnet_http_request_duration_seconds_sum${labels({ route })} ${h.sum}`);
      out.push(`expnet_http_request_duration_seconds_count${labels({ route })} ${h.count}`);
    }
    family('expnet_images_processed_total', 'counter', 'Images run through the recognizer.');
    out.push(`expnet_images_processed_total ${this.#images}`);
    family('expnet_faces_detected_total', 'counter', 'Faces found in processed images.');
    out.push(`expnet_faces_detected_total ${this.#faces}`);
    family('expnet_errors_total', 'counter', 'Error responses by error code.');
    for (const [code, n] of this.#errors) out.push(`expnet_errors_total${labels({ code })} ${n}`);
    family('expnet_client_errors_total', 'counter', 'Connections refused by the HTTP parser, by Node error code.');
    for (const [code, n] of this.#clientErrors) out.push(`expnet_client_errors_total${labels({ code })} ${n}`);
    const q = this.queue();
    family('expnet_uploads_receiving', 'gauge', 'Requests still receiving their body (not yet admitted).');
    out.push(`expnet_uploads_receiving ${q.receiving}`);
    family('expnet_queue_admitted', 'gauge', 'Requests admitted (body read: waiting, running or answering).');
    out.push(`expnet_queue_admitted ${q.admitted}`);
    family('expnet_queue_waiting', 'gauge', 'Requests waiting for a recognizer slot.');
    out.push(`expnet_queue_waiting ${q.waiting}`);
    family('expnet_queue_running', 'gauge', 'Recognizer calls running.');
    out.push(`expnet_queue_running ${q.running}`);
    family('expnet_queue_capacity', 'gauge', 'Most requests admitted at once (concurrency + queue).');
    out.push(`expnet_queue_capacity ${q.capacity}`);
    const mem = process.memoryUsage();
    family('process_resident_memory_bytes', 'gauge', 'Resident set size.');
    out.push(`process_resident_memory_bytes ${mem.rss}`);
    family('nodejs_heap_used_bytes', 'gauge', 'V8 heap in use.');
    out.push(`nodejs_heap_used_bytes ${mem.heapUsed}`);
    family('process_uptime_seconds', 'gauge', 'Seconds since the app was created.');
    out.push(`process_uptime_seconds ${(Date.now() - this.#started) / 1000}`);
    return out.join('\n') + '\n';
  }
}
