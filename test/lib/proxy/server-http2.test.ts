/**
 * HTTP/2 to clients on the HTTPS listener, over real sockets with node:http2 as the client. The
 * ALB negotiates HTTP/2 with ALPN when `routing.http2.enabled` is on and sends HTTP/1.1 to HTTP1
 * target groups ("HTTP connections" and "Target group protocol version" in the ELB guide:
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html,
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html);
 * WebSocket stays on HTTP/1.1. Every rule, header, stickiness, fixed response and error that
 * HTTP/1.1 clients get applies to HTTP/2 streams.
 */
import { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { ClientHttp2Session, connect as h2Connect, constants } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import { WebSocketServer } from 'ws';
import { LoadBalancerModel } from '../../../lib/proxy/model';
import { defaultGroup, echo, echoBackend, EchoBackend, fixedResponseRule, get, httpsListener, insecure, servedBy, oneDefaultGroupModel, startTestProxy, TestProxy, webSocketRoundTrip } from './support/proxy';

// A rule's service made sticky (the stack's sticky service, web, is the default action's, where the
// WebSocket target is).
const model = oneDefaultGroupModel({ services: { static: { stickinessSeconds: 86400 } } });
const listener = httpsListener(model);
const APP = defaultGroup(model);
const maintenance = fixedResponseRule(model);
/** A forward rule to a sticky group, and one to a group the test leaves without targets. */
const forwards = listener.rules.flatMap((r) => {
  const pattern = r.conditions.find((c) => c.field === 'path-pattern')?.values[0];
  if (r.action.type !== 'forward' || typeof pattern !== 'string') return [];
  const group = model.targetGroups[r.action.targetGroups[0].targetGroup];
  return [{ group: group.name, sticky: group.stickiness.enabled, path: pattern.replace(/[*?]/g, 'x') }];
});
const STICKY = forwards.find((f) => f.sticky)!;
const EMPTY = forwards.find((f) => !f.sticky && f.group !== APP)!;

interface H2Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function h2Request(session: ClientHttp2Session, headers: OutgoingHttpHeaders, body?: string[]): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    let data = '';
    let head: IncomingHttpHeaders = {};
    stream.on('response', (h) => (head = h));
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (data += chunk));
    stream.on('end', () => resolve({ status: Number(head[':status']), headers: head, body: data }));
    stream.on('error', reject);
    if (body !== undefined) {
      for (const chunk of body) stream.write(chunk);
      stream.end();
    }
  });
}

let proxy: TestProxy;
let app: EchoBackend[];
let sticky: EchoBackend[];
let session: ClientHttp2Session;
let origin: string;

beforeAll(async () => {
  app = await Promise.all(['a1', 'a2'].map((n) => echoBackend(n)));
  sticky = await Promise.all(['s1', 's2'].map((n) => echoBackend(n)));
  const wss = new WebSocketServer({ server: app[0].server });
  wss.on('connection', (ws) => ws.on('message', (m) => ws.send(`echo:${m.toString()}`)));
  proxy = await startTestProxy(model, { [APP]: [app[0].address], [STICKY.group]: sticky.map((b) => b.address) }, { server: { shutdownGraceMs: 200 } });
  origin = `https://localhost:${proxy.ports[listener.port]}`;
  session = h2Connect(origin, { rejectUnauthorized: false });
  await new Promise<void>((resolve, reject) => session.once('connect', () => resolve()).once('error', reject));
  // A first stream now: a session that opens none within the header timeout (500 ms here) is
  // closed, and the tests before the first one that uses it can take longer than that.
  expect((await get2('/')).status).toBe(200);
});

afterAll(async () => {
  session.close();
  await proxy.close();
  await Promise.all([...app, ...sticky].map((b) => b.close()));
  await insecure.close();
});

function get2(path: string, extra: OutgoingHttpHeaders = {}): Promise<H2Answer> {
  return h2Request(session, { ':method': 'GET', ':path': path, ...extra });
}

describe('negotiation', () => {
  test('ALPN offers h2 and http/1.1 on the HTTPS listener', async () => {
    expect(session.alpnProtocol).toBe('h2');
    const h1 = await new Promise<string | false | null>((resolve, reject) => {
      const socket = tlsConnect({ port: proxy.ports[listener.port], host: '127.0.0.1', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
        resolve(socket.alpnProtocol);
        socket.destroy();
      });
      socket.on('error', reject);
    });
    expect(h1).toBe('http/1.1');
    // A client that offers no ALPN at all (curl --http1.1, most libraries) gets HTTP/1.1.
    expect((await get(`${origin}/h1`)).status).toBe(200);
  });

  test('with routing.http2.enabled=false the listener does not offer h2', async () => {
    const off: LoadBalancerModel = { ...model, http2Enabled: false };
    const plain = await startTestProxy(off, { [APP]: [app[0].address] }, { server: { shutdownGraceMs: 100 } });
    try {
      const alpn = await new Promise<string | false | null>((resolve, reject) => {
        const socket = tlsConnect({ port: plain.ports[listener.port], host: '127.0.0.1', rejectUnauthorized: false, ALPNProtocols: ['h2', 'http/1.1'] }, () => {
          resolve(socket.alpnProtocol);
          socket.destroy();
        });
        socket.on('error', reject);
      });
      expect(alpn).not.toBe('h2');
    } finally {
      await plain.close();
    }
  });
});

describe('the same load balancer on HTTP/2', () => {
  test('forwarded to the target over HTTP/1.1 with the X-Forwarded-* headers, a trace id and Host from :authority', async () => {
    const answer = await get2('/h2?x=1', { ':authority': `example.com:${listener.port}`, 'x-forwarded-for': '203.0.113.9' });
    expect(answer.status).toBe(200);
    const seen = JSON.parse(answer.body) as { name: string; url: string; headers: Record<string, string> };
    expect(seen.url).toBe('/h2?x=1');
    expect(seen.headers.host).toBe('example.com');
    expect(seen.headers['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('https');
    expect(seen.headers['x-forwarded-port']).toBe(String(listener.port));
    expect(seen.headers['x-amzn-trace-id']).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    expect(Object.keys(seen.headers).some((name) => name.startsWith(':'))).toBe(false);
    // Response: the listener's headers, Server removed as the stack asks.
    for (const [name, value] of Object.entries(listener.responseHeaders)) expect(answer.headers[name.toLowerCase()]).toBe(value);
    expect(answer.headers.server).toBeUndefined();
  });

  test('fixed responses and rules by path', async () => {
    const fixed = await get2(maintenance.path);
    expect(fixed.status).toBe(maintenance.action.statusCode);
    expect(fixed.body).toBe(maintenance.action.body ?? '');
    const routed = await get2(STICKY.path);
    expect(sticky.map((b) => b.name)).toContain(servedBy({ status: routed.status, headers: {}, body: routed.body }));
  });

  test('stickiness: the AWSALB cookie issued on HTTP/2 pins the target', async () => {
    const first = await get2(STICKY.path);
    const cookies = ([] as string[]).concat(first.headers['set-cookie'] ?? []);
    const awsalb = cookies.find((c) => c.startsWith('AWSALB='))!.split(';')[0];
    const target = (JSON.parse(first.body) as { name: string }).name;
    for (let i = 0; i < 6; i++) {
      const again = await get2(STICKY.path, { cookie: awsalb });
      expect((JSON.parse(again.body) as { name: string }).name).toBe(target);
    }
  });

  test('a request body without Content-Length (DATA frames) reaches the target in full', async () => {
    let received = '';
    app[0].handler = (req, res) => {
      req.setEncoding('utf8');
      req.on('data', (c: string) => (received += c));
      req.on('end', () => res.end(JSON.stringify({ te: req.headers['transfer-encoding'], httpVersion: req.httpVersion })));
    };
    try {
      const answer = await h2Request(session, { ':method': 'POST', ':path': '/upload' }, ['part-one;', 'part-two']);
      expect(answer.status).toBe(200);
      expect(received).toBe('part-one;part-two');
      expect(JSON.parse(answer.body)).toEqual({ te: 'chunked', httpVersion: '1.1' });
    } finally {
      app[0].handler = echo(app[0].name);
    }
  });

  test('load balancer errors: 503 without targets, 502 for a target reset, 405 for TRACE, 463 for 31 X-Forwarded-For', async () => {
    expect((await get2(EMPTY.path)).status).toBe(503);
    app[0].handler = (req) => req.socket.destroy();
    try {
      expect((await get2('/reset')).status).toBe(502);
    } finally {
      app[0].handler = echo(app[0].name);
    }
    expect((await h2Request(session, { ':method': 'TRACE', ':path': '/t' })).status).toBe(405);
    const xff = Array.from({ length: 31 }, (_, i) => `198.51.100.${i + 1}`).join(', ');
    expect((await get2('/xff', { 'x-forwarded-for': xff })).status).toBe(463);
    // The session survived all of it.
    expect((await get2('/after')).status).toBe(200);
  });

  test('many concurrent streams on one connection', async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => get2(`/c${i}`)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(new Set(answers.map((a) => (JSON.parse(a.body) as { url: string }).url)).size).toBe(50);
  });

  test('WebSocket keeps working on HTTP/1.1 next to HTTP/2', async () => {
    expect(await webSocketRoundTrip(`wss://localhost:${proxy.ports[listener.port]}/ws`, 'hi')).toBe('echo:hi');
  });

  test('graceful stop sends GOAWAY and lets a stream in flight finish', async () => {
    const own = await startTestProxy(model, { [APP]: [app[0].address] }, { server: { shutdownGraceMs: 3000 } });
    const client = h2Connect(`https://localhost:${own.ports[listener.port]}`, { rejectUnauthorized: false });
    app[0].handler = (_req, res) => setTimeout(() => res.end('late but whole'), 300);
    try {
      const inFlight = h2Request(client, { ':method': 'GET', ':path': '/slow' });
      await new Promise((r) => setTimeout(r, 100));
      const goaway = new Promise<number>((resolve) => client.once('goaway', (code: number) => resolve(code)));
      const closing = own.close();
      expect(await goaway).toBe(constants.NGHTTP2_NO_ERROR);
      expect(await inFlight).toMatchObject({ status: 200, body: 'late but whole' });
      await closing;
    } finally {
      client.destroy();
      app[0].handler = echo(app[0].name);
    }
  });
});
