/**
 * No Docker engine runs here, so the container is tested through what it runs: the Dockerfile's
 * entry point and compose's commands are executed as-is with node (only hosts, ports and the
 * mounted template path are mapped to this machine), and what the runtime image keeps (npm prune
 * --omit=dev: no CDK) is shown to be enough to start the proxy and the drain.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { build } from 'esbuild';
import { parse } from 'yaml';
import { buildDist, DIST_BUILD_TIMEOUT_MS } from '../support/dist';
import { stackTemplate } from '../support/stack-template';
import { freePort, waitForHttp } from '../../lib/util/net';
import { readServices } from '../../lib/proxy/services';
import { loadModelFromTemplate } from '../../lib/proxy/template';

const ROOT = join(__dirname, '..', '..');
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const compose = parse(readFileSync(join(ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, { entrypoint?: string[]; command: string[]; environment?: Record<string, string> }> };
const children: ChildProcess[] = [];

function jsonInstruction(name: string): string[] {
  const line = dockerfile.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`Dockerfile has no ${name}`);
  return JSON.parse(line.slice(name.length + 1)) as string[];
}

// The image runs the compiled entry points; build them with the Dockerfile's tsconfig.build.json.
beforeAll(buildDist, DIST_BUILD_TIMEOUT_MS);

afterAll(() => {
  for (const child of children) child.kill('SIGTERM');
});

test('the image runs node dist/bin/proxy.js as a non-root user, with a HEALTHCHECK on the admin API', () => {
  expect(jsonInstruction('ENTRYPOINT')).toEqual(['node', 'dist/bin/proxy.js']);
  expect(dockerfile).toMatch(/^USER node$/m);
  expect(dockerfile).toMatch(/^HEALTHCHECK .*\n?.*\/healthz/m);
  expect(dockerfile).toMatch(/^FROM .* AS build$/m);
  expect(existsSync(join(ROOT, 'dist', 'bin', 'proxy.js'))).toBe(true);
  expect(existsSync(join(ROOT, 'dist', 'bin', 'sample-app.js'))).toBe(true);
});

/** Debian's libjemalloc2 on this machine (amd64, arm64), as the image installs it. */
const JEMALLOC = ['/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2'].find((path) => existsSync(path));
const inCi = process.env.CI === 'true';
if (!JEMALLOC && !inCi) process.stderr.write('libjemalloc2 not found, the image allocator test is skipped: apt-get install -y libjemalloc2\n');

(JEMALLOC || inCi ? test : test.skip)("the runtime stage preloads jemalloc, and the proxy starts on it with the image's MALLOC_CONF, which jemalloc accepts", () => {
  if (!JEMALLOC) throw new Error('libjemalloc2 is required in CI (.ci/run installs it)');
  const runtime = dockerfile.slice(dockerfile.indexOf(' AS runtime'));
  expect(runtime).toMatch(/apt-get install -y --no-install-recommends libjemalloc2/);
  const env = Object.fromEntries([...runtime.matchAll(/^ENV (.*)$/gm)].flatMap((m) => m[1].split(/\s+/).map((pair) => pair.split('=', 2) as [string, string])));
  expect(env.LD_PRELOAD).toBe('/usr/local/lib/libjemalloc.so.2');
  expect(env.MALLOC_CONF).toMatch(/background_thread:true/);
  // jemalloc reports a bad option on stderr and carries on, so stderr must stay empty; its stats show it is the allocator.
  const started = spawnSync(process.execPath, [join(ROOT, 'dist', 'bin', 'proxy.js'), '--help'], { encoding: 'utf8', env: { ...process.env, LD_PRELOAD: JEMALLOC, MALLOC_CONF: env.MALLOC_CONF }, timeout: 20_000 });
  expect({ status: started.status, stderr: started.stderr }).toEqual({ status: 0, stderr: '' });
  const stats = spawnSync(process.execPath, ['-e', '0'], { encoding: 'utf8', env: { ...process.env, LD_PRELOAD: JEMALLOC, MALLOC_CONF: `${env.MALLOC_CONF},stats_print:true` }, timeout: 20_000 });
  expect(stats.stderr).toMatch(/background_thread: true/);
});

test('the admin API binds beyond loopback in the container, so compose requires the token the proxy then needs', () => {
  expect(compose.services.proxy.command.join(' ')).toContain('--admin-bind 0.0.0.0');
  expect(compose.services.proxy.environment?.ALBATROSS_ADMIN_TOKEN).toMatch(/^\$\{ALBATROSS_ADMIN_TOKEN:\?.+\}$/);
  const started = spawnSync(process.execPath, [join(ROOT, 'dist', 'bin', 'proxy.js'), ...jsonInstruction('CMD')], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ALBATROSS_ADMIN_TOKEN: '' }, timeout: 20_000 });
  expect(started.status).toBe(1);
  expect(started.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^albatross-proxy: --admin-token .*required when --admin-bind 0\.0\.0\.0 is not a loopback address/)]);
});

const CDK_PACKAGES = ['aws-cdk-lib', 'constructs', 'cdk-nag'];
/** What only synth uses besides the CDK: the configuration's schema and its spelling suggestions. */
const SYNTH_ONLY_PACKAGES = ['zod', 'fastest-levenshtein'];
const isCdkPackage = (name: string) => CDK_PACKAGES.includes(name) || name.startsWith('@aws-cdk/');

/** Package directories of the production dependency tree (what `npm prune --omit=dev` keeps), relative to node_modules. */
function productionPackages(): string[] {
  const ls = spawnSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, encoding: 'utf8' });
  expect(ls.status).toBe(0);
  const prefix = join(ROOT, 'node_modules') + sep;
  return ls.stdout.split('\n').filter((p) => p.startsWith(prefix)).map((p) => p.slice(prefix.length));
}

/** The package a node_modules-relative path belongs to, at any depth: `a/node_modules/@s/b` → `@s/b`. */
const packageName = (path: string) => {
  const parts = path.split(`node_modules${sep}`).pop()!.split(sep);
  return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
};

test('the image keeps the production dependencies only, by npm prune alone, with no package deleted by hand', () => {
  expect(dockerfile).toMatch(/npm prune --omit=dev/);
  expect(dockerfile).not.toMatch(/rm -rf [^\n]*node_modules/);
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  expect(Object.keys(manifest.dependencies).filter(isCdkPackage)).toEqual([]);
  expect(Object.keys(manifest.devDependencies)).toEqual(expect.arrayContaining(CDK_PACKAGES));
  const kept = productionPackages();
  expect(kept.map(packageName)).toEqual(expect.arrayContaining(['pino', 'undici', 'commander', '@aws-sdk/client-elastic-load-balancing-v2']));
  expect(kept.map(packageName).filter(isCdkPackage)).toEqual([]);
  expect(kept.map(packageName).filter((name) => SYNTH_ONLY_PACKAGES.includes(name))).toEqual([]);
});

test('the proxy, the drain CLI and the sample app start with nothing but the production dependencies installed', () => {
  // What the runtime image holds: dist/ and the pruned node_modules (linked here, resolved without
  // following the links, so nothing outside this directory can be found).
  const image = mkdtempSync(join(tmpdir(), 'albatross-image-'));
  symlinkSync(join(ROOT, 'dist'), join(image, 'dist'));
  // The runtime stage copies package.json too: the CLIs read their engines range from it.
  copyFileSync(join(ROOT, 'package.json'), join(image, 'package.json'));
  for (const path of productionPackages().filter((p) => !p.includes(`node_modules${sep}`))) {
    mkdirSync(dirname(join(image, 'node_modules', path)), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', path), join(image, 'node_modules', path));
  }
  const env = { PATH: process.env.PATH, HOME: process.env.HOME };
  const node = (...args: string[]) => spawnSync(process.execPath, ['--preserve-symlinks', '--preserve-symlinks-main', ...args], { cwd: image, encoding: 'utf8', env, timeout: 30_000 });
  // The control: the CDK cannot be loaded there, so a bin that needed it would fail below.
  const cdk = node('-e', "require('aws-cdk-lib')");
  expect(cdk.status).not.toBe(0);
  expect(cdk.stderr).toMatch(/Cannot find module 'aws-cdk-lib'/);
  for (const bin of ['proxy.js', 'drain.js', 'sample-app.js']) {
    const started = node(join(image, 'dist', 'bin', bin), '--help');
    expect({ bin, status: started.status, stderr: started.stderr }).toEqual({ bin, status: 0, stderr: '' });
    expect(started.stdout).toMatch(/^Usage: /);
  }
}, 60_000);

test('the CDK is never in the import graph of the proxy, the drain CLI, the sample app or the Lambda handler', async () => {
  const entryPoints = ['proxy.js', 'drain.js', 'sample-app.js'].map((bin) => join(ROOT, 'dist', 'bin', bin));
  // The Lambda as NodejsFunction bundles it: from source, with the runtime's AWS SDK left out.
  entryPoints.push(join(ROOT, 'lambda', 'drain-handler.ts'));
  const result = await build({ entryPoints, bundle: true, platform: 'node', write: false, metafile: true, logLevel: 'silent', outdir: tmpdir(), external: ['@aws-sdk/*'] });
  const inputs = Object.keys(result.metafile!.inputs);
  expect(inputs).toEqual(expect.arrayContaining([expect.stringMatching(/lib\/drain\/engine/), expect.stringMatching(/lib\/proxy\/server/), expect.stringMatching(/lib\/alb\/target-id/)]));
  expect(inputs.filter((i) => /node_modules\//.test(i) && isCdkPackage(packageName(i.replace(/\//g, sep))))).toEqual([]);
});

test("compose's commands run the proxy over one sample app per task of each service, and the HEALTHCHECK passes", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'albatross-compose-'));
  const template = stackTemplate();
  writeFileSync(join(dir, 'Albatross.template.json'), JSON.stringify(template));
  const hosts: Record<string, number> = {};
  const apps = Object.keys(compose.services).filter((name) => compose.services[name].entrypoint?.includes('dist/bin/sample-app.js'));
  for (const name of apps) {
    const service = compose.services[name];
    hosts[name] = await freePort();
    // Container ports → free loopback ports; 0.0.0.0 → 127.0.0.1 (tests stay on loopback).
    const args = service.command.map((a) => (a === '8080' ? String(hosts[name]) : a === '0.0.0.0' ? '127.0.0.1' : a));
    children.push(spawn(service.entrypoint![0], [...service.entrypoint!.slice(1), ...args], { cwd: ROOT, stdio: 'ignore' }));
  }
  const [http, https, admin] = [await freePort(), await freePort(), await freePort()];
  const proxyArgs = [...jsonInstruction('ENTRYPOINT'), ...compose.services.proxy.command]
    .map((a) => a.replace('/config/', `${dir}/`).replace('0.0.0.0', '127.0.0.1').replace(/([a-z][a-z0-9-]*):8080/g, (_m, app: string) => `127.0.0.1:${hosts[app]}`));
  children.push(spawn(proxyArgs[0], [...proxyArgs.slice(1), '--listen', `80=${http}`, '--listen', `443=${https}`, '--admin-port', String(admin), '--log-level', 'warn'], { cwd: ROOT, stdio: 'ignore' }));
  await waitForHttp(`http://127.0.0.1:${admin}/healthz`);
  const healthcheck = JSON.parse(dockerfile.split('\n').find((l) => l.trim().startsWith('CMD ["node", "-e"'))!.trim().slice(4)) as string[];
  const probe = spawnSync(healthcheck[0], [healthcheck[1], healthcheck[2].replace('9901', String(admin))], { encoding: 'utf8' });
  expect(probe.status).toBe(0);
  const report = (await (await fetch(`http://127.0.0.1:${admin}/targets`)).json()) as { targetGroups: { name: string; targets: unknown[] }[] };
  // Each group has the tasks of the services registered in it (lib/proxy/services.ts), one app each.
  const services = readServices(template, loadModelFromTemplate(template, { onWarning: () => undefined }));
  const tasksOf = (group: string) => services.filter((s) => s.targetGroups.includes(group)).reduce((n, s) => n + s.replicas, 0);
  expect(report.targetGroups.map((g) => [g.name, g.targets.length])).toEqual(report.targetGroups.map((g) => [g.name, tasksOf(g.name)]));
  expect(report.targetGroups.reduce((n, g) => n + g.targets.length, 0)).toBeGreaterThanOrEqual(apps.length);
  const redirect = await fetch(`http://127.0.0.1:${http}/x?y=1`, { redirect: 'manual' });
  expect(redirect.status).toBe(301);
  // And a request forwarded over HTTPS reaches one of compose's sample apps.
  const { Agent, request } = await import('undici');
  const insecure = new Agent({ connect: { rejectUnauthorized: false }, allowH2: false });
  const forwarded = await request(`https://localhost:${https}/hello`, { dispatcher: insecure });
  const echoed = (await forwarded.body.json()) as { name: string; service: string; path: string; headers: Record<string, string> };
  await insecure.close();
  expect(forwarded.statusCode).toBe(200);
  expect(Object.keys(hosts)).toContain(echoed.name);
  expect(services.map((s) => s.name)).toContain(echoed.service);
  expect(echoed.path).toBe('/hello');
  expect(echoed.headers['x-forwarded-proto']).toBe('https');
}, 60_000);
