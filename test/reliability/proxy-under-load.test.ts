/**
 * The proxy under steady, bounded load on loopback: deregistering a target loses nothing, and a
 * killed target costs only the requests in flight to it until health checks take it out.
 */
import { createServer, Server } from 'node:http';
import { AddressInfo, Socket } from 'node:net';
import pino from 'pino';
import { Agent, request } from 'undici';
import { TargetsReport } from '../../lib/proxy/model';
import { createLoadBalancerRuntime } from '../../lib/proxy/runtime';
import { RunningProxy, startProxyServer } from '../../lib/proxy/server';
import { loadModelFromTemplate } from '../../lib/proxy/template';
import { selfSignedCertificate } from '../../lib/proxy/tls';

/** One HTTP listener forwarding to one group: health every 300 ms (30 s × 0.01), thresholds 2, delay 1 s. */
const TEMPLATE = {
  Resources: {
    Lb: { Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer', Properties: { Type: 'application' } },
    Tg: {
      Type: 'AWS::ElasticLoadBalancingV2::TargetGroup',
      Properties: {
        Port: 80,
        Protocol: 'HTTP',
        HealthCheckPath: '/health',
        HealthCheckIntervalSeconds: 30,
        HealthCheckTimeoutSeconds: 5,
        HealthyThresholdCount: 2,
        UnhealthyThresholdCount: 2,
        Tags: [{ Key: 'albatross:target-group', Value: 'app' }],
        TargetGroupAttributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '100' }],
      },
    },
    Http: { Type: 'AWS::ElasticLoadBalancingV2::Listener', Properties: { LoadBalancerArn: { Ref: 'Lb' }, Port: 80, Protocol: 'HTTP', DefaultActions: [{ Type: 'forward', TargetGroupArn: { Ref: 'Tg' } }] } },
  },
};

interface TestBackend {
  server: Server;
  port: number;
  sockets: Set<Socket>;
  served: number;
}

async function startBackend(name: string, delayMs: number): Promise<TestBackend> {
  const backend: TestBackend = { server: createServer(), port: 0, sockets: new Set(), served: 0 };
  backend.server.on('request', (req, res) => {
    if (req.url === '/health') return void res.end('ok');
    backend.served++;
    setTimeout(() => res.end(name), delayMs);
  });
  backend.server.on('connection', (socket) => {
    backend.sockets.add(socket);
    socket.on('close', () => backend.sockets.delete(socket));
  });
  await new Promise<void>((resolve) => backend.server.listen(0, '127.0.0.1', resolve));
  backend.port = (backend.server.address() as AddressInfo).port;
  return backend;
}

/** Closed-loop load: `workers` clients, each sending the next request when the last answered. */
function load(url: string, workers: number) {
  const agent = new Agent({ connections: workers });
  const results: { status: number; body: string; at: number }[] = [];
  let running = true;
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      try {
        const response = await request(url, { dispatcher: agent });
        results.push({ status: response.statusCode, body: await response.body.text(), at: Date.now() });
      } catch {
        results.push({ status: 0, body: '', at: Date.now() });
      }
    }
  });
  return {
    results,
    async stop() {
      running = false;
      await Promise.all(loops);
      await agent.close();
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let proxy: RunningProxy;
let backends: TestBackend[];

async function report(): Promise<TargetsReport> {
  return (await (await fetch(`http://127.0.0.1:${proxy.adminPort}/targets`)).json()) as TargetsReport;
}

async function waitAllHealthy(): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if ((await report()).targetGroups[0].targets.every((t) => t.state === 'healthy')) return;
    await sleep(50);
  }
  throw new Error('targets never became healthy');
}

beforeEach(async () => {
  backends = await Promise.all(['b1', 'b2', 'b3'].map((n) => startBackend(n, 20)));
  const runtime = createLoadBalancerRuntime(loadModelFromTemplate(TEMPLATE), { app: backends.map((b) => ({ host: '127.0.0.1', port: b.port })) }, { timeScale: 0.01 });
  proxy = await startProxyServer({ runtime, ports: { 80: 0 }, adminPort: 0, tls: await selfSignedCertificate(), log: pino({ level: 'silent' }) });
  await waitAllHealthy();
});

afterEach(async () => {
  await proxy.close();
  for (const b of backends) {
    for (const s of b.sockets) s.destroy();
    b.server.close();
  }
});

test('deregistering one of three targets under steady load loses zero requests', async () => {
  const traffic = load(`http://127.0.0.1:${proxy.ports[80]}/work`, 16);
  await sleep(700);
  const deregisteredAt = Date.now();
  const answer = await fetch(`http://127.0.0.1:${proxy.adminPort}/targets/deregister`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ targetGroup: 'app', target: `127.0.0.1:${backends[0].port}` }) });
  expect(answer.status).toBe(202);
  await sleep(1500);
  await traffic.stop();
  const failures = traffic.results.filter((r) => r.status !== 200);
  expect(traffic.results.length).toBeGreaterThan(300);
  expect(failures).toEqual([]);
  // After the in-flight ones (20 ms each) are done, b1 gets nothing new.
  const lateToB1 = traffic.results.filter((r) => r.at > deregisteredAt + 200 && r.body === 'b1');
  expect(lateToB1).toEqual([]);
  expect(traffic.results.filter((r) => r.at > deregisteredAt + 200).length).toBeGreaterThan(100);
}, 20_000);

test('killing a target mid-load fails only what was in flight to it (502), none once it is unhealthy', async () => {
  const traffic = load(`http://127.0.0.1:${proxy.ports[80]}/work`, 16);
  await sleep(700);
  const victim = backends[1];
  const killedAt = Date.now();
  victim.server.close();
  for (const socket of victim.sockets) socket.destroy();
  // Unhealthy after 2 failed checks 300 ms apart.
  const deadline = Date.now() + 5000;
  let unhealthyAt = 0;
  while (!unhealthyAt && Date.now() < deadline) {
    const state = (await report()).targetGroups[0].targets.find((t) => t.id === `127.0.0.1:${victim.port}`)?.state;
    if (state === 'unhealthy') unhealthyAt = Date.now();
    else await sleep(20);
  }
  expect(unhealthyAt).toBeGreaterThan(0);
  await sleep(1000);
  await traffic.stop();
  const failures = traffic.results.filter((r) => r.status !== 200);
  expect(failures.length).toBeGreaterThan(0);
  expect(failures.every((f) => f.status === 502)).toBe(true);
  // Failures stop once it is marked unhealthy (50 ms for requests already dispatched).
  expect(failures.filter((f) => f.at > unhealthyAt + 50)).toEqual([]);
  expect(traffic.results.filter((r) => r.at > unhealthyAt + 50 && r.status === 200).length).toBeGreaterThan(100);
  expect(Math.min(...failures.map((f) => f.at))).toBeGreaterThanOrEqual(killedAt);
}, 20_000);
