/**
 * `npm run conformance` as a child process (dist/bin/conformance.js) over real sockets on loopback:
 * against the local proxy it starts, against a base URL (the local proxy again, and a tiny server
 * that gets one behaviour wrong), and against a URL that accepts connections and never answers.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { AddressInfo, createServer as createTcpServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConformanceClient } from '../../lib/conformance/client';
import { Expectations, readExpectations } from '../../lib/conformance/expectations';
import { LocalStack, startLocalStack } from '../../lib/conformance/local';
import { selfSignedCertificate } from '../../lib/proxy/tls';
import { buildDist, DIST_BUILD_TIMEOUT_MS } from '../support/dist';
import { stackTemplate } from '../support/stack-template';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'bin', 'conformance.js');
let templateFile: string;
let x: Expectations;

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs the CLI; a bounded wait, the child is killed if it overstays. */
function conformance(args: string[], limitMs = 60_000): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, '--template', templateFile, ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, ms: Date.now() - started });
    });
  });
}

function lines(run: Run, label: 'PASS' | 'FAIL' | 'SKIP'): string[] {
  return run.stdout.split('\n').filter((l) => l.startsWith(`${label}  `));
}

function closing(run: Run): string {
  return run.stdout.trim().split('\n').pop() ?? '';
}

beforeAll(buildDist, DIST_BUILD_TIMEOUT_MS);

beforeAll(async () => {
  const template = stackTemplate();
  templateFile = join(mkdtempSync(join(tmpdir(), 'albatross-conformance-')), 'Albatross.template.json');
  writeFileSync(templateFile, JSON.stringify(template));
  x = readExpectations(template);
}, 120_000);

test('default: starts the local proxy with sample apps, every behaviour passes, draining included', async () => {
  const run = await conformance([]);
  expect(lines(run, 'FAIL')).toEqual([]);
  const passed = lines(run, 'PASS');
  // Since issue 12 the sticky service is the default action's: its check is the group-stickiness one.
  const names = ['HTTP listener answers 301', 'TLS versions', 'security headers', 'HTTPS default action is sticky to its group with the AWSALBTG cookie', 'rule Host api.* forwards to the api group', 'HTTPS default action splits by weight', 'fixed-response rule', 'deregistering a target under load loses no request', 'a draining target'];
  for (const name of names) {
    expect(passed.some((l) => l.includes(name))).toBe(true);
  }
  // The services of the template, each rule's answer from its service, the counted split.
  expect(run.stdout).toContain("Services (sample apps, one per desired task of the template's ECS services): web ×2, web-canary ×1, api ×2, static ×2");
  expect(passed).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^PASS {2}rule Host api\.\* forwards to the api group {2}— \/ \(Host api\.example\): 200 from api-[12] \(service api, not the default action's web, web-canary\)$/),
      expect.stringMatching(/^PASS {2}rule \/api\/\* forwards to the api group {2}— \/api\/x: 200 from api-[12] \(service api, not the default action's web, web-canary\)$/),
      expect.stringMatching(/^PASS {2}HTTPS default action splits by weight \(web 90 \/ web-canary 10\) over 400 requests .*— web \d+ \(expected 360, accepted 327–386\), web-canary \d+ \(expected 40, accepted 14–73\)$/),
      expect.stringMatching(/^PASS {2}HTTPS default action is sticky to its group with the AWSALBTG cookie \(3600 s\) {2}— 10 requests with AWSALBTG of web-canary \(weight 10\): service web-canary, served by web-canary-1 \(first: web-canary-1\)$/),
    ]),
  );
  expect(closing(run)).toBe(`${passed.length} passed, 0 failed`);
  expect(run.status).toBe(0);
}, 90_000);

describe('--url against a running local proxy', () => {
  let local: LocalStack;
  beforeAll(async () => {
    local = await startLocalStack(templateFile, x, new ConformanceClient({ insecure: true, timeoutMs: 5000 }));
  }, 60_000);
  afterAll(() => local.stop());

  test('checks needing the admin API are skipped and say so; everything else passes, the web ACL included', async () => {
    const run = await conformance(['--url', local.target.httpsUrl.href, '--http-url', local.target.httpUrl.href, '--insecure', '--timeout', '3']);
    expect(lines(run, 'SKIP').filter((l) => l.endsWith('skipped (needs the local admin API)')).length).toBe(3);
    // The local proxy enforces the template's web ACL (issue 13 part 1): a declared body over the
    // limit gets the rule's 413 from the headers alone, as from the deployed web ACL.
    expect(lines(run, 'PASS')).toContainEqual(expect.stringMatching(/^PASS {2}web ACL blocks a declared body over the limit {2}— Content-Length \d+: 413 \(rule DeclaredBodySizeLimit answers 413\)$/));
    expect(lines(run, 'FAIL')).toEqual([]);
    expect(closing(run)).toBe(`${lines(run, 'PASS').length} passed, 0 failed`);
    expect(run.status).toBe(0);
  }, 60_000);

  test('without --insecure the self-signed certificate is refused in one line', async () => {
    const run = await conformance(['--url', local.target.httpsUrl.href, '--timeout', '5']);
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^conformance: https:\/\/localhost:\d+ did not answer within 5 s \(\w*(SELF_SIGNED|CERT)\w*\)$/)]);
    expect(run.status).toBe(2);
  }, 30_000);
});

/**
 * A load balancer written against the expectations, with one behaviour switchable off: the suite
 * must pass it whole and fail it, with exit 1, when only that behaviour is wrong.
 */
async function imitation(omitHeader?: string): Promise<{ https: Server; http: Server; close: () => void }> {
  const headers = Object.fromEntries(Object.entries(x.https.responseHeaders).filter(([name]) => name !== omitHeader));
  let port = 0;
  const https = createHttpsServer(await selfSignedCertificate(), (req: IncomingMessage, res: ServerResponse) => {
    res.removeHeader('server');
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    if (x.bodyLimit && Number(req.headers['content-length'] ?? 0) >= x.bodyLimit.overLimit) {
      res.writeHead(x.bodyLimit.status, { connection: 'close' }).end();
      return;
    }
    if (x.fixed && req.url === x.fixed.path) {
      res.writeHead(x.fixed.action.statusCode).end(x.fixed.action.body ?? '');
      return;
    }
    // A default action with target group stickiness sets AWSALBTG as well (the deployed ALB does).
    res.setHeader('set-cookie', x.defaultForward?.groupStickinessSeconds === undefined ? 'AWSALB=imitation; Path=/' : ['AWSALBTG=imitation; Path=/', 'AWSALB=imitation; Path=/']);
    res.writeHead(200).end('a target');
  });
  const http = createHttpServer((req, res) => res.writeHead(301, { location: `https://localhost:${port}${req.url}` }).end());
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
  port = (https.address() as AddressInfo).port;
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return { https, http, close: () => [https, http].forEach((s) => s.close()) };
}

function urls(servers: { https: Server; http: Server }): string[] {
  return ['--url', `https://localhost:${(servers.https.address() as AddressInfo).port}`, '--http-url', `http://localhost:${(servers.http.address() as AddressInfo).port}`, '--insecure'];
}

test('a server that behaves as the template says passes; the same server without one security header fails, exit 1', async () => {
  const good = await imitation();
  const bad = await imitation('X-Frame-Options');
  try {
    const [ok, wrong] = await Promise.all([conformance(urls(good)), conformance(urls(bad))]);
    expect(lines(ok, 'FAIL')).toEqual([]);
    expect(closing(ok)).toMatch(/^\d+ passed, 0 failed$/);
    expect(ok.status).toBe(0);
    expect(lines(wrong, 'FAIL')).toEqual([expect.stringMatching(/^FAIL {2}security headers .* missing or different: X-Frame-Options$/)]);
    expect(closing(wrong)).toBe(`${lines(wrong, 'PASS').length} passed, 1 failed`);
    expect(lines(wrong, 'PASS').length).toBe(lines(ok, 'PASS').length - 1);
    expect(wrong.status).toBe(1);
  } finally {
    good.close();
    bad.close();
  }
}, 60_000);

test('a --url that accepts connections and never answers: one line and exit 2 within --timeout', async () => {
  const sockets: Socket[] = [];
  const silent = createTcpServer((socket) => sockets.push(socket));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  try {
    const run = await conformance(['--url', `https://127.0.0.1:${(silent.address() as AddressInfo).port}`, '--timeout', '1'], 20_000);
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^conformance: https:\/\/127\.0\.0\.1:\d+ did not answer within 1 s \(.+\)$/)]);
    expect(run.stdout).toBe('');
    expect(run.status).toBe(2);
    // Node's start-up and the template read come on top of the 1 s bound; far below the 10 s default.
    expect(run.ms).toBeLessThan(8000);
  } finally {
    sockets.forEach((s) => s.destroy());
    silent.close();
  }
}, 30_000);

test('bad input: a --url that is not https, a --timeout of 0 and a template that does not exist, each give one line and exit 2', async () => {
  const notHttps = await conformance(['--url', 'http://example.com']);
  expect(notHttps.stderr.trim()).toBe('conformance: --url must be an https:// URL (got http://example.com)');
  expect(notHttps.status).toBe(2);
  const timeout = spawnSync(process.execPath, [CLI, '--timeout', '0'], { encoding: 'utf8' });
  expect(timeout.stderr.trim().split('\n')).toEqual([expect.stringContaining("'--timeout <seconds>' argument '0' is invalid. must be a number of seconds above 0 and at most 600")]);
  expect(timeout.status).toBe(2);
  const run = spawnSync(process.execPath, [CLI, '--template', '/nonexistent/t.json'], { encoding: 'utf8' });
  expect(run.stderr.trim()).toBe('conformance: cannot read the template /nonexistent/t.json (ENOENT); run `npx cdk synth` first');
  expect(run.status).toBe(2);
}, 30_000);
