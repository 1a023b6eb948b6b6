/**
 * The drain CLI as a child process, against the local proxy as its ELBv2 endpoint: real sockets,
 * real draining, the proxy's in-flight counts as the early-finish signal. No AWS mock here.
 */
import { spawn } from 'node:child_process';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import pino from 'pino';
import { addAlbatrossStack } from '../../lib/app';
import { buildConfig } from '../../lib/config';
import { TargetsReport } from '../../lib/proxy/model';
import { createLoadBalancerRuntime } from '../../lib/proxy/runtime';
import { RunningProxy, startProxyServer } from '../../lib/proxy/server';
import { loadModelFromTemplate } from '../../lib/proxy/template';
import { selfSignedCertificate } from '../../lib/proxy/tls';
import { TEST_CERTIFICATE_ARN, testApp } from '../support/stack';

const ROOT = join(__dirname, '..', '..');
let proxy: RunningProxy;
let backends: Server[];
let ports: number[];
let endpoint: string;

function runDrain(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bin', 'drain.ts'), ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

async function slowBackend(delayMs: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/health') return void res.end('ok');
    setTimeout(() => res.end('done'), delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function targets(): Promise<TargetsReport> {
  return (await (await fetch(`${endpoint}/targets`)).json()) as TargetsReport;
}

beforeAll(async () => {
  backends = await Promise.all([slowBackend(1500), slowBackend(1500), slowBackend(1500)]);
  ports = backends.map((b) => (b.address() as AddressInfo).port);
  const config = buildConfig({ certificateArn: TEST_CERTIFICATE_ARN, targetGroups: { api: { deregistrationDelaySeconds: 60 } } });
  const model = loadModelFromTemplate(Template.fromStack(addAlbatrossStack(testApp(), config)).toJSON());
  const runtime = createLoadBalancerRuntime(model, { api: ports.map((port) => ({ host: '127.0.0.1', port })) }, { timeScale: 0.1 });
  proxy = await startProxyServer({ runtime, ports: { 80: 0, 443: 0 }, adminPort: 0, tls: await selfSignedCertificate(), log: pino({ level: 'silent' }) });
  endpoint = `http://127.0.0.1:${proxy.adminPort}`;
});

afterAll(async () => {
  await proxy.close();
  for (const b of backends) b.close();
});

test('drains a target while a request is in flight: the request completes, the drain ends early on the in-flight signal', async () => {
  const https = `https://localhost:${proxy.ports[443]}`;
  // Least outstanding requests: three concurrent slow requests land one on each target.
  const { Agent, request } = await import('undici');
  const agent = new Agent({ connect: { rejectUnauthorized: false } });
  const inFlight = [0, 1, 2].map(() => request(`${https}/api/slow`, { dispatcher: agent }).then(async (r) => ({ status: r.statusCode, body: await r.body.text() })));
  await new Promise((r) => setTimeout(r, 200));
  const target = `127.0.0.1:${ports[0]}`;
  const result = await runDrain(['--endpoint', endpoint, '--target', target, '--poll-interval', '0.2']);
  const answers = await Promise.all(inFlight);
  await agent.close();
  expect(result.stderr).not.toMatch(/error/i);
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(new RegExp(`${target}: drained`));
  expect(result.stdout).toMatch(/ended by in-flight-zero/);
  expect(answers.every((a) => a.status === 200 && a.body === 'done')).toBe(true);
  // Far below the 6 s (60 s x 0.1) deregistration delay, which the API alone would have to wait for.
  expect(result.ms).toBeLessThan(5000);
  const state = (await targets()).targetGroups.find((g) => g.name === 'api')!.targets.find((t) => t.id === target)?.state;
  expect(state).toBe('draining'); // the API keeps saying draining for the whole delay, like the ALB
}, 30_000);

test('running it again on the drained target succeeds without harm', async () => {
  const result = await runDrain(['--endpoint', endpoint, '--target', `127.0.0.1:${ports[0]}`, '--poll-interval', '0.2', '--json']);
  expect(result.code).toBe(0);
  const reports = JSON.parse(result.stdout) as { state: string }[];
  expect(reports[0].state).toBe('drained');
}, 30_000);

test('--dry-run prints the plan and changes nothing', async () => {
  const target = `127.0.0.1:${ports[1]}`;
  const result = await runDrain(['--endpoint', endpoint, '--target', target, '--dry-run']);
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/would deregister/);
  const state = (await targets()).targetGroups.find((g) => g.name === 'api')!.targets.find((t) => t.id === target)?.state;
  expect(state).not.toBe('draining');
}, 30_000);

test('--timeout: exit 7 when requests are still in flight', async () => {
  const https = `https://localhost:${proxy.ports[443]}`;
  const { Agent, request } = await import('undici');
  const agent = new Agent({ connect: { rejectUnauthorized: false } });
  const inFlight = [0, 1, 2, 3].map(() => request(`${https}/api/slow`, { dispatcher: agent }).then((r) => r.body.text()));
  await new Promise((r) => setTimeout(r, 200));
  const result = await runDrain(['--endpoint', endpoint, '--target', `127.0.0.1:${ports[2]}`, '--timeout', '0.5', '--poll-interval', '0.1']);
  await Promise.all(inFlight);
  await agent.close();
  expect(result.code).toBe(7);
  expect(result.stdout).toMatch(/timed-out/);
}, 30_000);

describe('bad input: one clear line and a distinct exit code', () => {
  test('malformed id → 2, before any call', async () => {
    const result = await runDrain(['--target', 'i-xyz']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('invalid target "i-xyz"');
  });

  test('no --target → 2', async () => {
    const result = await runDrain([]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--target is required');
  });

  test('--standby with --terminate → 2', async () => {
    const result = await runDrain(['--target', 'i-0123456789abcdef0', '--standby', '--terminate']);
    expect(result.code).toBe(2);
  });

  test('a target in no target group → 4', async () => {
    const result = await runDrain(['--endpoint', endpoint, '--target', '127.0.0.1:1']);
    expect(result.code).toBe(4);
    expect(result.stderr).toBe('drain: 127.0.0.1:1 is not registered in any target group: nothing to drain\n');
  });

  test('missing credentials → 5, with what to set', async () => {
    const env = { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SESSION_TOKEN: '', AWS_PROFILE: '', AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '', AWS_CONTAINER_CREDENTIALS_FULL_URI: '' };
    const result = await runDrain(['--target', 'i-0123456789abcdef0', '--region', 'eu-west-1'], env);
    expect(result.code).toBe(5);
    expect(result.stderr).toContain('drain: no AWS credentials found');
  }, 30_000);
});
