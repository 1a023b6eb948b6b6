/**
 * The proxy at the edges of HTTP/1.1, over real sockets on loopback: upgrades the target does not
 * accept, `Expect: 100-continue` from a real client (curl), connections that die with pipelined
 * or half-sent requests, absolute-form and asterisk-form request targets.
 */
import { execFile } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, Socket } from 'node:net';
import { connect as tlsConnect, TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { UpstreamClientKind } from '../../../lib/proxy/upstream';
import { defaultGroup, echo, echoBackend, EchoBackend, eventually, examplePath, fixedResponseRule, get, groupForPath, inFlight, oneDefaultGroupModel, startTestProxy, TestProxy } from './support/proxy';

const model = oneDefaultGroupModel();
const APP = defaultGroup(model);
const API = groupForPath(model, '/api/*');
const maintenance = fixedResponseRule(model);

/** A client connection that sends raw bytes and reads answers as they come. */
interface RawConnection {
  send(bytes: string): void;
  /** Waits until what was received (since the last call) matches, and returns it. */
  until(pattern: RegExp, timeoutMs?: number): Promise<string>;
  readonly socket: Socket;
  close(): void;
}

function rawConnection(port: number, tls: boolean): Promise<RawConnection> {
  return new Promise((resolve) => {
    let received = '';
    let wake: (() => void) | undefined;
    const onSocket = (socket: Socket): void => {
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('latin1');
        wake?.();
      });
      socket.on('close', () => wake?.());
      resolve({
        socket,
        send: (bytes) => void socket.write(bytes),
        async until(pattern, timeoutMs = 3000) {
          const deadline = Date.now() + timeoutMs;
          while (!pattern.test(received)) {
            if (Date.now() > deadline || socket.destroyed) throw new Error(`no ${pattern} in ${JSON.stringify(received)}`);
            await new Promise<void>((r) => {
              wake = r;
              setTimeout(r, 50);
            });
          }
          const seen = received;
          received = '';
          return seen;
        },
        close: () => socket.destroy(),
      });
    };
    if (tls) {
      const socket: TLSSocket = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false, servername: 'localhost' }, () => onSocket(socket));
      socket.on('error', () => undefined);
    } else {
      const socket = connect(port, '127.0.0.1', () => onSocket(socket));
    }
  });
}

/** The end of an echo backend's answer (a JSON body, chunked). */
const ECHO_END = /\}\r\n0\r\n\r\n$/;

/** The JSON an echo backend answered, from a raw HTTP response. */
function echoed(answer: string): { name: string; url: string; headers: Record<string, string> } {
  return JSON.parse(answer.slice(answer.indexOf('{"name"'), answer.lastIndexOf('}') + 1)) as { name: string; url: string; headers: Record<string, string> };
}

const WEBSOCKET_HANDSHAKE = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
const H2C_UPGRADE = 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n';

describe('upgrades the target does not accept (issue 11, defect 1)', () => {
  let proxy: TestProxy;
  let app: EchoBackend;

  beforeAll(async () => {
    // A plain node:http server: it answers a WebSocket handshake (or h2c) with a normal 200.
    app = await echoBackend('app');
    proxy = await startTestProxy(model, { [APP]: [app.address] });
  });

  afterAll(async () => {
    await proxy.close();
    await app.close();
  });

  test.each([
    ['a WebSocket handshake answered 200', WEBSOCKET_HANDSHAKE],
    ['an Upgrade: h2c request', H2C_UPGRADE],
  ])('%s is a normal response; the connection is parsed again: /maintenance gets the fixed answer, X-Forwarded-* are set', async (_what, upgradeHeaders) => {
    app.seen.length = 0;
    const client = await rawConnection(proxy.ports[443], true);
    try {
      client.send(`GET /first HTTP/1.1\r\nHost: localhost\r\n${upgradeHeaders}\r\n`);
      const first = await client.until(ECHO_END);
      expect(first).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(first).toMatch(/\r\nconnection: keep-alive\r\n/i);
      client.send(`GET ${maintenance.path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
      const fixed = await client.until(new RegExp(`${maintenance.action.body?.replace(/[{}]/g, '\\$&')}$`));
      expect(fixed).toMatch(new RegExp(`^HTTP/1\\.1 ${maintenance.action.statusCode} `));
      client.send('GET /third HTTP/1.1\r\nHost: localhost\r\n\r\n');
      expect(echoed(await client.until(ECHO_END)).url).toBe('/third');
    } finally {
      client.close();
    }
    // /maintenance never reached the target, and the third request was forwarded as one.
    expect(app.seen.map((s) => s.url)).toEqual(['/first', '/third']);
    // Both exchanges ended, the handshake one included: no lease held.
    expect(await inFlight(proxy, APP, app.id)).toBe(0);
    const third = app.seen[1].headers;
    expect(third['x-forwarded-proto']).toBe('https');
    expect(third['x-forwarded-for']).toBe('127.0.0.1');
    expect(third['x-amzn-trace-id']).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    // Upgrade is hop-by-hop: the target of an h2c request sees a plain HTTP/1.1 request.
    if (upgradeHeaders === H2C_UPGRADE) expect(app.seen[0].headers.upgrade).toBeUndefined();
  });

  test('a request pipelined right behind a refused handshake is parsed and routed, not tunnelled', async () => {
    app.seen.length = 0;
    const client = await rawConnection(proxy.ports[443], true);
    try {
      client.send(`GET /first HTTP/1.1\r\nHost: localhost\r\n${WEBSOCKET_HANDSHAKE}\r\nGET ${maintenance.path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
      const both = await client.until(new RegExp(`HTTP/1\\.1 ${maintenance.action.statusCode} [^]*\\r\\n\\r\\n.+$`));
      expect(both).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    } finally {
      client.close();
    }
    expect(app.seen.map((s) => s.url)).toEqual(['/first']);
  });

  test('an h2c upgrade with a body is forwarded with its body, and the next request is parsed', async () => {
    app.seen.length = 0;
    app.handler = (req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => res.end(`got:${body}`));
    };
    const client = await rawConnection(proxy.ports[443], true);
    try {
      client.send(`POST /up HTTP/1.1\r\nHost: localhost\r\n${H2C_UPGRADE}Content-Length: 5\r\n\r\nhello`);
      expect(await client.until(/got:hello$/)).toMatch(/^HTTP\/1\.1 200 /);
      client.send(`GET ${maintenance.path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
      expect(await client.until(/\r\n\r\n.+$/s)).toMatch(new RegExp(`^HTTP/1\\.1 ${maintenance.action.statusCode} `));
    } finally {
      client.close();
      app.handler = echo('app');
    }
  });

  test('Upgrade on the HTTP listener gets the redirect, not 400 (issue 11, minor)', async () => {
    for (const headers of [WEBSOCKET_HANDSHAKE, H2C_UPGRADE]) {
      const client = await rawConnection(proxy.ports[80], false);
      try {
        client.send(`GET /shop?x=1 HTTP/1.1\r\nHost: localhost\r\n${headers}\r\n`);
        const answer = await client.until(/\r\n\r\n/);
        expect(answer).toMatch(/^HTTP\/1\.1 301 /);
        expect(answer).toMatch(new RegExp(`\\r\\nlocation: https://localhost:${proxy.ports[443]}/shop\\?x=1\\r\\n`, 'i'));
      } finally {
        client.close();
      }
    }
  });
});

describe('Expect: 100-continue (issue 11, defect 2)', () => {
  let proxy: TestProxy;
  let app: EchoBackend;
  let dir: string;

  beforeAll(async () => {
    app = await echoBackend('app');
    proxy = await startTestProxy(model, { [APP]: [app.address] });
    dir = mkdtempSync(join(tmpdir(), 'albatross-expect-'));
  });

  afterAll(async () => {
    await proxy.close();
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('curl uploads 2 MB (it sends Expect: 100-continue over 1 MB): 100 from the proxy, then the target gets the whole body without Expect', async () => {
    const size = 2 * 1024 * 1024;
    const file = join(dir, 'upload.bin');
    writeFileSync(file, Buffer.alloc(size, 'a'));
    let received = -1;
    let expectHeader: string | undefined = 'not seen';
    app.handler = (req, res) => {
      expectHeader = req.headers.expect;
      let bytes = 0;
      req.on('data', (chunk: Buffer) => (bytes += chunk.length));
      req.on('end', () => {
        received = bytes;
        res.end('stored');
      });
    };
    const { stdout, stderr } = await promisify(execFile)('curl', ['-sS', '-v', '-k', '--http1.1', '-T', file, '-w', '\n%{http_code}', `https://localhost:${proxy.ports[443]}/upload`]);
    expect(stderr).toMatch(/> Expect: 100-continue/i);
    expect(stderr).toMatch(/< HTTP\/1\.1 100 Continue/);
    expect(stdout).toBe('stored\n200');
    expect(received).toBe(size);
    expect(expectHeader).toBeUndefined();
  });
});

describe.each<UpstreamClientKind>(['undici', 'http'])('every lease released once, whatever the abort path (issue 11, defect 3; upstream client %s)', (kind) => {
  let proxy: TestProxy;
  let app: EchoBackend;

  beforeAll(async () => {
    app = await echoBackend('app');
    app.handler = (req, res) => {
      req.resume();
      req.on('end', () => (req.url === '/slow' ? setTimeout(() => res.end('slow'), 300) : res.end('fast')));
    };
    proxy = await startTestProxy(model, { [APP]: [app.address] }, { server: { upstreamClient: kind } });
  });

  afterAll(async () => {
    await proxy.close();
    await app.close();
  });

  /** Runs `scenario` and checks every lease it acquired was released exactly once (the data plane's own count too). */
  async function releasedExactlyOnce(expected: number, scenario: () => Promise<void>): Promise<void> {
    const group = proxy.runtime.targetGroup(APP)!;
    const acquire = jest.spyOn(group, 'acquire');
    const finish = jest.spyOn(group, 'finish');
    try {
      await scenario();
      await eventually(async () => (await inFlight(proxy, APP, app.id)) === 0, 5000, 'leases released');
      expect(acquire).toHaveBeenCalledTimes(expected);
      expect(finish).toHaveBeenCalledTimes(expected);
    } finally {
      acquire.mockRestore();
      finish.mockRestore();
    }
  }

  test('connections that die with pipelined requests queued behind a slow one: every lease released once', async () => {
    await releasedExactlyOnce(60, async () => {
      const clients = await Promise.all(Array.from({ length: 20 }, () => rawConnection(proxy.ports[443], true)));
      for (const c of clients) {
        c.send('GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\nGET /fast HTTP/1.1\r\nHost: localhost\r\n\r\nPOST /up HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\nabc');
      }
      await eventually(async () => (await inFlight(proxy, APP, app.id)) === 60, 3000, 'every pipelined request in flight');
      for (const c of clients) c.close();
    });
    expect((await get(`${proxy.https}/after`)).status).toBe(200);
  });

  test('slow uploads aborted mid-body (close, half-close, error): every lease released once', async () => {
    await releasedExactlyOnce(60, async () => {
      const clients = await Promise.all(Array.from({ length: 60 }, () => rawConnection(proxy.ports[443], true)));
      for (const c of clients) c.send('POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000\r\n\r\nabc');
      await eventually(async () => (await inFlight(proxy, APP, app.id)) === 60, 5000, 'every upload in flight');
      clients.forEach((c, i) => (i % 3 === 0 ? c.socket.destroy() : i % 3 === 1 ? c.socket.end() : c.socket.destroy(new Error('client gave up'))));
    });
  });
});

describe('request-target forms (issue 11, defect 6 and minor)', () => {
  let proxy: TestProxy;
  let app: EchoBackend;
  let api: EchoBackend;

  beforeAll(async () => {
    app = await echoBackend('app');
    api = await echoBackend('api');
    proxy = await startTestProxy(model, { [APP]: [app.address], [API]: [api.address] });
  });

  afterAll(async () => {
    await proxy.close();
    await app.close();
    await api.close();
  });

  test('absolute form: path rules match the path only; the target gets origin form and the URI host (RFC 9112 §3.2.2)', async () => {
    const client = await rawConnection(proxy.ports[443], true);
    try {
      client.send(`GET http://other.example${examplePath('/api/*')}?q=1 HTTP/1.1\r\nHost: localhost\r\n\r\n`);
      const body = echoed(await client.until(ECHO_END));
      expect(body.name).toBe('api');
      expect(body.url).toBe(`${examplePath('/api/*')}?q=1`);
      expect(body.headers.host).toBe('other.example');
      client.send(`GET https://localhost${maintenance.path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
      expect(await client.until(/\r\n\r\n.+$/s)).toMatch(new RegExp(`^HTTP/1\\.1 ${maintenance.action.statusCode} `));
    } finally {
      client.close();
    }
  });

  test('OPTIONS * is forwarded to the target as asterisk form, not a 502 and not a target failure', async () => {
    app.seen.length = 0;
    const client = await rawConnection(proxy.ports[443], true);
    try {
      client.send('OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n');
      expect(await client.until(ECHO_END)).toMatch(/^HTTP\/1\.1 200 /);
    } finally {
      client.close();
    }
    expect(app.seen.map((s) => s.url)).toEqual(['*']);
    const metrics = (await get(`${proxy.admin}/metrics`)).body;
    expect(metrics).toMatch(new RegExp(`albatross_requests_total\\{listener="443",target_group="${APP}",code="200"\\} 1`));
    expect(metrics).not.toMatch(/code="502"/);
    expect(await inFlight(proxy, APP, app.id)).toBe(0);
  });
});
