/**
 * Time to detect that a drain is complete, on a simulated target group served by the local proxy
 * (its ELBv2 API reports `draining` for the whole deregistration delay, like the ALB, while it
 * really finishes when the last request ends). Each target has one request in flight that ends
 * after IN_FLIGHT_MS; the deregistration delay is DELAY_S. Compared in one run, in parallel:
 *   - fixed `sleep 60` (what scripts do today: computed, not slept),
 *   - the SDK waiter `waitUntilTargetDeregistered` (real, default 15 s minimum delay),
 *   - the drain engine polling the API alone (no instance-side signal),
 *   - the drain engine with the proxy's in-flight signal.
 * Run: `npm run bench:drain` (about 40 s).
 */
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { DeregisterTargetsCommand, ElasticLoadBalancingV2Client, waitUntilTargetDeregistered } from '@aws-sdk/client-elastic-load-balancing-v2';
import pino from 'pino';
import { Agent, request } from 'undici';
import { TARGET_GROUP_NAME_TAG } from '../lib/alb/tags';
import { TARGET_GROUP_ATTRIBUTES } from '../lib/alb/target-group-attributes';
import { drainTarget } from '../lib/drain/engine';
import { proxyAdminInFlight } from '../lib/drain/signals';
import { parseDrainTarget } from '../lib/drain/target-id';
import { targetGroupArn } from '../lib/proxy/elbv2-api';
import { createLoadBalancerRuntime } from '../lib/proxy/runtime';
import { startProxyServer } from '../lib/proxy/server';
import { loadModelFromTemplate } from '../lib/proxy/template';
import { selfSignedCertificate } from '../lib/proxy/tls';

const IN_FLIGHT_MS = 2000;
const DELAY_S = 20;
const FIXED_SLEEP_S = 60;

function template(): unknown {
  return {
    Resources: {
      Lb: { Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer', Properties: { Type: 'application' } },
      Tg: {
        Type: 'AWS::ElasticLoadBalancingV2::TargetGroup',
        Properties: {
          Port: 80,
          Protocol: 'HTTP',
          HealthCheckPath: '/health',
          Tags: [{ Key: TARGET_GROUP_NAME_TAG, Value: 'app' }],
          TargetGroupAttributes: [{ Key: TARGET_GROUP_ATTRIBUTES.deregistrationDelaySeconds, Value: String(DELAY_S) }],
        },
      },
      Http: { Type: 'AWS::ElasticLoadBalancingV2::Listener', Properties: { LoadBalancerArn: { Ref: 'Lb' }, Port: 80, Protocol: 'HTTP', DefaultActions: [{ Type: 'forward', TargetGroupArn: { Ref: 'Tg' } }] } },
    },
  };
}

async function slowBackend(): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/health') return void res.end('ok');
    setTimeout(() => res.end('done'), IN_FLIGHT_MS);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function main(): Promise<void> {
  const backends = await Promise.all([1, 2, 3].map(slowBackend));
  const ports = backends.map((b) => (b.address() as AddressInfo).port);
  const model = loadModelFromTemplate(template());
  const runtime = createLoadBalancerRuntime(model, { app: ports.map((port) => ({ host: '127.0.0.1', port })) });
  const proxy = await startProxyServer({ runtime, ports: { 80: 0 }, adminPort: 0, tls: await selfSignedCertificate(), log: pino({ level: 'silent' }) });
  const endpoint = `http://127.0.0.1:${proxy.adminPort}`;
  const elbv2 = new ElasticLoadBalancingV2Client({ endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const arn = targetGroupArn(model.targetGroups.Tg);

  // One slow request in flight on every target (round robin over three).
  const agent = new Agent();
  const requests = ports.map(() => request(`http://127.0.0.1:${proxy.ports[80]}/work`, { dispatcher: agent }).then((r) => r.body.text()));
  await new Promise((r) => setTimeout(r, 200));
  const t0 = Date.now();
  const since = () => (Date.now() - t0) / 1000;

  const waiter = (async () => {
    await elbv2.send(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: '127.0.0.1', Port: ports[0] }] }));
    await waitUntilTargetDeregistered({ client: elbv2, maxWaitTime: 120 }, { TargetGroupArn: arn, Targets: [{ Id: '127.0.0.1', Port: ports[0] }] });
    return since();
  })();
  const apiOnly = drainTarget({ elbv2 }, parseDrainTarget(`127.0.0.1:${ports[1]}`), { pollMs: 1000 }).then((r) => ({ s: since(), by: r.registrations[0].endedBy }));
  const withSignal = drainTarget({ elbv2 }, parseDrainTarget(`127.0.0.1:${ports[2]}`), { pollMs: 1000, inFlight: proxyAdminInFlight(endpoint) }).then((r) => ({ s: since(), by: r.registrations[0].endedBy }));
  const [waiterS, api, signal] = await Promise.all([waiter, apiOnly, withSignal]);
  await Promise.all(requests);

  const truth = IN_FLIGHT_MS / 1000;
  console.log(`\nLast request ends ${truth.toFixed(1)} s after deregistration; deregistration delay ${DELAY_S} s.\n`);
  console.log('| method | detected after (s) | ended by | vs engine + signal |');
  console.log('| --- | ---: | --- | ---: |');
  const row = (name: string, s: number, by: string) => console.log(`| ${name} | ${s.toFixed(1)} | ${by} | ${(s / signal.s).toFixed(1)}x |`);
  row('fixed `sleep 60`', FIXED_SLEEP_S, 'time');
  row('SDK waitUntilTargetDeregistered (15 s min delay)', waiterS, 'state unused');
  row('drain engine, API polling only (1 s ± 1/3)', api.s, api.by ?? '-');
  row('drain engine + proxy in-flight signal (1 s ± 1/3)', signal.s, signal.by ?? '-');
  await agent.close();
  await proxy.close();
  for (const b of backends) b.close();
}

main().catch((error: Error) => {
  console.error(`bench failed: ${error.message}`);
  process.exit(1);
});
