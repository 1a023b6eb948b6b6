/**
 * Hot-path micro-benchmark of the proxy data plane: `evaluateListener` and `acquire`+`release`
 * per request, against naive peers in the same run (patterns compiled per request; candidate list
 * filtered per pick). Run: `npx tsx bench/dataplane-hot-path.ts`.
 */
import { RequestFacts } from '../lib/proxy/contracts';
import { ActionModel, ListenerModel, TargetGroupModel } from '../lib/proxy/model';
import { inAnyCidr, parseCidr } from '../lib/proxy/cidr';
import { compileWildcard } from '../lib/proxy/wildcard';
import { evaluateListener } from '../lib/proxy/rules';
import { TargetGroup } from '../lib/proxy/target-group';

const ITERATIONS = 2_000_000;

function timeNs(label: string, fn: (i: number) => unknown): number {
  for (let i = 0; i < 50_000; i++) fn(i); // warm-up
  const start = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < ITERATIONS; i++) if (fn(i)) sink++;
  const ns = Number(process.hrtime.bigint() - start) / ITERATIONS;
  console.log(`${label.padEnd(52)} ${ns.toFixed(1).padStart(8)} ns/op${sink < 0 ? '!' : ''}`);
  return ns;
}

const fixed = (statusCode: number): ActionModel => ({ type: 'fixed-response', statusCode });
const listener: ListenerModel = {
  logicalId: 'Https',
  port: 443,
  protocol: 'HTTPS',
  defaultAction: fixed(200),
  responseHeaders: {},
  removeServerHeader: true,
  rules: [
    { logicalId: 'R1', priority: 10, conditions: [{ field: 'path-pattern', values: ['/api/*'] }], action: fixed(201) },
    { logicalId: 'R2', priority: 20, conditions: [{ field: 'path-pattern', values: ['/static/*', '*.css'] }], action: fixed(202) },
    { logicalId: 'R3', priority: 30, conditions: [{ field: 'host-header', values: ['admin.*'] }, { field: 'http-request-method', values: ['POST'] }], action: fixed(203) },
    { logicalId: 'R4', priority: 40, conditions: [{ field: 'path-pattern', values: ['/maintenance'] }], action: fixed(503) },
    { logicalId: 'R5', priority: 50, conditions: [{ field: 'source-ip', values: ['10.0.0.0/8', '2001:db8::/32'] }], action: fixed(403) },
  ],
};
const requests: RequestFacts[] = ['/api/v1/users/7', '/static/app.js', '/index.html', '/maintenance', '/x/y/z.css'].map((path) => ({
  method: 'GET',
  path,
  query: '',
  headers: { host: 'example.com' },
  sourceIp: '::ffff:127.0.0.1',
}));

/** Peer: what an uncompiled implementation does — build the patterns for every request. */
function naiveEvaluate(l: ListenerModel, r: RequestFacts): ActionModel {
  for (const rule of [...l.rules].sort((a, b) => a.priority - b.priority)) {
    const ok = rule.conditions.every((c) => {
      if (c.field === 'path-pattern') return c.values.some((v) => compileWildcard(v, false).test(r.path));
      if (c.field === 'host-header') return c.values.some((v) => compileWildcard(v, true).test(String(r.headers.host)));
      if (c.field === 'http-request-method') return c.values.includes(r.method);
      if (c.field === 'source-ip') return inAnyCidr(r.sourceIp, c.values.map(parseCidr));
      return false;
    });
    if (ok) return rule.action;
  }
  return l.defaultAction;
}

function group(over: Partial<TargetGroupModel>): TargetGroup {
  const g = new TargetGroup({
    logicalId: 'Tg',
    name: 'app',
    protocol: 'HTTP',
    port: 80,
    healthCheck: { enabled: false, path: '/', intervalSeconds: 30, timeoutSeconds: 5, healthyThreshold: 2, unhealthyThreshold: 2, matcher: '200' },
    deregistrationDelaySeconds: 30,
    slowStartSeconds: 0,
    algorithm: 'round_robin',
    anomalyMitigation: false,
    stickiness: { enabled: false, type: 'lb_cookie', durationSeconds: 86400 },
    ...over,
  });
  for (let port = 9001; port <= 9003; port++) g.register({ host: '127.0.0.1', port });
  return g;
}

function acquireRelease(g: TargetGroup, cookies: Record<string, string>): boolean {
  const lease = g.acquire(cookies);
  if (!('release' in lease)) return false;
  lease.release({ failed: false });
  return true;
}

/** Peer: filter the healthy targets on every pick, as a straightforward implementation would. */
const naiveTargets = [9001, 9002, 9003].map((port) => ({ id: `127.0.0.1:${port}`, state: 'healthy', inFlight: 0 }));
let naiveNext = 0;
function naiveAcquireRelease(): boolean {
  const healthy = naiveTargets.filter((t) => t.state === 'healthy');
  const t = healthy[naiveNext++ % healthy.length];
  t.inFlight++;
  t.inFlight--;
  return true;
}

console.log(`node ${process.version}, ${ITERATIONS.toLocaleString()} iterations each\n`);
const compiled = timeNs('evaluateListener (compiled, 5 rules incl. source-ip)', (i) => evaluateListener(listener, requests[i % requests.length]));
const naive = timeNs('peer: patterns compiled per request', (i) => naiveEvaluate(listener, requests[i % requests.length]));
console.log(`  ratio: compiled is ${(naive / compiled).toFixed(1)}x faster\n`);

const rr = group({});
const lor = group({ algorithm: 'least_outstanding_requests' });
const wr = group({ algorithm: 'weighted_random', anomalyMitigation: true });
const sticky = group({ stickiness: { enabled: true, type: 'lb_cookie', durationSeconds: 86400 } });
const stickyLease = sticky.acquire({});
const cookie = 'release' in stickyLease ? /AWSALB=([^;]+)/.exec(stickyLease.setCookie ?? '')![1] : '';
const none = {};
const rrNs = timeNs('acquire+release round_robin', () => acquireRelease(rr, none));
timeNs('acquire+release least_outstanding_requests', () => acquireRelease(lor, none));
timeNs('acquire+release weighted_random + anomaly mitigation', () => acquireRelease(wr, none));
timeNs('acquire+release lb_cookie, cookie present', () => acquireRelease(sticky, { AWSALB: cookie }));
const peer = timeNs('peer: filter healthy targets per pick', () => naiveAcquireRelease());
console.log(`  ratio: round_robin is ${(peer / rrNs).toFixed(1)}x the peer's speed`);
