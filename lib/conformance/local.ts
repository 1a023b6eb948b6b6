/**
 * The local target of the suite: the template's services as sample apps (bin/sample-app.ts, one
 * per desired task) behind the proxy on the synthesized template, as child processes on loopback.
 * Durations run at --time-scale 0.1 (a 30 s health-check interval becomes 3 s) so the suite takes
 * seconds.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TARGETS_REPORT_PATH, TargetsReport } from '../alb/targets-report';
import { freePort } from '../util/net';
import { ConformanceClient } from './client';
import { replicaNames, replicasByGroup, ServiceModel } from '../proxy/services';
import { Expectations } from './expectations';
import { ConformanceTarget, LocalKnowledge } from './suite';

export interface LocalStack {
  readonly target: ConformanceTarget;
  readonly knowledge: LocalKnowledge;
  stop(): void;
}

/** The compiled entry points (dist/bin), also when this module runs from its source (ts-jest, tsx). */
const BIN = __filename.endsWith('.ts') ? join(__dirname, '..', '..', 'dist', 'bin') : join(__dirname, '..', '..', 'bin');

function run(children: ChildProcess[], script: string, args: string[]): void {
  children.push(spawn(process.execPath, [join(BIN, script), ...args], { stdio: ['ignore', 'ignore', 'inherit'] }));
}

async function waitUntilHealthy(client: ConformanceClient, adminUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const report = JSON.parse((await client.send(`${adminUrl}${TARGETS_REPORT_PATH}`)).body) as TargetsReport;
      // Every group has sample apps (a stand-in where no service registers), so an empty group is not ready yet.
      if (report.targetGroups.every((g) => g.targets.length > 0 && g.targets.every((t) => t.state === 'healthy'))) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`the local proxy's targets were not healthy within ${timeoutMs / 1000} s`);
}

/** The sample apps standing in for the template's services, as compose names them. */
function sampleApps(x: Expectations): { name: string; service: ServiceModel }[] {
  return x.services.flatMap((service) => replicaNames(service).map((name) => ({ name, service })));
}

/**
 * Starts the apps and the proxy: one sample app per desired task of each service in the template,
 * each registered in its service's target groups, so the suite knows which backend (and which
 * service) may answer each rule.
 */
export async function startLocalStack(templateFile: string, x: Expectations, client: ConformanceClient): Promise<LocalStack> {
  const children: ChildProcess[] = [];
  const stop = () => children.forEach((c) => c.kill('SIGTERM'));
  try {
    const apps = await Promise.all(sampleApps(x).map(async (app) => ({ ...app, address: `127.0.0.1:${await freePort()}` })));
    for (const app of apps) {
      const health = app.service.healthCheckPaths.flatMap((p) => ['--health-path', p]);
      run(children, 'sample-app.js', ['--port', app.address.split(':')[1], '--name', app.name, '--service', app.service.name, ...health]);
    }
    // A service of no desired task has no sample app, and its group no --targets.
    const backends = Object.fromEntries([...replicasByGroup(x.services)].filter(([, names]) => names.length > 0));
    const addressOf = Object.fromEntries(apps.map((a) => [a.name, a.address]));
    const targets = Object.entries(backends).map(([group, names]) => `${group}=${names.map((n) => addressOf[n]).join(',')}`);
    const [http, https, admin] = [await freePort(), await freePort(), await freePort()];
    run(children, 'proxy.js', [
      '--template', templateFile,
      ...targets.flatMap((t) => ['--targets', t]),
      '--listen', `${x.httpPort}=${http}`, '--listen', `${x.https.port}=${https}`, '--admin-port', String(admin),
      '--time-scale', '0.1', '--log-level', 'warn',
    ]);
    const adminUrl = `http://127.0.0.1:${admin}`;
    await waitUntilHealthy(client, adminUrl, 20_000);
    const target: ConformanceTarget = { httpsUrl: new URL(`https://localhost:${https}`), httpUrl: new URL(`http://localhost:${http}`), adminUrl, enforcesWebAcl: true };
    return { target, knowledge: { backends, addresses: addressOf }, stop };
  } catch (error) {
    stop();
    throw error;
  }
}
