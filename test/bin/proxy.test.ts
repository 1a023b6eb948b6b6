/** The proxy CLI as a child process (the compiled dist/bin/proxy.js the container runs). */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { get as httpsGet } from 'node:https';
import { AddressInfo } from 'node:net';
import { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stackTemplate } from '../support/stack-template';
import { freePort, waitForHttp } from '../../lib/util/net';
import { selfSignedCertificate } from '../../lib/proxy/tls';
import { loadModelFromTemplate } from '../../lib/proxy/template';
import { defaultGroup } from '../../lib/proxy/model-lookup';
import { oneDefaultGroup } from '../lib/proxy/support/proxy';
import { buildDist, DIST_BUILD_TIMEOUT_MS } from '../support/dist';

const ROOT = join(__dirname, '..', '..');
const PROXY = join(ROOT, 'dist', 'bin', 'proxy.js');
const children: ChildProcess[] = [];
let templateFile: string;
// The stack with its default action on one service (web), so that no request here depends on the
// 10 % canary's share; the weighted default is tested in test/lib/proxy and the conformance suite.
const TEMPLATE = stackTemplate(oneDefaultGroup());
const DEFAULT = defaultGroup(loadModelFromTemplate(TEMPLATE, { onWarning: () => undefined }));

async function namedBackend(name: string): Promise<Server> {
  const server = createServer((req, res) => res.end(req.url === '/health' ? 'ok' : name));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

beforeAll(buildDist, DIST_BUILD_TIMEOUT_MS);

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'albatross-proxy-cli-'));
  templateFile = join(dir, 'Albatross.template.json');
  writeFileSync(templateFile, JSON.stringify(TEMPLATE));
}, 120_000);

afterAll(() => {
  for (const child of children) child.kill('SIGTERM');
});

test('--help explains the options with examples', () => {
  const result = spawnSync(process.execPath, [PROXY, '--help'], { encoding: 'utf8' });
  expect(result.status).toBe(0);
  for (const option of ['--template', '--targets', '--listen', '--admin-port', '--workers', 'Examples:']) expect(result.stdout).toContain(option);
});

test('a missing template is one line that says to run cdk synth, exit 1', () => {
  const result = spawnSync(process.execPath, [PROXY, '--template', '/nonexistent/t.json'], { encoding: 'utf8' });
  expect(result.status).toBe(1);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).toContain('npx cdk synth');
});

test('--workers 2 with a missing template: the one-line error, exit 1, no fork loop', () => {
  const result = spawnSync(process.execPath, [PROXY, '--template', '/nonexistent/t.json', '--workers', '2'], { encoding: 'utf8', timeout: 20_000 });
  expect(result.status).toBe(1);
  expect(result.stderr).toContain('npx cdk synth');
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
});

test.each([[[]], [['--workers', '2']]])('an unknown service in --targets is one line naming the template\'s services, exit 1 (%j)', (extra: string[]) => {
  const services = Object.values(loadModelFromTemplate(TEMPLATE, { onWarning: () => undefined }).targetGroups).map((g) => g.name);
  const result = spawnSync(process.execPath, [PROXY, '--template', templateFile, '--targets', 'nope=127.0.0.1:1', '--admin-port', '0', ...extra], { encoding: 'utf8', timeout: 20_000 });
  expect(result.status).toBe(1);
  expect(result.stderr.trim().split('\n')).toEqual([`albatross-proxy: --targets: unknown service "nope"; the template's services (target groups) are ${services.join(', ')}`]);
});

test('a malformed --targets value is rejected before start', () => {
  const result = spawnSync(process.execPath, [PROXY, '--template', templateFile, '--targets', `${DEFAULT}=localhost`], { encoding: 'utf8' });
  expect(result.status).not.toBe(0);
  expect(result.stderr).toContain('expected host:port');
});

/** Starts the CLI as a child process; resolves once its admin API answers. */
async function startCli(args: string[]): Promise<{ child: ChildProcess; http: number; https: number; admin: string }> {
  const [http, https, adminPort] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(process.execPath, [PROXY, '--template', templateFile, '--listen', `80=${http}`, '--listen', `443=${https}`, '--admin-port', String(adminPort), '--log-level', 'warn', '--time-scale', '0.01', ...args], { stdio: 'ignore' });
  children.push(child);
  const admin = `http://127.0.0.1:${adminPort}`;
  await waitForHttp(`${admin}/healthz`);
  return { child, http, https, admin };
}

/** One request on a new connection (so the kernel spreads them over the workers); the body and the cookie set. */
async function freshGet(url: string, headers: Record<string, string> = {}): Promise<{ body: string; cookie?: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsGet(url, { rejectUnauthorized: false, agent: false, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        const cookie = (res.headers['set-cookie'] ?? []).find((c) => c.startsWith('AWSALB='))?.split(';')[0];
        resolve({ body, cookie, fingerprint: (res.socket as TLSSocket).getPeerCertificate().fingerprint256 ?? '' });
      });
    });
    req.on('error', reject);
  });
}

async function allHealthy(admin: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const report = (await (await fetch(`${admin}/targets`)).json()) as { targetGroups: { targets: { state: string }[] }[] };
    if (report.targetGroups.every((g) => g.targets.every((t) => t.state === 'healthy'))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('targets not healthy');
}

/**
 * Cluster mode: every worker checks health itself and `/targets` shows the admin worker's view only.
 * `albatross_target_health` is the maximum over the workers, so a target is healthy in every worker
 * once no worker reports it in any other state.
 */
async function healthyInEveryWorker(admin: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const text = await (await fetch(`${admin}/metrics`)).text();
    const states = [...text.matchAll(/^albatross_target_health\{[^}]*state="(\w+)"[^}]*\} 1$/gm)].map((m) => m[1]);
    if (states.length > 0 && states.every((state) => state === 'healthy')) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('targets not healthy in every worker');
}

test.each([[[]], [['--workers', '2']]])('SIGTERM during a slow request (%j): the request completes, then the proxy exits 0', async (extra: string[]) => {
  const slow = createServer((req, res) => (req.url === '/health' ? res.end('ok') : setTimeout(() => res.end('slow done'), 1500)));
  await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
  const target = `127.0.0.1:${(slow.address() as AddressInfo).port}`;
  const { child, https, admin } = await startCli(['--targets', `${DEFAULT}=${target}`, '--shutdown-grace', '10', ...extra]);
  await allHealthy(admin);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const answer = freshGet(`https://localhost:${https}/slow`);
  await new Promise((r) => setTimeout(r, 300));
  child.kill('SIGTERM');
  expect((await answer).body).toBe('slow done');
  expect(await exited).toBe(0);
  slow.close();
}, 60_000);

test('--cert/--key: the HTTPS listener serves the given certificate', async () => {
  const tls = await selfSignedCertificate();
  const dir = mkdtempSync(join(tmpdir(), 'albatross-cert-'));
  writeFileSync(join(dir, 'cert.pem'), tls.cert);
  writeFileSync(join(dir, 'key.pem'), tls.key);
  const backend = await namedBackend('one');
  const { https, admin } = await startCli(['--targets', `${DEFAULT}=127.0.0.1:${(backend.address() as AddressInfo).port}`, '--cert', join(dir, 'cert.pem'), '--key', join(dir, 'key.pem')]);
  await allHealthy(admin);
  const answer = await freshGet(`https://localhost:${https}/`);
  expect(answer.body).toBe('one');
  expect(answer.fingerprint).toBe(new X509Certificate(tls.cert).fingerprint256);
  backend.close();
}, 60_000);

describe('--workers 2', () => {
  let backends: Server[];
  let a: string;
  let b: string;
  let cli: Awaited<ReturnType<typeof startCli>>;

  beforeAll(async () => {
    backends = await Promise.all([namedBackend('one'), namedBackend('two')]);
    [a, b] = backends.map((s) => `127.0.0.1:${(s.address() as AddressInfo).port}`);
    cli = await startCli(['--targets', `${DEFAULT}=${a},${b}`, '--targets', `static=${a},${b}`, '--workers', '2']);
    await allHealthy(cli.admin);
    // A worker that still sees a target as initial routes around it, whatever the cookie says.
    await healthyInEveryWorker(cli.admin);
  }, 60_000);

  afterAll(() => {
    for (const s of backends) s.close();
  });

  test('every worker serves the same certificate, and honours an AWSALB cookie another worker issued', async () => {
    // The stack's sticky service is the default action's.
    const first = await freshGet(`https://localhost:${cli.https}/sticky/x`);
    expect(first.cookie).toBeDefined();
    const sticky = await Promise.all(Array.from({ length: 20 }, () => freshGet(`https://localhost:${cli.https}/sticky/x`, { cookie: first.cookie! })));
    expect(new Set(sticky.map((r) => r.body))).toEqual(new Set([first.body]));
    expect(new Set([first, ...sticky].map((r) => r.fingerprint)).size).toBe(1);
  });

  test('/metrics counts the requests of every worker', async () => {
    const count = async () => {
      const text = await (await fetch(`${cli.admin}/metrics`)).text();
      return Number(new RegExp(`albatross_requests_total\\{listener="443",target_group="${DEFAULT}",code="200"\\} (\\d+)`).exec(text)?.[1] ?? 0);
    };
    const before = await count();
    await Promise.all(Array.from({ length: 20 }, () => freshGet(`https://localhost:${cli.https}/`)));
    expect((await count()) - before).toBe(20);
  });

  test('a worker that dies is replaced, and the listeners keep serving', async () => {
    const workers = () => spawnSync('pgrep', ['-P', String(cli.child.pid)], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).map(Number);
    const before = workers();
    expect(before).toHaveLength(2);
    process.kill(before[1], 'SIGKILL');
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && !(workers().length === 2 && !workers().includes(before[1]))) await new Promise((r) => setTimeout(r, 100));
    expect(workers()).toHaveLength(2);
    expect(workers()).not.toContain(before[1]);
    await new Promise((r) => setTimeout(r, 1000)); // the new worker's targets pass their checks
    const bodies = await Promise.all(Array.from({ length: 10 }, () => freshGet(`https://localhost:${cli.https}/`)));
    expect(bodies.every((r) => r.body === 'one' || r.body === 'two')).toBe(true);
  }, 30_000);

  test('a deregistration through the ELBv2 API at POST / reaches every worker, like one through /targets', async () => {
    const query = (body: string) => fetch(`${cli.admin}/`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'AWS4-HMAC-SHA256 Credential=local/20261201/local/elasticloadbalancing/aws4_request' }, body }).then((r) => r.text());
    const groups = await query('Action=DescribeTargetGroups&Version=2015-12-01');
    const arn = new RegExp(`<TargetGroupArn>([^<]*targetgroup/${DEFAULT}/[^<]*)</TargetGroupArn>`).exec(groups)![1];
    const [host, port] = a.split(':');
    await query(`Action=DeregisterTargets&Version=2015-12-01&TargetGroupArn=${encodeURIComponent(arn)}&Targets.member.1.Id=${host}&Targets.member.1.Port=${port}`);
    await new Promise((r) => setTimeout(r, 300));
    const bodies = await Promise.all(Array.from({ length: 30 }, () => freshGet(`https://localhost:${cli.https}/`)));
    expect(new Set(bodies.map((r) => r.body))).toEqual(new Set(['two']));
  });

  test('a deregistration through the admin API reaches both workers', async () => {
    const deregister = await fetch(`${cli.admin}/targets/deregister`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ targetGroup: 'static', target: a }) });
    expect(deregister.status).toBe(202);
    await new Promise((r) => setTimeout(r, 300));
    const bodies = await Promise.all(Array.from({ length: 30 }, () => freshGet(`https://localhost:${cli.https}/static/y`)));
    expect(new Set(bodies.map((r) => r.body))).toEqual(new Set(['two']));
  });

  test('re-forked workers start from the current registrations, not the start-up --targets (issue 11, defect 4)', async () => {
    // The tests above deregistered `a` from the default service (ELBv2 API) and static (admin API). Register a target at runtime:
    const three = await namedBackend('three');
    backends.push(three);
    const c = `127.0.0.1:${(three.address() as AddressInfo).port}`;
    const register = await fetch(`${cli.admin}/targets/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ targetGroup: 'api', target: c }) });
    expect(register.status).toBe(200);
    const workers = () => spawnSync('pgrep', ['-P', String(cli.child.pid)], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).map(Number);
    // Replace both workers, one after the other (the admin worker too).
    for (const pid of workers()) {
      process.kill(pid, 'SIGKILL');
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && !(workers().length === 2 && !workers().includes(pid))) await new Promise((r) => setTimeout(r, 100));
      expect(workers()).not.toContain(pid);
    }
    await waitForHttp(`${cli.admin}/healthz`);
    await allHealthy(cli.admin);
    const report = (await (await fetch(`${cli.admin}/targets`)).json()) as { targetGroups: { name: string; targets: { id: string }[] }[] };
    const ids = (name: string) => report.targetGroups.find((g) => g.name === name)!.targets.map((t) => t.id);
    expect(ids(DEFAULT)).toEqual([b]);
    expect(ids('api')).toEqual([c]);
    const app = await Promise.all(Array.from({ length: 40 }, () => freshGet(`https://localhost:${cli.https}/`)));
    expect(new Set(app.map((r) => r.body))).toEqual(new Set(['two']));
    const api = await Promise.all(Array.from({ length: 20 }, () => freshGet(`https://localhost:${cli.https}/api/x`)));
    expect(new Set(api.map((r) => r.body))).toEqual(new Set(['three']));
  }, 60_000);
});
