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
import { LoadBalancerModel, TargetsReport } from '../lib/proxy/model';
import { defaultGroup, examplePath, fixedResponseRule, httpsListener } from '../lib/proxy/model-lookup';
import { readTemplateFile } from '../lib/proxy/template';
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

/**
 * What the demo checks, read from the synthesized template (never repeated here): the default
 * group, the path rules that forward (one sticky), the fixed-response rule and the listener headers.
 */
interface DemoPlan {
  readonly model: LoadBalancerModel;
  readonly defaultGroup: string;
  /** Forward rules other than the sticky one: pattern, a matching path, group. */
  readonly plainForwards: { pattern: string; path: string; group: string }[];
  readonly sticky?: { pattern: string; path: string; group: string };
}

function templatePort(model: LoadBalancerModel, protocol: 'HTTP' | 'HTTPS'): number {
  const listener = model.listeners.find((l) => l.protocol === protocol);
  if (!listener) throw new Error(`the template has no ${protocol} listener`);
  return listener.port;
}

function demoPlan(model: LoadBalancerModel): DemoPlan {
  const forwards = httpsListener(model).rules.flatMap((rule) => {
    const pattern = rule.conditions.find((c) => c.field === 'path-pattern')?.values[0];
    if (rule.action.type !== 'forward' || typeof pattern !== 'string') return [];
    const group = model.targetGroups[rule.action.targetGroups[0].targetGroup];
    return [{ pattern, path: examplePath(pattern), group: group.name, sticky: group.stickiness.enabled && group.stickiness.type === 'lb_cookie' }];
  });
  return { model, defaultGroup: defaultGroup(model), plainForwards: forwards.filter((f) => !f.sticky), sticky: forwards.find((f) => f.sticky) };
}

async function main(): Promise<void> {
  const plan = demoPlan(readTemplateFile(TEMPLATE));
  const apps = await Promise.all([1, 2, 3].map(async (i) => ({ name: `app${i}`, port: await freePort() })));
  for (const app of apps) run('sample-app.js', ['--port', String(app.port), '--name', app.name]);
  const [http, https, admin] = [await freePort(), await freePort(), await freePort()];
  const address = (i: number) => `127.0.0.1:${apps[i].port}`;
  // The default group gets all three apps, each plain path group app3, the sticky group app1 and app2.
  const targets = [`${plan.defaultGroup}=${address(0)},${address(1)},${address(2)}`, ...plan.plainForwards.map((f) => `${f.group}=${address(2)}`)];
  if (plan.sticky) targets.push(`${plan.sticky.group}=${address(0)},${address(1)}`);
  run('proxy.js', [
    '--template', TEMPLATE,
    ...targets.flatMap((t) => ['--targets', t]),
    '--listen', `${templatePort(plan.model, 'HTTP')}=${http}`, '--listen', `${templatePort(plan.model, 'HTTPS')}=${https}`, '--admin-port', String(admin),
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
  const listener = httpsListener(plan.model);
  check(`HTTPS default action forwards to the ${plan.defaultGroup} group`, home.status === 200 && apps.some((a) => a.name === nameOf(home.body)), `200 from ${nameOf(home.body)}`);
  const headers = Object.entries(listener.responseHeaders);
  const missing = headers.filter(([name, value]) => home.headers[name.toLowerCase()] !== value).map(([name]) => name);
  const serverOk = listener.removeServerHeader ? home.headers.server === undefined : true;
  check('security headers from the listener attributes injected, Server removed as configured', missing.length === 0 && serverOk, missing.length === 0 ? headers.map(([n]) => n).join(', ') : `missing ${missing.join(', ')}`);
  const echoed = (JSON.parse(home.body) as { headers: Record<string, string> }).headers;
  check('X-Forwarded-* and X-Amzn-Trace-Id reach the target', echoed['x-forwarded-proto'] === 'https' && echoed['x-forwarded-port'] === String(listener.port) && /^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/.test(echoed['x-amzn-trace-id'] ?? ''), echoed['x-amzn-trace-id'] ?? '');

  for (const forward of plan.plainForwards) {
    const answer = await get(`${base}${forward.path}`);
    check(`rule ${forward.pattern} forwards to the ${forward.group} group`, answer.status === 200 && nameOf(answer.body) === apps[2].name, `served by ${nameOf(answer.body)}`);
  }

  if (plan.sticky) {
    const { path, pattern } = plan.sticky;
    const first = await get(`${base}${path}`);
    const cookie = ([] as string[]).concat(first.headers['set-cookie'] ?? []).find((c) => c.startsWith('AWSALB='))?.split(';')[0];
    const sticky = cookie ? await Promise.all([1, 2, 3, 4, 5].map(() => get(`${base}${path}`, { cookie }))) : [];
    const stickyNames = new Set(sticky.map((r) => nameOf(r.body)));
    check(`rule ${pattern} is sticky with the AWSALB cookie`, cookie !== undefined && stickyNames.size === 1 && stickyNames.has(nameOf(first.body)), `5 requests with ${cookie?.slice(0, 20)}… all served by ${[...stickyNames].join(',')}`);
  }

  const fixed = fixedResponseRule(plan.model);
  const answer = await get(`${base}${fixed.path}`);
  check(`rule ${fixed.path} answers the fixed ${fixed.action.statusCode}`, answer.status === fixed.action.statusCode && answer.body === (fixed.action.body ?? ''), `${answer.status} ${answer.body}`);

  await demoDrain(base, adminUrl, plan.defaultGroup, apps[0].name, address(0));
}

/** Deregisters one backend under load: no request may fail, and the drained one gets no new ones. */
async function demoDrain(base: string, adminUrl: string, group: string, drainedName: string, drained: string): Promise<void> {
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
  await request(`${adminUrl}/targets/deregister`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ targetGroup: group, target: drained }) }).then((r) => r.body.text());
  deregistered = true;
  await new Promise((r) => setTimeout(r, 1000));
  stop = true;
  await load;
  const report = JSON.parse((await get(`${adminUrl}/targets`)).body) as TargetsReport;
  const state = report.targetGroups.find((g) => g.name === group)?.targets.find((t) => t.id === drained)?.state;
  const errors = statuses.filter((s) => s !== 200).length;
  // Requests already accepted by app1 before the deregistration may still finish after it.
  const lateToDrained = after.slice(8).filter((n) => n === drainedName).length;
  check(`deregistering ${drainedName} under load loses no request`, errors === 0 && statuses.length > 20, `${statuses.length} requests, ${errors} errors`);
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
