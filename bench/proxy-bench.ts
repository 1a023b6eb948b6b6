/**
 * Throughput and latency of the local proxy against its peers, all in one run on loopback:
 * the backend alone, nginx (1 worker), HAProxy (1 thread), npm http-proxy, a bare node:http +
 * undici proxy with no features (the floor of what Node allows), and Albatross (undici
 * and node:http upstream clients, one process; and two workers when --workers is supported).
 *
 * Load comes from wrk (Debian package) in its own process. Every peer proxies plain HTTP to the
 * same keep-alive backends, so the comparison is proxy work only. A missing peer is skipped with a
 * note. Run: `npm run bench:proxy` (after `npm run build`). Options: `--seconds N`, `--connections N`, `--warm-up N`,
 * `--http2` (only the HTTP/2 row), `--floor-ab` (only Albatross against the floor and its two references, in blocks of fresh processes; `--ab-blocks N`, `--ab-seconds N`,
 * `--compare-build <checkout>` for another build as a fifth peer),
 * `--memory` (RSS of Albatross over 1M requests), `--idle-tls` (10k idle TLS connections: closed by the
 * handshake/header timeout, RSS back near its start), `--idle-connections N`.
 *
 * The web ACL row: Albatross (undici) again with the stack's default web ACL enforced (rate limits
 * raised to WAF's maximum, or wrk's one client IP would be blocked within a second and the row would
 * measure 403s); the two rows run in alternating rounds (`--waf-rounds`, 3) and the median ratio
 * is printed: it must stay at 0.9 or above. `--waf-only` runs just these two rows.
 *
 * The HTTP/2 row: h2load (Debian package nghttp2-client) over TLS against Albatross's HTTPS listener
 * and against nginx with `http2`, both forwarding HTTP/1.1 to the same backends.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { connect as netConnect, Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { RateLimitedWebAcl } from '../constructs/rate-limited-web-acl';
import { wafProps } from '../lib/stacks/construct-props';
import { DEFAULT_CONFIG } from '../lib/config';
import { selfSignedCertificate } from '../lib/proxy/tls';
import { freePort, waitForHttp } from '../lib/util/net';
import { geometricMean, median, medianInterval, medianRank, williamsOrder, williamsRounds } from './rounds';

// Runs from bench/ (tsx) or dist/bench/ (compiled).
const ROOT = basename(join(__dirname, '..')) === 'dist' ? join(__dirname, '..', '..') : join(__dirname, '..');
const args = process.argv.slice(2);
const textOption = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const option = (name: string, fallback: number): number => {
  const text = textOption(name);
  return text === undefined ? fallback : Number(text);
};
const SECONDS = option('seconds', 8);
const CONNECTIONS = option('connections', 64);
const WARM_UP_SECONDS = option('warm-up', 3);
const BACKENDS = 3;
const IDLE_CONNECTIONS = option('idle-connections', 10_000);
/** The floor A/B: this many blocks of fresh processes (--ab-blocks), rounds of this many seconds per peer (--ab-seconds). */
const AB_BLOCKS = option('ab-blocks', 6);
/**
 * Another build of Albatross as a fifth peer of the floor A/B (`--compare-build <checkout>`, its
 * `dist/` built and its own `node_modules` installed): whether a change made the proxy slower, in
 * the same blocks as everything else.
 */
const COMPARE_BUILD = textOption('compare-build');
const AB_SECONDS = option('ab-seconds', 3);
/** h2load: connections and concurrent streams per connection. */
const H2_CONNECTIONS = 16;
const H2_STREAMS = 10;
const work = mkdtempSync(join(tmpdir(), 'albatross-bench-'));
const children: ChildProcess[] = [];

interface Result {
  name: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

function start(command: string, argv: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(command, argv, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  child.stderr?.on('data', (d: Buffer) => {
    if (process.env.BENCH_DEBUG) process.stderr.write(d);
  });
  children.push(child);
  return child;
}

/** A minimal keep-alive backend in its own process: the same for every peer. */
const BACKEND_SOURCE = `
const http = require('node:http');
const body = Buffer.from('{"ok":true}');
http.createServer((req, res) => {
  req.resume();
  req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }); res.end(body); });
}).listen(Number(process.argv[2]), '127.0.0.1').keepAliveTimeout = 120000;
`;

function wrk(port: number, seconds = SECONDS): Result & { requests: number } {
  const out = spawnSync('wrk', ['-t', '1', '-c', String(CONNECTIONS), '-d', `${seconds}s`, '--latency', `http://127.0.0.1:${port}/bench`], { encoding: 'utf8' }).stdout;
  const ms = (label: string): number => {
    const m = new RegExp(`${label}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    if (!m) return NaN;
    return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
  };
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    name: '',
    requestsPerSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN),
    requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN),
    p50Ms: ms('50'),
    p99Ms: ms('99'),
    errors: Number(non2xx?.[1] ?? 0) + (socketErrors ? socketErrors.slice(1).map(Number).reduce((a, b) => a + b, 0) : 0),
  };
}

/** h2load over TLS (ALPN h2) for SECONDS after a warm-up; requests per second. */
function h2load(port: number): Result {
  const argv = ['-t', '1', '-c', String(H2_CONNECTIONS), '-m', String(H2_STREAMS), '-D', String(SECONDS), '--warm-up-time', String(WARM_UP_SECONDS), `https://127.0.0.1:${port}/bench`];
  const out = spawnSync('h2load', argv, { encoding: 'utf8' }).stdout;
  if (!/Application protocol: h2/.test(out)) throw new Error(`h2load did not negotiate h2: ${out.split('\n').slice(-4).join(' ')}`);
  const failed = /requests: \d+ total, \d+ started, \d+ done, \d+ succeeded, (\d+) failed, (\d+) errored/.exec(out);
  const latency = /time for request:\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)/.exec(out);
  const toMs = (v: string, unit: string) => Number(v) * (unit === 'us' ? 0.001 : unit === 's' ? 1000 : 1);
  return {
    name: '',
    requestsPerSecond: Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out)?.[1] ?? NaN),
    // h2load prints min, max and mean (no percentiles): mean in p50's column, max in p99's.
    p50Ms: latency ? toMs(latency[5], latency[6]) : NaN,
    p99Ms: latency ? toMs(latency[3], latency[4]) : NaN,
    errors: failed ? Number(failed[1]) + Number(failed[2]) : NaN,
  };
}

/** nginx terminating TLS with HTTP/2 (1.22 spells it `listen … ssl http2`; 1.25+ has `http2 on`). */
function nginxH2Config(port: number, backends: number[]): string {
  return nginxConfig(port, backends).replace(`listen 127.0.0.1:${port};`, `listen 127.0.0.1:${port} ssl http2; ssl_certificate ${work}/cert.pem; ssl_certificate_key ${work}/key.pem; ssl_protocols TLSv1.2 TLSv1.3;`);
}

/**
 * nginx closes a client connection after 1000 requests by default (`keepalive_requests`, which
 * also covers HTTP/2 since 1.19.7). h2load does not reconnect, so its 16 connections ran dry
 * during the warm-up and the HTTP/2 row measured 0 req/s; wrk reconnected at a cost the other
 * peers do not pay. The limit is lifted, as for every other peer.
 */
function nginxConfig(port: number, backends: number[]): string {
  return `worker_processes 1; daemon off; pid ${work}/nginx.pid; error_log ${work}/nginx.err warn;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 10000000; upstream app { ${backends.map((b) => `server 127.0.0.1:${b};`).join(' ')} keepalive 64; }
  client_body_temp_path ${work}/nginx-body; proxy_temp_path ${work}/nginx-proxy; fastcgi_temp_path ${work}/nginx-fcgi; uwsgi_temp_path ${work}/nginx-uwsgi; scgi_temp_path ${work}/nginx-scgi;
  server { listen 127.0.0.1:${port}; location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; } } }`;
}

function haproxyConfig(port: number, backends: number[]): string {
  return `global
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option forwardfor
  http-reuse always
frontend fe
  bind 127.0.0.1:${port}
  default_backend be
backend be
  balance roundrobin
${backends.map((b, i) => `  server s${i} 127.0.0.1:${b}`).join('\n')}
`;
}

const HTTP_PROXY_SOURCE = `
const http = require('node:http');
const httpProxy = require('http-proxy');
const targets = process.argv[3].split(',');
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const proxy = httpProxy.createProxyServer({ agent, xfwd: true });
proxy.on('error', (e, req, res) => { res.writeHead(502); res.end(); });
let i = 0;
http.createServer((req, res) => proxy.web(req, res, { target: 'http://' + targets[i++ % targets.length] })).listen(Number(process.argv[2]), '127.0.0.1');
`;

/**
 * The floor of what Node allows here: node:http server + undici Pool per backend, round robin,
 * nothing else (no rules, headers, health, metrics or logs). Albatross's distance to it is the cost
 * of its features; the distance from it to nginx is Node's.
 */
const BARE_NODE_SOURCE = `
const http = require('node:http');
const { Pool } = require('undici');
const pools = process.argv[3].split(',').map((t) => new Pool('http://' + t, { connections: 256, pipelining: 1 }));
let i = 0;
http.createServer((req, res) => {
  const pool = pools[i++ % pools.length];
  pool.stream({ method: req.method, path: req.url, headers: req.headers, body: null }, ({ statusCode, headers }) => {
    res.writeHead(statusCode, headers);
    return res;
  }).catch(() => { if (!res.headersSent) res.writeHead(502); res.end(); });
}).listen(Number(process.argv[2]), '127.0.0.1');
`;

/** The highest Limit a WAF rate-based rule accepts. */
const WAF_MAX_RATE_LIMIT = 2_000_000_000;
/** The WAF row's ratio to the row without the web ACL must stay at or above this (issue 13). */
const WAF_MIN_RATIO = 0.9;
/** Alternating rounds of the rows with and without the web ACL (`--waf-rounds N`). */
const WAF_ROUNDS = option('waf-rounds', 3);

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;
let webAclResources: Resources | undefined;

/** The web ACL and its association as the stack synthesizes them for the default config, on the bench's load balancer. */
function defaultWebAclResources(): Resources {
  if (webAclResources) return webAclResources;
  const stack = new Stack(new App(), 'BenchWaf');
  const w = DEFAULT_CONFIG.waf;
  const settings = { ...w, generalRateLimit: { ...w.generalRateLimit, limit: WAF_MAX_RATE_LIMIT }, rateLimits: w.rateLimits.map((l) => ({ ...l, limit: WAF_MAX_RATE_LIMIT })) };
  // Replaced by a Ref to the bench's load balancer below; an ARN-shaped placeholder keeps synth's validation quiet.
  new RateLimitedWebAcl(stack, 'Waf', { ...wafProps(settings), loadBalancerArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/bench/0123456789abcdef' });
  const resources = Template.fromStack(stack).toJSON().Resources as Resources;
  for (const r of Object.values(resources)) if (r.Type === 'AWS::WAFv2::WebACLAssociation') r.Properties.ResourceArn = { Ref: 'Lb' };
  webAclResources = resources;
  return resources;
}

/**
 * How the bench's Albatross checks its targets' health. `rehearsal`: the template's default
 * checks (30 s, healthy after 5) at `--time-scale 0.02`, healthy within seconds but checking each
 * target almost twice a second. `real`: the ALB's shortest interval (5 s, timeout 2 s, healthy after 2) in real
 * time, for the floor A/B, where the rehearsal's 5 checks a second (each a new connection) were
 * about half a percent of the proxy's CPU per request in a CPU profile.
 */
type HealthCheckTiming = 'rehearsal' | 'real';

const REAL_TIME_HEALTH_CHECKS = { HealthCheckIntervalSeconds: 5, HealthCheckTimeoutSeconds: 2, HealthyThresholdCount: 2 } as const;

/** A template with one plain-HTTP listener forwarding to one round-robin group (TLS left out of every peer). */
function benchTemplate(withWebAcl = false, timing: HealthCheckTiming = 'rehearsal'): string {
  const template = {
    Resources: {
      ...(withWebAcl ? defaultWebAclResources() : {}),
      Lb: { Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer', Properties: { Type: 'application' } },
      Tg: {
        Type: 'AWS::ElasticLoadBalancingV2::TargetGroup',
        Properties: {
          Port: 80,
          Protocol: 'HTTP',
          HealthCheckPath: '/bench',
          ...(timing === 'real' ? REAL_TIME_HEALTH_CHECKS : {}),
          Tags: [{ Key: 'albatross:target-group', Value: 'app' }],
        },
      },
      Http: {
        Type: 'AWS::ElasticLoadBalancingV2::Listener',
        Properties: { LoadBalancerArn: { Ref: 'Lb' }, Port: 80, Protocol: 'HTTP', DefaultActions: [{ Type: 'forward', TargetGroupArn: { Ref: 'Tg' } }] },
      },
      // The HTTPS listener (HTTP/2 on, the ALB default) for the h2load row and the idle-TLS mode.
      Https: {
        Type: 'AWS::ElasticLoadBalancingV2::Listener',
        Properties: {
          LoadBalancerArn: { Ref: 'Lb' },
          Port: 443,
          Protocol: 'HTTPS',
          SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
          DefaultActions: [{ Type: 'forward', TargetGroupArn: { Ref: 'Tg' } }],
        },
      },
    },
  };
  const file = join(work, `${withWebAcl ? 'bench-waf' : 'bench'}${timing === 'real' ? '-real-health' : ''}.template.json`);
  writeFileSync(file, JSON.stringify(template));
  return file;
}

async function albatross(
  backends: number[],
  extra: string[],
  withWebAcl = false,
  env: NodeJS.ProcessEnv = {},
  timing: HealthCheckTiming = 'rehearsal',
  checkout = ROOT,
): Promise<{ port: number; tlsPort: number; child: ChildProcess }> {
  const port = await freePort();
  const tlsPort = await freePort();
  const adminPort = await freePort();
  const child = start(process.execPath, [
    join(checkout, 'dist', 'bin', 'proxy.js'),
    '--template', benchTemplate(withWebAcl, timing),
    '--targets', `app=${backends.map((b) => `127.0.0.1:${b}`).join(',')}`,
    '--listen', `80=${port}`,
    '--listen', `443=${tlsPort}`,
    '--cert', join(work, 'cert.pem'),
    '--key', join(work, 'key.pem'),
    '--admin-port', String(adminPort),
    '--log-level', 'silent',
    ...(timing === 'rehearsal' ? ['--time-scale', '0.02'] : []), // the template's default health checks (30 s, threshold 5) would take minutes
    ...extra,
  ], env);
  await waitForHttp(`http://127.0.0.1:${adminPort}/healthz`);
  // Wait until the targets are healthy, so no request meets the fail-open start.
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    const report = (await (await fetch(`http://127.0.0.1:${adminPort}/targets`)).json()) as { targetGroups: { targets: { state: string }[] }[] };
    if (report.targetGroups[0].targets.every((t) => t.state === 'healthy')) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  return { port, tlsPort, child };
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function measure(name: string, run: () => Promise<{ port: number; child?: ChildProcess }>): Promise<Result | undefined> {
  try {
    const { port, child } = await run();
    await waitForHttp(`http://127.0.0.1:${port}/bench`);
    // Warm-up, the same for every peer: JIT tiers and connection pools. Node peers are still
    // compiling in their first second (Albatross: ~40 % of its steady rate), so 1 s was not enough.
    wrk(port, WARM_UP_SECONDS);
    const result = { ...wrk(port), name };
    console.error(`  ${name}: ${result.requestsPerSecond.toFixed(0)} req/s`);
    if (child) await stop(child);
    return result;
  } catch (error) {
    console.error(`  ${name}: skipped (${(error as Error).message})`);
    return undefined;
  }
}

async function http2Rows(backends: number[]): Promise<void> {
  if (!has('h2load')) return void console.log('\nHTTP/2 row skipped: h2load is not installed (apt-get install -y nghttp2-client)');
  const measureH2 = async (name: string, run: () => Promise<{ port: number; child: ChildProcess }>): Promise<Result | undefined> => {
    try {
      const { port, child } = await run();
      const result = { ...h2load(port), name };
      console.error(`  ${name}: ${result.requestsPerSecond.toFixed(0)} req/s`);
      await stop(child);
      return result;
    } catch (error) {
      console.error(`  ${name}: skipped (${(error as Error).message})`);
      return undefined;
    }
  };
  const nginx = await measureH2('nginx (1 worker, http2)', async () => {
    if (!has('nginx')) throw new Error('nginx not installed');
    const port = await freePort();
    writeFileSync(join(work, 'nginx-h2.conf'), nginxH2Config(port, backends));
    const child = start('nginx', ['-c', join(work, 'nginx-h2.conf'), '-p', work]);
    await new Promise((r) => setTimeout(r, 500));
    return { port, child };
  });
  const ours = await measureH2('Albatross (undici, HTTPS listener)', async () => {
    const { tlsPort, child } = await albatross(backends, ['--upstream-client', 'undici']);
    return { port: tlsPort, child };
  });
  console.log(`\nHTTP/2: h2load -t1 -c${H2_CONNECTIONS} -m${H2_STREAMS} -D ${SECONDS} over TLS after a ${WARM_UP_SECONDS} s warm-up, HTTP/1.1 to the same ${BACKENDS} backends (latency: mean | max)\n`);
  console.log('| peer | req/s | mean ms | max ms | errors | vs nginx h2 |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of [nginx, ours]) {
    if (r) console.log(`| ${r.name} | ${r.requestsPerSecond.toFixed(0)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.errors} | ${nginx ? `${(r.requestsPerSecond / nginx.requestsPerSecond).toFixed(2)}x` : 'n/a'} |`);
  }
}

/** Opens one connection that stays idle: a raw TCP socket, or a TLS socket that completes its handshake. */
function idleConnection(port: number, handshake: boolean, onClose: () => void): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = handshake ? tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }) : netConnect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    // Read, or a paused socket never sees the proxy's FIN and the close goes uncounted.
    socket.resume();
    socket.once('close', onClose);
    socket.once(handshake ? 'secureConnect' : 'connect', () => resolve(socket));
    socket.once('close', () => resolve(socket));
  });
}

/**
 * 10k idle connections to the HTTPS listener, half of them silent TCP (they never start a
 * handshake), half completing the handshake and sending no request. The proxy must close all of
 * them after its header timeout (10 s) and RSS must come back within 20 % of where it started.
 * Run once with the system allocator (glibc malloc) and, when it is installed, once with jemalloc
 * (Debian package libjemalloc2) preloaded: glibc keeps the freed native TLS memory (docs/proxy.md, "Where it differs from the ALB").
 */
async function idleTlsRun(backends: number[]): Promise<void> {
  const rows = [await idleTlsRound(backends, 'glibc malloc', {})];
  const jemalloc = JEMALLOC_PATHS.find((path) => existsSync(path));
  if (jemalloc) rows.push(await idleTlsRound(backends, `jemalloc (LD_PRELOAD, MALLOC_CONF=${JEMALLOC_CONF})`, { LD_PRELOAD: jemalloc, MALLOC_CONF: JEMALLOC_CONF }));
  else console.error('  jemalloc row skipped: libjemalloc2 not installed');
  console.log(`\n${IDLE_CONNECTIONS} idle connections to the HTTPS listener (half silent TCP, half after a completed handshake)`);
  console.log('| allocator | RSS before MiB | open at once | RSS with connections MiB | closed by the proxy | all closed after s | RSS after MiB | after / before |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) console.log(row);
}

/**
 * The MALLOC_CONF the container image runs the proxy with (its Dockerfile's ENV), so that this row
 * measures the image's allocator: freed pages returned after 1 s (10 s by default) from a
 * background thread.
 */
const JEMALLOC_CONF = imageMallocConf();

function imageMallocConf(): string {
  const conf = /^ENV .*\bMALLOC_CONF=(\S+)/m.exec(readFileSync(join(__dirname, '..', 'Dockerfile'), 'utf8'))?.[1];
  if (conf === undefined) throw new Error('the Dockerfile sets no MALLOC_CONF for the jemalloc row to use');
  return conf;
}

/** Where Debian's libjemalloc2 puts the library (amd64, arm64). */
const JEMALLOC_PATHS = ['/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2'];

/** One idle-TLS measurement; returns its table row. */
async function idleTlsRound(backends: number[], allocator: string, env: NodeJS.ProcessEnv): Promise<string> {
  const { tlsPort, child } = await albatross(backends, [], false, env);
  const rss = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
  // A few requests first, so the start figure includes a warmed-up HTTPS listener.
  spawnSync('h2load', ['-n', '2000', '-c', '4', `https://127.0.0.1:${tlsPort}/bench`]);
  const startRss = rss();
  let closed = 0;
  const started = Date.now();
  const sockets: Socket[] = [];
  for (let i = 0; i < IDLE_CONNECTIONS; i += 100) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, IDLE_CONNECTIONS - i) }, (_, j) => idleConnection(tlsPort, (i + j) % 2 === 1, () => closed++)))));
  }
  const openedMs = Date.now() - started;
  const peakRss = rss();
  // On a loaded machine opening takes longer than the header timeout: the first are closed by then.
  const openAtPeak = sockets.length - closed;
  console.error(`  ${sockets.length} connections opened in ${openedMs} ms (${openAtPeak} still open), RSS ${peakRss.toFixed(1)} MiB`);
  const deadline = Date.now() + 60_000;
  while (closed < sockets.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  const allClosedS = (Date.now() - started) / 1000;
  const closedByProxy = closed;
  for (const s of sockets) s.destroy();
  // Let the proxy release memory after the burst (2 s without a close, memory-release.ts) and its allocator settle.
  await new Promise((r) => setTimeout(r, 5000));
  const endRss = rss();
  const ratio = endRss / startRss;
  await stop(child);
  return `| ${allocator} | ${startRss.toFixed(1)} | ${openAtPeak} | ${peakRss.toFixed(1)} | ${closedByProxy} of ${sockets.length} | ${allClosedS.toFixed(1)} | ${endRss.toFixed(1)} | ${ratio.toFixed(2)} (${ratio <= 1.2 ? 'within' : 'NOT within'} 20 %) |`;
}

/**
 * The floor with the request headers the ALB adds to every request (X-Forwarded-For, -Proto,
 * -Port, X-Amzn-Trace-Id, Host less the listener's port), made by Albatross's own
 * `upstreamRequestHeaders`: what those headers cost in Node (in this process, in undici and in the
 * target that parses them), apart from everything else Albatross does.
 */
const FLOOR_WITH_ALB_HEADERS_SOURCE = replaceOnce(
  replaceOnce(BARE_NODE_SOURCE, "const { Pool } = require('undici');", "const { Pool } = require('undici');\nconst { upstreamRequestHeaders } = require(process.argv[4]);"),
  'headers: req.headers,',
  "headers: upstreamRequestHeaders(req.headers, { sourceIp: req.socket.remoteAddress, protocol: 'http', listenerPort: 80, loadBalancerHost: '' }),",
);

/** `source` with `from` replaced; throws when `from` is not in it (an edit of the floor would otherwise go unnoticed). */
function replaceOnce(source: string, from: string, to: string): string {
  if (!source.includes(from)) throw new Error(`bench source has no ${JSON.stringify(from)}`);
  return source.replace(from, to);
}

/** One peer of the floor A/B: a name, its port and its process. */
interface FloorPeer {
  readonly name: string;
  readonly port: number;
  readonly child: ChildProcess;
}

/** What one peer did in one round: its rate, and the CPU time its process spent per request. */
interface PeerRound {
  readonly requestsPerSecond: number;
  readonly cpuUsPerRequest: number;
  readonly errors: number;
}

/** Starts one of the floor scripts in `work` on a free port, once it answers. */
async function startFloor(script: string, backends: number[], extra: string[] = []): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = start(process.execPath, [join(work, script), String(port), backends.map((b) => `127.0.0.1:${b}`).join(','), ...extra], { NODE_PATH: join(ROOT, 'node_modules') });
  await waitForHttp(`http://127.0.0.1:${port}/bench`);
  return { port, child };
}

/** A peer of the floor A/B and how to start a fresh process of it. */
interface FloorPeerKind {
  readonly name: string;
  start(): Promise<{ port: number; child: ChildProcess }>;
}

/** The floor A/B's peers: the bare floor first (every ratio is against it). */
function floorPeerKinds(backends: number[]): FloorPeerKind[] {
  writeFileSync(join(work, 'floor-alb-headers.js'), FLOOR_WITH_ALB_HEADERS_SOURCE);
  const headersModule = join(ROOT, 'dist', 'lib', 'proxy', 'headers.js');
  return [
    { name: 'bare floor', start: () => startFloor('bare-node.js', backends) },
    { name: 'bare floor, second instance (noise)', start: () => startFloor('bare-node.js', backends) },
    { name: 'floor + the ALB request headers', start: () => startFloor('floor-alb-headers.js', backends, [headersModule]) },
    albatrossPeer('Albatross (undici)', backends, ROOT),
    ...(COMPARE_BUILD === undefined ? [] : [albatrossPeer(`Albatross at ${COMPARE_BUILD}`, backends, COMPARE_BUILD)]),
  ];
}

/** Albatross of a checkout, with the undici upstream client and real-time health checks. */
function albatrossPeer(name: string, backends: number[], checkout: string): FloorPeerKind {
  const entry = join(checkout, 'dist', 'bin', 'proxy.js');
  if (!existsSync(entry)) throw new Error(`${name}: no ${entry} (build that checkout first: npm ci && npm run build)`);
  return {
    name,
    start: async () => {
      const ours = await albatross(backends, ['--upstream-client', 'undici'], false, {}, 'real', checkout);
      await waitForHttp(`http://127.0.0.1:${ours.port}/bench`);
      return { port: ours.port, child: ours.child };
    },
  };
}

function floorRound(peer: FloorPeer): PeerRound {
  const cpuBefore = cpuSeconds(peer.child);
  const result = wrk(peer.port, AB_SECONDS);
  return { requestsPerSecond: result.requestsPerSecond, cpuUsPerRequest: ((cpuSeconds(peer.child) - cpuBefore) * 1e6) / result.requests, errors: result.errors };
}

/**
 * One block of the floor A/B: a fresh process of every peer (started in an order that changes
 * from block to block), each warmed up, then the rounds of one Williams design (williamsRounds),
 * then the processes stopped. Returns the block's rounds, each with every peer's figures in the
 * order of `kinds`.
 */
async function floorAbBlock(kinds: FloorPeerKind[], block: number): Promise<PeerRound[][]> {
  const peers = new Array<FloorPeer>(kinds.length);
  for (const k of williamsOrder(kinds.length, block)) peers[k] = { name: kinds[k].name, ...(await kinds[k].start()) };
  for (const peer of peers) wrk(peer.port, WARM_UP_SECONDS);
  const rounds: PeerRound[][] = [];
  for (let i = 0; i < williamsRounds(peers.length); i++) {
    const measured = new Array<PeerRound>(peers.length);
    for (const k of williamsOrder(peers.length, i)) measured[k] = floorRound(peers[k]);
    rounds.push(measured);
    console.error(`  block ${block + 1}, round ${i + 1}: ${peers.map((p, k) => `${p.name} ${measured[k].requestsPerSecond.toFixed(0)} req/s ${measured[k].cpuUsPerRequest.toFixed(0)} CPU us/req`).join(', ')}`);
  }
  for (const peer of peers) await stop(peer.child);
  return rounds;
}

/**
 * Albatross against the bare floor in blocks of fresh processes. A process keeps part of its
 * speed for its lifetime: one 12-round run of one set had a second bare floor at 1.20x (1.11-1.29)
 * the first, and over blocks the second floor's ratio varies more than its rounds allow (about
 * 4 % between processes of identical code; README). Rounds of one set of processes measure those
 * processes, so the unit here is the block: fresh processes of every peer, one Williams design of
 * rounds (each peer once per round, in each position and right after each other peer equally
 * often; a drift in machine load falls on all alike), then stopped. Per round each peer's rate is divided by the bare floor's of that round;
 * a block's ratio is the geometric mean of its rounds'. The table gives the median of the blocks'
 * ratios and a distribution-free interval of it (medianRank: 97 % for 6 blocks). Two reference
 * peers say what the ratios can mean:
 * - a second bare floor, the same code as the first: its ratio is this machine's noise;
 * - the floor with the ALB's request headers: the share of the gap those headers account for.
 */
async function floorAbBlocks(backends: number[]): Promise<void> {
  const kinds = floorPeerKinds(backends);
  const blocks: PeerRound[][][] = [];
  for (let b = 0; b < AB_BLOCKS; b++) blocks.push(await floorAbBlock(kinds, b));
  const blockRatios = (k: number, figure: (peer: PeerRound, floor: PeerRound) => number): number[] => blocks.map((rounds) => geometricMean(rounds.map((r) => figure(r[k], r[0]))));
  const summary = (values: number[]): string => {
    const ci = medianInterval(values);
    return `${median(values).toFixed(2)}x (${ci.low.toFixed(2)}-${ci.high.toFixed(2)})`;
  };
  const { coverage } = medianRank(AB_BLOCKS);
  console.log(
    `\nAlbatross (undici) vs the bare node floor: ${AB_BLOCKS} blocks of fresh processes, each a Williams design of ${williamsRounds(kinds.length)} rounds of wrk -t1 -c${CONNECTIONS} -d${AB_SECONDS}s per peer after a ${WARM_UP_SECONDS} s warm-up of each. ` +
      `Ratios are per round against the bare floor, a block's the geometric mean of its rounds'; the median over blocks, in brackets its ${(coverage * 100).toFixed(0)} % interval.\n`,
  );
  console.log('| peer | req/s (median of rounds) | req/s / bare floor | bare floor CPU per request / peer CPU per request | per block (req/s ratio) | errors |');
  console.log('| --- | ---: | ---: | ---: | --- | ---: |');
  kinds.forEach((kind, k) => {
    const mine = blocks.flat().map((r) => r[k]);
    const rates = blockRatios(k, (peer, floor) => peer.requestsPerSecond / floor.requestsPerSecond);
    const rate = k === 0 ? '1.00x' : summary(rates);
    const cpu = k === 0 ? '1.00x' : summary(blockRatios(k, (peer, floor) => floor.cpuUsPerRequest / peer.cpuUsPerRequest));
    const perBlock = k === 0 ? '' : rates.map((v) => v.toFixed(2)).join(', ');
    console.log(`| ${kind.name} | ${median(mine.map((r) => r.requestsPerSecond)).toFixed(0)} | ${rate} | ${cpu} | ${perBlock} | ${mine.reduce((n, r) => n + r.errors, 0)} |`);
  });
}

/**
 * User + system CPU seconds of a child process so far (/proc/<pid>/stat, in clock ticks of 1/100 s
 * on Linux). CPU per request is what the proxy costs, and unlike req/s it barely moves when other
 * processes take the cores: on a shared machine it is the steadier of the two measures.
 */
function cpuSeconds(child: ChildProcess): number {
  const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function table(results: Result[]): void {
  const byName = (n: string) => results.find((r) => r.name === n);
  const httpProxy = byName('http-proxy');
  const nginx = byName('nginx (1 worker)');
  const floor = results.find((r) => r.name.startsWith('bare node floor'));
  const ratio = (r: Result, peer?: Result) => (peer ? `${(r.requestsPerSecond / peer.requestsPerSecond).toFixed(2)}x` : 'n/a');
  console.log(`\nwrk -t1 -c${CONNECTIONS} -d${SECONDS}s after a ${WARM_UP_SECONDS} s warm-up, ${BACKENDS} keep-alive backends, node ${process.version}\n`);
  console.log('| peer | req/s | p50 ms | p99 ms | errors | vs http-proxy | vs nginx | vs bare node |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    console.log(`| ${r.name} | ${r.requestsPerSecond.toFixed(0)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.errors} | ${ratio(r, httpProxy)} | ${ratio(r, nginx)} | ${ratio(r, floor)} |`);
  }
}

async function memoryRun(backends: number[]): Promise<void> {
  const { port, child } = await albatross(backends, []);
  const rss = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
  // wrk runs synchronously, so RSS is sampled between 10 s chunks.
  const samples: { requests: number; rssMiB: number }[] = [{ requests: 0, rssMiB: rss() }];
  let total = 0;
  while (total < 1_000_000) {
    total += wrk(port, 10).requests;
    samples.push({ requests: total, rssMiB: rss() });
    console.error(`  ${total} requests, RSS ${samples[samples.length - 1].rssMiB.toFixed(1)} MiB`);
  }
  const afterWarmUp = samples[1];
  const last = samples[samples.length - 1];
  console.log(`\nRSS: idle ${samples[0].rssMiB.toFixed(1)} MiB; after ${afterWarmUp.requests} requests ${afterWarmUp.rssMiB.toFixed(1)} MiB; after ${last.requests} requests ${last.rssMiB.toFixed(1)} MiB (growth after warm-up ${(last.rssMiB - afterWarmUp.rssMiB).toFixed(1)} MiB); peak ${Math.max(...samples.map((s) => s.rssMiB)).toFixed(1)} MiB`);
  await stop(child);
}

/** The peers and the other Albatross rows, in order. */
async function peers(results: (Result | undefined)[], backends: number[]): Promise<void> {
  results.push(await measure('backend direct', async () => ({ port: backends[0] })));
  results.push(
    await measure('nginx (1 worker)', async () => {
      if (!has('nginx')) throw new Error('nginx not installed');
      const port = await freePort();
      writeFileSync(join(work, 'nginx.conf'), nginxConfig(port, backends));
      return { port, child: start('nginx', ['-c', join(work, 'nginx.conf'), '-p', work]) };
    }),
  );
  results.push(
    await measure('HAProxy (1 thread)', async () => {
      if (!has('haproxy')) throw new Error('haproxy not installed');
      const port = await freePort();
      writeFileSync(join(work, 'haproxy.cfg'), haproxyConfig(port, backends));
      return { port, child: start('haproxy', ['-f', join(work, 'haproxy.cfg')]) };
    }),
  );
  results.push(
    await measure('http-proxy', async () => {
      const port = await freePort();
      return { port, child: start(process.execPath, [join(work, 'http-proxy.js'), String(port), backends.map((b) => `127.0.0.1:${b}`).join(',')], { NODE_PATH: join(ROOT, 'node_modules') }) };
    }),
  );
  results.push(
    await measure('bare node floor (http + undici, no features)', async () => {
      const port = await freePort();
      return { port, child: start(process.execPath, [join(work, 'bare-node.js'), String(port), backends.map((b) => `127.0.0.1:${b}`).join(',')], { NODE_PATH: join(ROOT, 'node_modules') }) };
    }),
  );
}

async function main(): Promise<void> {
  if (!has('wrk')) throw new Error('wrk is not installed: apt-get install -y wrk');
  writeFileSync(join(work, 'backend.js'), BACKEND_SOURCE);
  writeFileSync(join(work, 'http-proxy.js'), HTTP_PROXY_SOURCE);
  writeFileSync(join(work, 'bare-node.js'), BARE_NODE_SOURCE);
  const tls = await selfSignedCertificate();
  writeFileSync(join(work, 'cert.pem'), tls.cert);
  writeFileSync(join(work, 'key.pem'), tls.key);
  const backends = await Promise.all(Array.from({ length: BACKENDS }, () => freePort()));
  for (const port of backends) start(process.execPath, [join(work, 'backend.js'), String(port)]);
  await Promise.all(backends.map((p) => waitForHttp(`http://127.0.0.1:${p}/`)));
  if (args.includes('--memory')) return memoryRun(backends);
  if (args.includes('--idle-tls')) return idleTlsRun(backends);
  if (args.includes('--floor-ab')) return floorAbBlocks(backends);
  if (args.includes('--http2')) return http2Rows(backends);

  const results: (Result | undefined)[] = [];
  const wafOnly = args.includes('--waf-only');
  if (!wafOnly) await peers(results, backends);
  // The web ACL's cost is a few percent at most: measured in alternating rounds, so that load from
  // elsewhere on the machine falls on both rows alike; the rows show the median round.
  const rounds: { plain?: Result; waf?: Result }[] = [];
  for (let i = 0; i < WAF_ROUNDS; i++) {
    const plain = await measure('Albatross (undici)', () => albatross(backends, ['--upstream-client', 'undici']));
    const waf = await measure('Albatross (undici, default web ACL)', () => albatross(backends, ['--upstream-client', 'undici'], true));
    rounds.push({ plain, waf });
  }
  const complete = rounds.filter((r): r is { plain: Result; waf: Result } => r.plain !== undefined && r.waf !== undefined);
  const ratios = complete.map((r) => r.waf.requestsPerSecond / r.plain.requestsPerSecond);
  // The middle item itself (the upper one of an even count), not rounds.ts's median of numbers: a whole row is kept.
  const middleBy = <T>(items: T[], by: (t: T) => number): T | undefined => [...items].sort((a, b) => by(a) - by(b))[Math.floor(items.length / 2)];
  const plain = middleBy(complete.map((r) => r.plain), (r) => r.requestsPerSecond);
  const waf = middleBy(complete.map((r) => r.waf), (r) => r.requestsPerSecond);
  results.push(plain, waf);
  if (!wafOnly) {
    results.push(await measure('Albatross (node:http)', () => albatross(backends, ['--upstream-client', 'http'])));
    results.push(await measure('Albatross (2 workers)', () => albatross(backends, ['--workers', '2'])));
  }
  table(results.filter((r): r is Result => r !== undefined));
  const ratio = middleBy(ratios, (r) => r);
  if (ratio !== undefined) {
    console.log(`\nweb ACL row / row without it, per round: ${ratios.map((r) => `${r.toFixed(2)}x`).join(', ')}; median ${ratio.toFixed(2)}x (${ratio >= WAF_MIN_RATIO ? 'at or above' : 'BELOW'} ${WAF_MIN_RATIO}x)`);
  }
  if (!wafOnly) {
    await floorAbBlocks(backends);
    await http2Rows(backends);
  }
}

main()
  .catch((error: Error) => {
    console.error(`bench failed: ${error.message}`);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  });
