/** The proxy CLI as a child process (the compiled dist/bin/proxy.js the container runs). */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { addAlbatrossStack } from '../../lib/app';
import { buildConfig } from '../../lib/config';
import { TEST_CERTIFICATE_ARN, testApp } from '../support/stack';
import { freePort, waitForHttp } from '../../lib/util/net';

const ROOT = join(__dirname, '..', '..');
const PROXY = join(ROOT, 'dist', 'bin', 'proxy.js');
const children: ChildProcess[] = [];
let templateFile: string;

async function namedBackend(name: string): Promise<Server> {
  const server = createServer((req, res) => res.end(req.url === '/health' ? 'ok' : name));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

beforeAll(() => {
  const result = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
  expect(result.status).toBe(0);
  const dir = mkdtempSync(join(tmpdir(), 'albatross-proxy-cli-'));
  templateFile = join(dir, 'Albatross.template.json');
  writeFileSync(templateFile, JSON.stringify(Template.fromStack(addAlbatrossStack(testApp(), buildConfig({ certificateArn: TEST_CERTIFICATE_ARN }))).toJSON()));
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

test('an unknown target group names the known ones, exit 1', () => {
  const result = spawnSync(process.execPath, [PROXY, '--template', templateFile, '--targets', 'nope=127.0.0.1:1', '--admin-port', '0'], { encoding: 'utf8' });
  expect(result.status).toBe(1);
  expect(result.stderr).toMatch(/unknown target group "nope".*app.*api.*static/);
});

test('a malformed --targets value is rejected before start', () => {
  const result = spawnSync(process.execPath, [PROXY, '--template', templateFile, '--targets', 'app=localhost'], { encoding: 'utf8' });
  expect(result.status).not.toBe(0);
  expect(result.stderr).toContain('expected host:port');
});

test('--workers 2: both workers serve, and a deregistration through the admin API reaches both', async () => {
  const backends = await Promise.all([namedBackend('one'), namedBackend('two')]);
  const [a, b] = backends.map((s) => `127.0.0.1:${(s.address() as AddressInfo).port}`);
  const [http, https, admin] = [await freePort(), await freePort(), await freePort()];
  children.push(
    spawn(process.execPath, [PROXY, '--template', templateFile, '--targets', `app=${a},${b}`, '--listen', `80=${http}`, '--listen', `443=${https}`, '--admin-port', String(admin), '--workers', '2', '--log-level', 'warn', '--time-scale', '0.01'], { stdio: 'ignore' }),
  );
  await waitForHttp(`http://127.0.0.1:${admin}/healthz`);
  const { Agent, request } = await import('undici');
  // A new connection per request, so the kernel spreads them over both workers.
  const get = async () => {
    const agent = new Agent({ connect: { rejectUnauthorized: false }, pipelining: 0 });
    const r = await request(`https://localhost:${https}/`, { dispatcher: agent, reset: true });
    const body = await r.body.text();
    await agent.close();
    return body;
  };
  await waitForHttp(`http://127.0.0.1:${admin}/targets`);
  const deregister = await fetch(`http://127.0.0.1:${admin}/targets/deregister`, { method: 'POST', body: JSON.stringify({ targetGroup: 'app', target: a }) });
  expect(deregister.status).toBe(202);
  await new Promise((r) => setTimeout(r, 300));
  const bodies = await Promise.all(Array.from({ length: 30 }, get));
  expect(new Set(bodies)).toEqual(new Set(['two']));
  for (const s of backends) s.close();
}, 60_000);
