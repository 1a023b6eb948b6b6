import { Counter, Gauge, Metric, Registry } from 'prom-client';
import { LoadBalancerRuntime } from './contracts';
import { TargetState } from './model';

const STATES: TargetState[] = ['initial', 'healthy', 'unhealthy', 'draining', 'unused', 'unavailable'];

/** Latency histogram bounds, in seconds. */
export const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

interface LatencySeries {
  /** Non-cumulative: counts[i] for bound i, counts[LATENCY_BUCKETS.length] above the last. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

interface MetricValue {
  readonly labels: Record<string, string | number>;
  readonly value: number;
  readonly metricName: string;
}

/**
 * `albatross_request_duration_seconds`, counted with plain arithmetic on the hot path and turned
 * into prom-client's metric shape only at scrape time. prom-client's Histogram hashes its labels
 * and allocates on every observe(), which cost the proxy about a tenth of its throughput.
 */
class LatencyHistogram {
  readonly name = 'albatross_request_duration_seconds';
  readonly help = 'Time from request received to the end of its response (last byte written, or the failure), by target group';
  readonly type = 'histogram';
  /** Cluster mode adds the workers' series up. */
  readonly aggregator = 'sum';
  private readonly series = new Map<string, LatencySeries>();

  observe(targetGroup: string, seconds: number): void {
    let s = this.series.get(targetGroup);
    if (s === undefined) {
      s = { counts: new Float64Array(LATENCY_BUCKETS.length + 1), sum: 0, count: 0 };
      this.series.set(targetGroup, s);
    }
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]) i++;
    s.counts[i]++;
    s.sum += seconds;
    s.count++;
  }

  /** What prom-client's registry reads from a metric: cumulative buckets, sum and count per group. */
  get(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] } {
    const values: MetricValue[] = [];
    for (const [group, s] of this.series) {
      let cumulative = 0;
      LATENCY_BUCKETS.forEach((le, i) => {
        cumulative += s.counts[i];
        values.push({ labels: { le, target_group: group }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', target_group: group }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { target_group: group }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { target_group: group }, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/** One label set of the requests counter. */
interface RequestCount {
  readonly labels: { listener: string; target_group: string; code: string };
  value: number;
}

/** The proxy's Prometheus metrics, read from the runtime at scrape time where they are state. */
export class ProxyMetrics {
  readonly registry = new Registry();
  private readonly latency = new LatencyHistogram();
  /** listener → target group → code → count: three lookups, no key string built per request. */
  private readonly counts = new Map<number, Map<string, Map<number, RequestCount>>>();
  /** rule → action → count, read from the web ACL's engine at scrape time when the proxy enforces one. */
  private wafCounts?: () => ReadonlyMap<string, ReadonlyMap<string, number>>;

  constructor(runtime: LoadBalancerRuntime) {
    const counts = this.counts;
    new Counter({
      name: 'albatross_requests_total',
      help: 'Requests answered, by listener port, target group ("-" for redirect/fixed/LB errors) and status code (460: the client closed first)',
      labelNames: ['listener', 'target_group', 'code'],
      registers: [this.registry],
      // Counted in plain numbers per request (prom-client's inc() hashes labels); copied in at scrape.
      collect() {
        this.reset();
        for (const byGroup of counts.values()) for (const byCode of byGroup.values()) for (const c of byCode.values()) this.inc(c.labels, c.value);
      },
    });
    const wafCounts = () => this.wafCounts?.() ?? [];
    new Counter({
      name: 'albatross_waf_requests_total',
      help: 'Web ACL decisions by rule (managed rules as <group>/<rule>; Default_Action for the default action) and action (block, count, allow)',
      labelNames: ['rule', 'action'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [rule, byAction] of wafCounts()) for (const [action, value] of byAction) this.inc({ rule, action }, value);
      },
    });
    // A plain object with prom-client's metric shape: the registry only calls get() on it.
    this.registry.registerMetric(this.latency as unknown as Metric);
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

  /** Reports the web ACL's match counts (read at scrape time). */
  countWaf(counts: () => ReadonlyMap<string, ReadonlyMap<string, number>>): void {
    this.wafCounts = counts;
  }

  /** Counts one answered request. */
  observe(listenerPort: number, targetGroup: string, code: number, seconds: number): void {
    let byGroup = this.counts.get(listenerPort);
    if (byGroup === undefined) this.counts.set(listenerPort, (byGroup = new Map()));
    let byCode = byGroup.get(targetGroup);
    if (byCode === undefined) byGroup.set(targetGroup, (byCode = new Map()));
    const count = byCode.get(code);
    if (count === undefined) byCode.set(code, { labels: { listener: String(listenerPort), target_group: targetGroup, code: String(code) }, value: 1 });
    else count.value++;
    if (targetGroup !== '-') this.latency.observe(targetGroup, seconds);
  }
}
