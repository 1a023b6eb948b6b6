/**
 * The network layer when things go wrong, over real sockets on loopback: clients that reset during
 * upgrades or leave mid-request, dead and silent targets, removed targets, HTTPS targets, invalid
 * header names, truncated responses and a graceful stop.
 */
import { connect, createServer as createNetServer, Server as NetServer, Socket } from 'node:net';
import { connect as tlsConnect, TLSSocket } from 'node:tls';
import { WebSocket, WebSocketServer } from 'ws';
import { LoadBalancerModel } from '../../../lib/proxy/model';
import { UpstreamClientKind } from '../../../lib/proxy/upstream';
import { closedPort } from './support/backends';
import {
  defaultGroup,
  echoBackend,
  EchoBackend,
  eventually,
  fixedResponseRule,
  get,
  groupForPath,
  httpsListener,
  inFlight,
  servedBy,
  oneDefaultGroupModel,
  startTestProxy,
  testTls,
  TestProxy,
  webSocketRoundTrip,
} from './support/proxy';

const model = oneDefaultGroupModel({ loadBalancer: { idleTimeoutSeconds: 1 } });
const APP = defaultGroup(model);
const API = groupForPath(model, '/api/*');
const STATIC = groupForPath(model, '/static/*');
const listener = httpsListener(model);

/**
 * Opens a TLS connection to the proxy and sends an upgrade request for `path`. `tcp` is the
 * underlying socket, so a test can reset it (TLS sockets cannot be reset directly).
 */
function upgradeRequest(port: number, path: string): Promise<TLSSocket & { tcp: Socket }> {
  return new Promise((resolve) => {
    const tcp = connect(port, '127.0.0.1');
    tcp.on('error', () => undefined);
    const socket = tlsConnect({ socket: tcp, rejectUnauthorized: false, servername: 'localhost' }, () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
      resolve(Object.assign(socket, { tcp }));
    });
    socket.on('error', () => undefined);
  });
}

/** Everything the proxy answers on a socket until it closes. */
function readAll(socket: TLSSocket): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
    socket.on('close', () => resolve(data));
  });
}

/** A TCP server that accepts connections and never answers (a hung target); `upgrades` holds those that sent an upgrade. */
async function silentServer(): Promise<{ server: NetServer; port: number; upgrades: Set<Socket> }> {
  const upgrades = new Set<Socket>();
  const server = createNetServer((socket) => {
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      if (/upgrade: websocket/i.test(chunk.toString())) upgrades.add(socket);
    });
    socket.on('close', () => upgrades.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, upgrades };
}

describe('upgrades cannot crash the proxy', () => {
  let proxy: TestProxy;
  let app: EchoBackend;
  let silent: Awaited<ReturnType<typeof silentServer>>;
  let dead: number;

  beforeAll(async () => {
    app = await echoBackend('app');
    silent = await silentServer();
    dead = await closedPort();
    // No health checks reach a conclusion in time for the silent/dead targets: the group fails open to them.
    proxy = await startTestProxy(model, { [APP]: [app.address], [API]: [{ host: '127.0.0.1', port: dead }], [STATIC]: [{ host: '127.0.0.1', port: silent.port }] });
  });

  afterAll(async () => {
    await proxy.close();
    await app.close();
    for (const s of silent.upgrades) s.destroy();
    silent.server.close();
  });

  test('clients that reset right after asking to upgrade to a dead target: the proxy keeps serving and releases every lease', async () => {
    for (let i = 0; i < 20; i++) (await upgradeRequest(proxy.ports[443], '/api/socket')).tcp.resetAndDestroy();
    await new Promise((r) => setTimeout(r, 200));
    expect((await get(`${proxy.https}/after`)).status).toBe(200);
    await eventually(async () => (await inFlight(proxy, API, `127.0.0.1:${dead}`)) === 0, 3000, 'leases released');
  });

  test('clients that reset while the target is silent: leases released, the target connection closed', async () => {
    const sockets = await Promise.all(Array.from({ length: 10 }, () => upgradeRequest(proxy.ports[443], '/static/socket')));
    await eventually(() => silent.upgrades.size === 10, 3000, 'upgrades forwarded to the silent target');
    for (const s of sockets) s.tcp.resetAndDestroy();
    await eventually(() => silent.upgrades.size === 0, 3000, 'target connections closed');
    await eventually(async () => (await inFlight(proxy, STATIC, `127.0.0.1:${silent.port}`)) === 0, 3000, 'leases released');
    expect((await get(`${proxy.https}/after`)).status).toBe(200);
  });

  test('an upgrade to a dead target gets the load balancer 502 page with the listener headers', async () => {
    const answer = await readAll(await upgradeRequest(proxy.ports[443], '/api/socket'));
    expect(answer).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
    for (const [name, value] of Object.entries(listener.responseHeaders)) expect(answer.toLowerCase()).toContain(`${name.toLowerCase()}: ${value.toLowerCase()}`);
  });

  test('an upgrade to a silent target gets 504 after the idle timeout', async () => {
    const started = Date.now();
    const answer = await readAll(await upgradeRequest(proxy.ports[443], '/static/socket'));
    expect(answer).toMatch(/^HTTP\/1\.1 504 /);
    expect(Date.now() - started).toBeGreaterThanOrEqual(model.idleTimeoutSeconds * 1000 - 50);
  });

  test("an upgrade that a rule answers itself gets the rule's fixed response, as any request does (it was a 400)", async () => {
    const maintenance = fixedResponseRule(model);
    const answer = await readAll(await upgradeRequest(proxy.ports[443], maintenance.path));
    expect(answer).toMatch(new RegExp(`^HTTP/1\\.1 ${maintenance.action.statusCode} `));
    expect(answer.endsWith(maintenance.action.body ?? '')).toBe(true);
  });
});

describe.each<UpstreamClientKind>(['undici', 'http'])('upstream client %s', (kind) => {
  let proxy: TestProxy;
  let app: EchoBackend;

  beforeAll(async () => {
    app = await echoBackend('app');
    proxy = await startTestProxy(model, { [APP]: [app.address] }, { server: { upstreamClient: kind } });
  });

  afterAll(async () => {
    await proxy.close();
    await app.close();
  });

  afterEach(() => {
    app.handler = (req, res) => {
      req.resume();
      res.end('{"name":"app"}');
    };
  });

  test('a client that leaves mid-request: 460 in the metrics, the lease released at once without a failure, the target connection closed', async () => {
    let targetSocketClosed = false;
    app.handler = (req) => req.socket.once('close', () => (targetSocketClosed = true)); // never answers
    const group = proxy.runtime.targetGroup(APP)!;
    const finish = jest.spyOn(group, 'finish');
    const client = await new Promise<TLSSocket>((resolve) => {
      const socket = tlsConnect({ port: proxy.ports[443], host: '127.0.0.1', rejectUnauthorized: false }, () => resolve(socket));
    });
    client.write('GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await eventually(() => app.seen.some((s) => s.url === '/slow'), 3000, 'request at the target');
    client.destroy();
    await eventually(() => finish.mock.calls.length === 1, 500, 'lease released (well before the 1 s idle timeout)');
    expect(finish.mock.calls[0][1]).toBe(false);
    await eventually(() => targetSocketClosed, 500, 'target connection closed');
    const metrics = (await get(`${proxy.admin}/metrics`)).body;
    expect(metrics).toMatch(new RegExp(`albatross_requests_total\\{listener="443",target_group="${APP}",code="460"\\} 1`));
    finish.mockRestore();
  });

  test('a response cut after its head is counted as a 502 and a target failure, not as its status', async () => {
    app.handler = (req, res) => {
      res.writeHead(200, { 'content-length': 1000 });
      res.write('partial');
      setTimeout(() => req.socket.destroy(), 20);
    };
    const group = proxy.runtime.targetGroup(APP)!;
    const finish = jest.spyOn(group, 'finish');
    await expect(get(`${proxy.https}/cut`)).rejects.toThrow();
    await eventually(() => finish.mock.calls.length === 1, 2000, 'lease released');
    expect(finish.mock.calls[0][1]).toBe(true);
    const metrics = (await get(`${proxy.admin}/metrics`)).body;
    expect(metrics).toMatch(new RegExp(`albatross_requests_total\\{listener="443",target_group="${APP}",code="502"\\} 1`));
    expect(metrics).not.toMatch(new RegExp(`albatross_requests_total\\{listener="443",target_group="${APP}",code="200"\\}`));
    finish.mockRestore();
  });

  test('a body that stops flowing is cut after the idle timeout, counted as 502, and the lease released', async () => {
    app.handler = (_req, res) => {
      res.writeHead(200, { 'content-length': 1000 });
      res.write('first bytes'); // then nothing, connection kept open
    };
    const group = proxy.runtime.targetGroup(APP)!;
    const finish = jest.spyOn(group, 'finish');
    const started = Date.now();
    await expect(get(`${proxy.https}/stall`)).rejects.toThrow();
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(model.idleTimeoutSeconds * 1000 - 100);
    expect(elapsed).toBeLessThan(model.idleTimeoutSeconds * 1000 + 1500);
    await eventually(() => finish.mock.calls.length === 1, 1000, 'lease released');
    expect(finish.mock.calls[0][1]).toBe(true);
    finish.mockRestore();
  });

  test('a client that leaves mid-body: 460, the lease released without a failure, the target connection closed', async () => {
    let targetSocketClosed = false;
    app.handler = (req, res) => {
      req.socket.once('close', () => (targetSocketClosed = true));
      res.writeHead(200, { 'content-length': 1_000_000 });
      const drip = setInterval(() => res.write('x'.repeat(100)), 20);
      res.once('close', () => clearInterval(drip));
    };
    const clientClosed = async (): Promise<number> => {
      const metrics = (await get(`${proxy.admin}/metrics`)).body;
      return Number(new RegExp(`albatross_requests_total\\{listener="443",target_group="${APP}",code="460"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
    };
    const before = await clientClosed();
    const group = proxy.runtime.targetGroup(APP)!;
    const finish = jest.spyOn(group, 'finish');
    const client = await new Promise<TLSSocket>((resolve) => {
      const socket = tlsConnect({ port: proxy.ports[443], host: '127.0.0.1', rejectUnauthorized: false }, () => resolve(socket));
    });
    client.on('error', () => undefined);
    const head = new Promise<void>((resolve) => client.once('data', () => resolve()));
    client.write('GET /drip HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await head;
    client.destroy();
    await eventually(() => finish.mock.calls.length === 1, 500, 'lease released (well before the 1 s idle timeout)');
    expect(finish.mock.calls[0][1]).toBe(false);
    await eventually(() => targetSocketClosed, 500, 'target connection closed');
    expect(await clientClosed()).toBe(before + 1);
    finish.mockRestore();
  });

  test('a large response to a client that stops reading holds the target back, then arrives whole', async () => {
    const CHUNK = Buffer.alloc(64 * 1024, 'a');
    const CHUNKS = 512; // 32 MiB: more than loopback socket buffers hold between client, proxy and target
    let written = 0;
    let done = false;
    app.handler = (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-length': CHUNK.length * CHUNKS });
      const more = (): void => {
        while (written < CHUNKS) {
          written++;
          if (!res.write(CHUNK)) return void res.once('drain', more);
        }
        res.end(() => (done = true));
      };
      more();
    };
    const client = await new Promise<TLSSocket>((resolve) => {
      const socket = tlsConnect({ port: proxy.ports[443], host: '127.0.0.1', rejectUnauthorized: false }, () => resolve(socket));
    });
    client.pause();
    client.write('GET /large HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await eventually(() => written > 0, 2000, 'target started writing');
    await new Promise((r) => setTimeout(r, 500));
    // The proxy stopped reading from the target rather than buffering the rest in memory.
    expect(done).toBe(false);
    expect(written).toBeLessThan(CHUNKS);
    let received = 0;
    let bodyStart = -1;
    const complete = new Promise<void>((resolve) => {
      let head = '';
      client.on('data', (chunk: Buffer) => {
        if (bodyStart < 0) {
          head += chunk.toString('latin1');
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) return;
          bodyStart = end + 4;
          received = head.length - bodyStart;
        } else received += chunk.length;
        if (received >= CHUNK.length * CHUNKS) resolve();
      });
    });
    client.resume();
    await complete;
    expect(received).toBe(CHUNK.length * CHUNKS);
    expect(done).toBe(true);
    client.destroy();
  });

  test('a bug in the forward path is logged and answered with 502; the proxy keeps serving', async () => {
    const group = proxy.runtime.targetGroup(APP)!;
    const acquire = jest.spyOn(group, 'acquire').mockImplementationOnce(() => {
      throw new Error('simulated bug');
    });
    const answer = await get(`${proxy.https}/bug`);
    expect(answer.status).toBe(502);
    expect(answer.body).toContain('502 Bad Gateway');
    acquire.mockRestore();
    expect((await get(`${proxy.https}/after`)).status).toBe(200);
  });

  test("a removed target's pooled connections are closed at once, not at the keep-alive timeout", async () => {
    const extra = await echoBackend('extra');
    proxy.runtime.targetGroup(STATIC)!.register(extra.address);
    await eventually(() => proxy.runtime.report().targetGroups.find((g) => g.name === STATIC)!.targets[0]?.state === 'healthy', 5000, 'extra healthy');
    expect(servedBy(await get(`${proxy.https}/static/a`))).toBe('extra');
    await eventually(() => extra.sockets.size >= 1, 1000, 'pooled connection open');
    const removedAt = Date.now();
    await proxy.runtime.targetGroup(STATIC)!.deregister(extra.id);
    // The deregistration delay (scaled) ends, the target is removed, its pool closed.
    await eventually(() => extra.sockets.size === 0, 2500, 'pool closed');
    // Pooled connections otherwise live 4 s (POOL_KEEP_ALIVE_MS).
    expect(Date.now() - removedAt).toBeLessThan(3000);
    await extra.close();
  });
});

describe('drop_invalid_header_fields', () => {
  const withDrop = (on: boolean): LoadBalancerModel => ({ ...model, dropInvalidHeaderFields: on });
  const sendOdd = async (proxy: TestProxy) => {
    const answer = await get(`${proxy.https}/h`, { x_token: 'a', 'x.a': 'b', 'x-ok': 'c' });
    return (JSON.parse(answer.body) as { headers: Record<string, string> }).headers;
  };

  test('the synthesized stack turns it on', () => {
    expect(model.dropInvalidHeaderFields).toBe(true);
  });

  test.each([true, false])('on=%s: names outside [-A-Za-z0-9] are dropped only when on', async (on) => {
    const app = await echoBackend('app');
    const proxy = await startTestProxy(withDrop(on), { [APP]: [app.address] });
    try {
      const headers = await sendOdd(proxy);
      expect(headers['x-ok']).toBe('c');
      expect(headers.x_token).toBe(on ? undefined : 'a');
      expect(headers['x.a']).toBe(on ? undefined : 'b');
    } finally {
      await proxy.close();
      await app.close();
    }
  });
});

describe('HTTPS target groups', () => {
  const httpsGroups = (): LoadBalancerModel => ({
    ...model,
    targetGroups: Object.fromEntries(Object.entries(model.targetGroups).map(([id, tg]) => [id, { ...tg, protocol: 'HTTPS' as const }])),
  });

  test.each<UpstreamClientKind>(['undici', 'http'])('%s: traffic, health checks and WebSocket upgrades reach a TLS target', async (kind) => {
    const tls = await testTls();
    const app = await echoBackend('tls-app', tls);
    const wss = new WebSocketServer({ server: app.server });
    wss.on('connection', (socket) => socket.on('message', (m) => socket.send(`echo:${m.toString()}`)));
    const proxy = await startTestProxy(httpsGroups(), { [APP]: [app.address], [API]: [app.address] }, { server: { upstreamClient: kind } });
    try {
      await eventually(() => proxy.runtime.report().targetGroups.find((g) => g.name === APP)!.targets[0].state === 'healthy', 5000, 'healthy over TLS');
      const answer = await get(`${proxy.https}/secure`);
      expect(answer.status).toBe(200);
      expect(servedBy(answer)).toBe('tls-app');
      expect(await webSocketRoundTrip(`wss://localhost:${proxy.ports[443]}/api/ws`, 'ping')).toBe('echo:ping');
    } finally {
      await proxy.close();
      wss.close();
      await app.close();
    }
  });
});

describe('graceful stop', () => {
  test('close() lets a request in flight finish, refuses new connections, and ends within the grace period', async () => {
    const app = await echoBackend('app');
    app.handler = (req, res) => {
      req.resume();
      setTimeout(() => res.end('{"name":"slow"}'), 600);
    };
    const proxy = await startTestProxy(model, { [APP]: [app.address] }, { server: { shutdownGraceMs: 5000 } });
    const inFlightRequest = get(`${proxy.https}/slow`);
    await eventually(() => app.seen.length === 1, 3000, 'request at the target');
    const closing = proxy.close();
    await new Promise((r) => setTimeout(r, 50));
    await expect(get(`${proxy.https}/new`)).rejects.toThrow();
    const answer = await inFlightRequest;
    expect(answer.status).toBe(200);
    expect(answer.headers.connection).toBe('close');
    const started = Date.now();
    await closing;
    expect(Date.now() - started).toBeLessThan(1000);
    await app.close();
  });

  test('a request still running when the grace period ends is cut', async () => {
    const app = await echoBackend('app');
    app.handler = () => undefined; // never answers
    const proxy = await startTestProxy(oneDefaultGroupModel({ loadBalancer: { idleTimeoutSeconds: 30 } }), { [APP]: [app.address] }, { server: { shutdownGraceMs: 300 } });
    const hanging = get(`${proxy.https}/hang`).then(
      () => 'answered',
      () => 'cut',
    );
    await eventually(() => app.seen.length === 1, 3000, 'request at the target');
    const started = Date.now();
    await proxy.close();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await hanging).toBe('cut');
    await app.close();
  });

  test.each([true, false])('http2=%s: an open WebSocket tunnel is cut when the grace period ends; it does not hold the stop', async (http2Enabled) => {
    const app = await echoBackend('app');
    const wss = new WebSocketServer({ server: app.server });
    wss.on('connection', (socket) => socket.on('message', (m) => socket.send(`echo:${m.toString()}`)));
    const proxy = await startTestProxy({ ...model, http2Enabled }, { [APP]: [app.address], [API]: [app.address] }, { server: { shutdownGraceMs: 300 } });
    const client = new WebSocket(`wss://localhost:${proxy.ports[443]}/api/ws`, { rejectUnauthorized: false });
    try {
      await new Promise<void>((resolve, reject) => client.once('open', () => resolve()).once('error', reject));
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      const started = Date.now();
      const stopped = await Promise.race([proxy.close().then(() => 'stopped'), new Promise((r) => setTimeout(() => r('still open'), 5000))]);
      expect(stopped).toBe('stopped');
      expect(Date.now() - started).toBeLessThan(3000);
      await closed;
    } finally {
      client.terminate();
      wss.close();
      await app.close();
    }
  });
});
