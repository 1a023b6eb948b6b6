#!/usr/bin/env node
/**
 * The local proxy demo (`npm run demo`, run after `npx cdk synth`): three sample apps behind the
 * load balancer of the synthesized template, exercised with real requests. Prints a PASS/FAIL line
 * per behaviour and exits non-zero on any failure. Durations run at --time-scale 0.1 (a 30 s
 * health-check interval becomes 3 s) so the demo takes seconds.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { TargetsReport } from '../lib/proxy/model';
import { freePort } from '../lib/util/net';

const ROOT = join(__dirname, '..', '..');
const TEMPLATE = join(ROOT, 'cdk.out', 'Albatross.template.json');
const insecure = new Agent({ connect: { rejectUnauthorized: false } });
const children: ChildProcess[] = [];
let failures = 0;

function check(name: string, ok: boolean, detail: string): void {
  if (!ok) failures++;
  console.log(`${ok ? 'PASS' : 'FAIL'}  ${name}${detail ? `  — ${detail}` : ''}`);
}

function run(script: string, args: string[]): ChildProcess {
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'bin', script), ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  return child;
}

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const response = await request(url, { headers, dispatcher: insecure });
  return { status: response.statusCode, headers: response.headers, body: await response.body.text() };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function nameOf(body: string): string {
  return (JSON.parse(body) as { name: string }).name;
}

async function main(): Promise<void> {
  const apps = await Promise.all([1, 2, 3].map(async (i) => ({ name: `app${i}`, port: await freePort() })));
  for (const app of apps) run('sample-app.js', ['--port', String(app.port), '--name', app.name]);
  const [http, https, admin] = [await freePort(), await freePort(), await freePort()];
  const address = (i: number) => `127.0.0.1:${apps[i].port}`;
  run('proxy.js', [
    '--template', TEMPLATE,
    '--targets', `app=${address(0)},${address(1)},${address(2)}`,
    '--targets', `api=${address(2)}`,
    '--targets', `static=${address(0)},${address(1)}`,
    '--listen', `80=${http}`, '--listen', `443=${https}`, '--admin-port', String(admin),
    '--time-scale', '0.1', '--log-level', 'warn',
  ]);
  const base = `https://localhost:${https}`;
  const adminUrl = `http://127.0.0.1:${admin}`;
  console.log(`Albatross local proxy on the synthesized template: http://localhost:${http}  ${base}  admin ${adminUrl}\n`);

  await waitFor('healthy targets', async () => {
    const report = JSON.parse((await get(`${adminUrl}/targets`)).body) as TargetsReport;
    return report.targetGroups.every((g) => g.targets.every((t) => t.state === 'healthy')) ? report : undefined;
  });
  check('health checks: every target healthy after the healthy threshold', true, 'GET /health on each backend');

  const redirect = await get(`http://localhost:${http}/cart/items?id=7`);
  check('HTTP listener answers 301 to HTTPS keeping host, path and query', redirect.status === 301 && redirect.headers.location === `https://localhost:${https}/cart/items?id=7`, `${redirect.status} Location: ${redirect.headers.location}`);

  const home = await get(`${base}/`);
  const hsts = String(home.headers['strict-transport-security'] ?? '');
  check('HTTPS default action forwards to the app group', home.status === 200 && ['app1', 'app2', 'app3'].includes(nameOf(home.body)), `200 from ${nameOf(home.body)}`);
  check('security headers injected, Server removed', hsts.startsWith('max-age=') && home.headers['x-frame-options'] === 'DENY' && home.headers.server === undefined, `HSTS "${hsts}"`);
  const echoed = (JSON.parse(home.body) as { headers: Record<string, string> }).headers;
  check('X-Forwarded-* and X-Amzn-Trace-Id reach the target', echoed['x-forwarded-proto'] === 'https' && echoed['x-forwarded-port'] === '443' && /^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/.test(echoed['x-amzn-trace-id'] ?? ''), echoed['x-amzn-trace-id'] ?? '');

  const api = await get(`${base}/api/orders`);
  check('rule /api/* forwards to the api group', api.status === 200 && nameOf(api.body) === 'app3', `served by ${nameOf(api.body)}`);

  const first = await get(`${base}/static/logo.png`);
  const cookie = ([] as string[]).concat(first.headers['set-cookie'] ?? []).find((c) => c.startsWith('AWSALB='))?.split(';')[0];
  const sticky = cookie ? await Promise.all([1, 2, 3, 4, 5].map(() => get(`${base}/static/logo.png`, { cookie }))) : [];
  const stickyNames = new Set(sticky.map((r) => nameOf(r.body)));
  check('rule /static/* is sticky with the AWSALB cookie', cookie !== undefined && stickyNames.size === 1 && stickyNames.has(nameOf(first.body)), `5 requests with ${cookie?.slice(0, 20)}… all served by ${[...stickyNames].join(',')}`);

  const maintenance = await get(`${base}/maintenance`);
  check('rule /maintenance answers the fixed 503', maintenance.status === 503 && maintenance.body === '{"status":"maintenance"}', `${maintenance.status} ${maintenance.body}`);

  await demoDrain(base, adminUrl, address(0));
}

/** Deregisters one backend under load: no request may fail, and the drained one gets no new ones. */
async function demoDrain(base: string, adminUrl: string, drained: string): Promise<void> {
  let stop = false;
  const statuses: number[] = [];
  const after: string[] = [];
  let deregistered = false;
  const worker = async () => {
    while (!stop) {
      const r = await get(`${base}/work`);
      statuses.push(r.status);
      if (deregistered && r.status === 200) after.push(nameOf(r.body));
    }
  };
  const load = Promise.all([1, 2, 3, 4].map(worker));
  await new Promise((r) => setTimeout(r, 500));
  await request(`${adminUrl}/targets/deregister`, { method: 'POST', body: JSON.stringify({ targetGroup: 'app', target: drained }) }).then((r) => r.body.text());
  deregistered = true;
  await new Promise((r) => setTimeout(r, 1000));
  stop = true;
  await load;
  const report = JSON.parse((await get(`${adminUrl}/targets`)).body) as TargetsReport;
  const state = report.targetGroups.find((g) => g.name === 'app')?.targets.find((t) => t.id === drained)?.state;
  const errors = statuses.filter((s) => s !== 200).length;
  // Requests already accepted by app1 before the deregistration may still finish after it.
  const lateToDrained = after.slice(8).filter((n) => n === 'app1').length;
  check('deregistering app1 under load loses no request', errors === 0 && statuses.length > 20, `${statuses.length} requests, ${errors} errors`);
  check('a draining target gets no new requests and shows "draining"', lateToDrained === 0 && state === 'draining', `state ${state}`);
}

main()
  .catch((error: Error) => {
    failures++;
    console.log(`FAIL  demo could not run — ${error.message}`);
  })
  .finally(() => {
    for (const child of children) child.kill('SIGTERM');
    console.log(failures === 0 ? '\nDemo passed: the local load balancer behaves like the template says.' : `\nDemo failed: ${failures} check(s).`);
    process.exit(failures === 0 ? 0 : 1);
  });
