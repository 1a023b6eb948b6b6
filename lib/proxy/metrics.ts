import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { LoadBalancerRuntime } from './contracts';
import { TargetState } from './model';

const STATES: TargetState[] = ['initial', 'healthy', 'unhealthy', 'draining', 'unused', 'unavailable'];

/** The proxy's Prometheus metrics, read from the runtime at scrape time where they are state. */
export class ProxyMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'listener' | 'target_group' | 'code'>;
  private readonly latency: Histogram<'target_group'>;

  constructor(runtime: LoadBalancerRuntime) {
    this.requests = new Counter({
      name: 'albatross_requests_total',
      help: 'Requests answered, by listener port, target group ("-" for redirect/fixed/LB errors) and status code',
      labelNames: ['listener', 'target_group', 'code'],
      registers: [this.registry],
    });
    this.latency = new Histogram({
      name: 'albatross_request_duration_seconds',
      help: 'Time from request received to the end of its response (last byte written, or the failure), by target group',
      labelNames: ['target_group'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    new Gauge({
      name: 'albatross_target_health',
      help: '1 for the state each target is in',
      labelNames: ['target_group', 'target', 'state'],
      // Cluster mode: every worker checks health itself; 1 when any worker sees the state.
      aggregator: 'max',
      registers: [this.registry],
      collect() {
        this.reset();
        for (const group of runtime.report().targetGroups) {
          for (const target of group.targets) {
            for (const state of STATES) this.set({ target_group: group.name, target: target.id, state }, target.state === state ? 1 : 0);
          }
        }
      },
    });
    new Gauge({
      name: 'albatross_target_in_flight',
      help: 'Requests in flight to each target',
      labelNames: ['target_group', 'target'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const group of runtime.report().targetGroups) {
          for (const target of group.targets) this.set({ target_group: group.name, target: target.id }, target.inFlight);
        }
      },
    });
  }

  /** Label lookups hash on every call; the few label sets there are get cached. */
  private readonly counters = new Map<string, { inc(): void }>();
  private readonly histograms = new Map<string, { observe(value: number): void }>();

  /** Counts one answered request. */
  observe(listenerPort: number, targetGroup: string, code: number, seconds: number): void {
    const key = `${listenerPort} ${targetGroup} ${code}`;
    let counter = this.counters.get(key);
    if (counter === undefined) {
      counter = this.requests.labels({ listener: String(listenerPort), target_group: targetGroup, code: String(code) });
      this.counters.set(key, counter);
    }
    counter.inc();
    if (targetGroup === '-') return;
    let histogram = this.histograms.get(targetGroup);
    if (histogram === undefined) {
      histogram = this.latency.labels({ target_group: targetGroup });
      this.histograms.set(targetGroup, histogram);
    }
    histogram.observe(seconds);
  }
}
