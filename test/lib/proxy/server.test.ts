/**
 * The proxy's network layer over real sockets on loopback, running the load balancer of the
 * synthesized stack against real backend servers.
 */
import { createServer, IncomingMessage, request as httpRequest, Server, ServerResponse } from 'node:http';
import { get as httpsGet } from 'node:https';
import { AddressInfo } from 'node:net';
import pino from 'pino';
import { request } from 'undici';
import { WebSocketServer } from 'ws';
import { createLoadBalancerRuntime } from '../../../lib/proxy/runtime';
import { RunningProxy, startProxyServer } from '../../../lib/proxy/server';
import { selfSignedCertificate } from '../../../lib/proxy/tls';
import { LoadBalancerModel, TargetsReport } from '../../../lib/proxy/model';
import { defaultGroup, examplePath, fixedResponseRule, httpsListener } from '../../../lib/proxy/model-lookup';
import { get, insecure, oneDefaultGroupModel, raw, webSocketRoundTrip } from './support/proxy';

// Everything the assertions expect (group names, paths, headers, fixed answers) is read from the
// model of the synthesized stack: one source of truth. Its default action forwards to one service
// here (support/proxy.ts, oneDefaultGroupModel): the backends below serve that one.
const model: LoadBalancerModel = oneDefaultGroupModel({ loadBalancer: { idleTimeoutSeconds: 1 } });
const listener = httpsListener(model);
const APP = defaultGroup(model);
/** The forward rules' groups and a path each matches: the first gets the WebSocket target, the second none. */
const forwards = listener.rules.flatMap((r) => {
  const pattern = r.conditions.find((c) => c.field === 'path-pattern')?.values[0];
  return r.action.type === 'forward' && typeof pattern === 'string' ? [{ group: model.targetGroups[r.action.targetGroups[0].targetGroup].name, path: examplePath(pattern) }] : [];
});
const [WS, EMPTY] = forwards;
const maintenance = fixedResponseRule(model);

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A backend whose behaviour a test can swap; answers /health with 200 always. */
async function backend(name: string): Promise<{ server: Server; port: number; name: string; handler: { current: Handler } }> {
  const handler: { current: Handler } = {
    current: (req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json', server: 'backend' });
        res.end(JSON.stringify({ name, url: req.url, headers: req.headers }));
      });
    },
  };
  const server = createServer((req, res) => {
    if (req.url === '/health') return void res.end('ok');
    handler.current(req, res);
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, name, handler };
}

let proxy: RunningProxy;
let backends: Awaited<ReturnType<typeof backend>>[];
let wss: WebSocketServer;
let wsPort: number;
let https: string;
let http: string;
let admin: string;

beforeAll(async () => {
  backends = await Promise.all(['b1', 'b2'].map(backend));
  wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  wss.on('connection', (socket) => socket.on('message', (message) => socket.send(`echo:${message.toString()}`)));
  await new Promise<void>((resolve) => wss.on('listening', () => resolve()));
  wsPort = (wss.address() as AddressInfo).port;
  const runtime = createLoadBalancerRuntime(
    model,
    { [APP]: backends.map((b) => ({ host: '127.0.0.1', port: b.port })), [WS.group]: [{ host: '127.0.0.1', port: wsPort }] },
    { timeScale: 0.01 },
  );
  proxy = await startProxyServer({ runtime, ports: { 80: 0, 443: 0 }, adminPort: 0, tls: await selfSignedCertificate(), headersTimeoutMs: 500, log: pino({ level: 'silent' }) });
  https = `https://localhost:${proxy.ports[443]}`;
  http = `http://localhost:${proxy.ports[80]}`;
  admin = `http://127.0.0.1:${proxy.adminPort}`;
});

afterAll(async () => {
  await proxy.close();
  for (const b of backends) b.server.close();
  wss.close();
  await insecure.close();
});

describe('listeners and actions', () => {
  test('HTTP listener: 301 to the local HTTPS port, host, path and query kept exactly', async () => {
    const r = await get(`${http}/a/b.html?x=1&y=%20z`);
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe(`https://localhost:${proxy.ports[443]}/a/b.html?x=1&y=%20z`);
  });

  test('HTTPS listener forwards to the default group with the Host kept', async () => {
    const r = await get(`${https}/hello`);
    expect(r.status).toBe(200);
    const body = JSON.parse(r.body) as { name: string; url: string; headers: Record<string, string> };
    expect(['b1', 'b2']).toContain(body.name);
    expect(body.url).toBe('/hello');
    expect(body.headers.host).toBe(`localhost:${proxy.ports[443]}`);
  });

  test('round robin spreads requests over both targets', async () => {
    const names = new Set<string>();
    for (let i = 0; i < 6; i++) names.add((JSON.parse((await get(`${https}/rr`)).body) as { name: string }).name);
    expect(names).toEqual(new Set(['b1', 'b2']));
  });

  test('fixed-response rule answers without a target', async () => {
    const r = await get(`${https}${maintenance.path}`);
    expect(r.status).toBe(maintenance.action.statusCode);
    expect(r.headers['content-type']).toBe(maintenance.action.contentType);
    expect(r.body).toBe(maintenance.action.body);
  });

  test('a group with no registered targets answers 503 from the load balancer', async () => {
    const r = await get(`${https}${EMPTY.path}`);
    expect(r.status).toBe(503);
    expect(r.body).toContain('503 Service Unavailable');
  });
});

describe('headers', () => {
  test('X-Forwarded-For appends the client, X-Forwarded-Proto/Port and a trace id are set', async () => {
    const r = await get(`${https}/h`, { 'x-forwarded-for': '203.0.113.9' });
    const headers = (JSON.parse(r.body) as { headers: Record<string, string> }).headers;
    expect(headers['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
    expect(headers['x-forwarded-proto']).toBe('https');
    expect(headers['x-forwarded-port']).toBe('443');
    expect(headers['x-amzn-trace-id']).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    const seconds = parseInt(headers['x-amzn-trace-id'].slice(7, 15), 16);
    expect(Math.abs(seconds - Date.now() / 1000)).toBeLessThan(5);
  });

  // "Request tracing for your Application Load Balancer": Self is inserted before the kept fields.
  test('an incoming trace id is kept and the load balancer adds Self=', async () => {
    const r = await get(`${https}/h`, { 'x-amzn-trace-id': 'Root=1-5759e988-bd862e3fe1be46a994272793' });
    const headers = (JSON.parse(r.body) as { headers: Record<string, string> }).headers;
    expect(headers['x-amzn-trace-id']).toMatch(/^Self=1-[0-9a-f]{8}-[0-9a-f]{24};Root=1-5759e988-bd862e3fe1be46a994272793$/);
  });

  test('security headers from the listener attributes are injected and Server is removed', async () => {
    const r = await get(`${https}/h`);
    const expected = Object.entries(listener.responseHeaders);
    expect(expected.map(([name]) => name.toLowerCase())).toEqual(expect.arrayContaining(['strict-transport-security', 'x-content-type-options', 'x-frame-options', 'content-security-policy']));
    for (const [name, value] of expected) expect(r.headers[name.toLowerCase()]).toBe(value);
    expect(listener.removeServerHeader).toBe(true);
    expect(r.headers.server).toBeUndefined();
  });

  test('hop-by-hop headers, and those named in Connection, do not reach the target', async () => {
    const answer = await raw(proxy.ports[80], 'GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: evil\r\nConnection: close, x-secret-hop\r\nX-Secret-Hop: 1\r\nKeep-Alive: 5\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 301/); // the HTTP listener only redirects: check HTTPS below
    const r = await new Promise<string>((resolve, reject) => {
      const req = httpsGet(`${https}/h`, { rejectUnauthorized: false, headers: { connection: 'x-secret-hop', 'x-secret-hop': '1', 'keep-alive': '5' } }, (res) => {
        let data = '';
        res.on('data', (c) => (data += c));
        res.on('end', () => resolve(data));
      });
      req.on('error', reject);
    });
    const headers = (JSON.parse(r) as { headers: Record<string, string> }).headers;
    expect(headers['x-secret-hop']).toBeUndefined();
    expect(headers['keep-alive']).toBeUndefined();
  });
});

describe('errors the load balancer gives', () => {
  afterEach(() => {
    for (const b of backends) b.handler.current = (req, res) => {
      req.resume();
      req.on('end', () => res.end(JSON.stringify({ name: b.name, url: req.url, headers: req.headers })));
    };
  });

  test('502 when the target resets the connection', async () => {
    for (const b of backends) b.handler.current = (req) => req.socket.destroy();
    expect((await get(`${https}/reset`)).status).toBe(502);
  });

  test('502 when the target sends a malformed response', async () => {
    for (const b of backends) b.handler.current = (req) => {
      req.socket.write('NOT HTTP AT ALL\r\n\r\n');
      req.socket.destroy();
    };
    expect((await get(`${https}/garbage`)).status).toBe(502);
  });

  test('504 when the target does not answer within the idle timeout (1 s here)', async () => {
    for (const b of backends) b.handler.current = (_req, res) => setTimeout(() => res.end('late'), 2500);
    const started = Date.now();
    expect((await get(`${https}/slow`)).status).toBe(504);
    expect(Date.now() - started).toBeLessThan(2400);
  });

  test('400 for a malformed request line, and the proxy keeps serving', async () => {
    expect(await raw(proxy.ports[80], 'GARBAGE\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    expect((await get(`${https}/after`)).status).toBe(200);
  });

  test('400 for conflicting Content-Length and Transfer-Encoding (request smuggling)', async () => {
    const answer = await raw(proxy.ports[80], 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    expect((await get(`${https}/after`)).status).toBe(200);
  });

  // "Troubleshoot your Application Load Balancers", HTTP 400: "The request header exceeded 16 K per
  // request line, 16 K per single header, or 64 K for the entire request header." Five 15 KB headers:
  // each under the single-header limit, together over the total.
  test('400 (not 431) for headers over 64 KB in all', async () => {
    const headers = [1, 2, 3, 4, 5].map((n) => `X-Big-${n}: ${'a'.repeat(15 * 1024)}\r\n`).join('');
    const answer = await raw(proxy.ports[80], `GET / HTTP/1.1\r\nHost: x\r\n${headers}\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
  });

  test('414 for a URI over 16 KB', async () => {
    expect((await get(`${https}/${'a'.repeat(17 * 1024)}`)).status).toBe(414);
  });

  test('a slow client that never finishes its headers is cut off (slowloris)', async () => {
    const started = Date.now();
    const answer = await raw(proxy.ports[80], 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n', 5000);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(answer === '' || /^HTTP\/1\.1 408/.test(answer)).toBe(true);
    expect((await get(`${https}/after`)).status).toBe(200);
  });
});

describe('WebSocket', () => {
  test('an upgrade passes through to the target and messages flow both ways', async () => {
    expect(await webSocketRoundTrip(`wss://localhost:${proxy.ports[443]}${WS.path}`, 'ping')).toBe('echo:ping');
  });
});

describe('admin API', () => {
  test('GET /targets lists targets with state and in-flight counts', async () => {
    const report = JSON.parse((await get(`${admin}/targets`)).body) as TargetsReport;
    const app = report.targetGroups.find((g) => g.name === APP)!;
    expect(app.targets.map((t) => t.id).sort()).toEqual(backends.map((b) => `127.0.0.1:${b.port}`).sort());
    expect(app.targets.every((t) => typeof t.inFlight === 'number')).toBe(true);
  });

  test('GET /metrics exposes request counts, latency and per-target health', async () => {
    await get(`${https}/metered`);
    const text = (await get(`${admin}/metrics`)).body;
    expect(text).toMatch(new RegExp(`albatross_requests_total\\{listener="443",target_group="${APP}",code="200"\\} \\d+`));
    expect(text).toContain('albatross_request_duration_seconds_bucket');
    expect(text).toMatch(new RegExp(`albatross_target_health\\{target_group="${APP}",target="127\\.0\\.0\\.1:\\d+",state="healthy"\\} 1`));
    expect(text).toContain('albatross_target_in_flight');
  });

  test('register and deregister a target at runtime; unknown group is a 404 naming the known ones', async () => {
    const extra = await backend('b3');
    const target = `127.0.0.1:${extra.port}`;
    const post = (path: string, body: unknown) => request(`${admin}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.statusCode, body: await r.body.text() }));
    expect((await post('/targets/register', { targetGroup: EMPTY.group, target })).status).toBe(200);
    const served = await get(`${https}${EMPTY.path}`);
    expect(JSON.parse(served.body).name).toBe('b3');
    expect((await post('/targets/deregister', { targetGroup: EMPTY.group, target })).status).toBe(202);
    expect((await get(`${https}${EMPTY.path}`)).status).toBe(503);
    const unknown = await post('/targets/register', { targetGroup: 'nope', target });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toContain(APP);
    extra.server.close();
  });

  test('the ELBv2 Query API answers at POST /', async () => {
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(`${admin}/`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'AWS4-HMAC-SHA256 Credential=local/20261201/local/elasticloadbalancing/aws4_request' } }, (res) => {
        let data = '';
        res.on('data', (c) => (data += c));
        res.on('end', () => resolve(data));
      });
      req.on('error', reject);
      req.end('Action=DescribeTargetGroups&Version=2015-12-01');
    });
    expect(body).toContain('<DescribeTargetGroupsResponse');
    expect(body).toContain(`targetgroup/${APP}/`);
  });
});
