/**
 * The HTTPS listener's TLS side over real sockets: the handshake is bounded like the request head,
 * and the listener offers exactly its SslPolicy's protocols and ciphers, in the policy's order.
 * Source of the policy tables: "Security policies for your Application Load Balancer",
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html
 */
import { ClientHttp2Session, connect as http2Connect } from 'node:http2';
import { connect as netConnect, Socket } from 'node:net';
import { connect as tlsConnect, ConnectionOptions } from 'node:tls';
import pino from 'pino';
import { LoadBalancerModel } from '../../../lib/proxy/model';
import { createLoadBalancerRuntime } from '../../../lib/proxy/runtime';
import { startProxyServer } from '../../../lib/proxy/server';
import { SSL_POLICIES } from '../../../lib/proxy/tls-policy';
import { defaultGroup, echoBackend, EchoBackend, httpsListener, oneDefaultGroupModel, startTestProxy, TestProxy, testTls } from './support/proxy';

interface Handshake {
  readonly ok: boolean;
  readonly protocol?: string | null;
  readonly cipher?: string;
}

function handshake(port: number, options: ConnectionOptions): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false, ...options });
    socket.once('secureConnect', () => {
      resolve({ ok: true, protocol: socket.getProtocol(), cipher: socket.getCipher().name });
      socket.destroy();
    });
    socket.once('error', () => resolve({ ok: false }));
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function h2Status(session: ClientHttp2Session, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'GET', ':path': path });
    let status = 0;
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('error', reject).on('end', () => resolve(status)).resume();
  });
}

/** The client connection preface (RFC 9113, section 3.4), with an empty SETTINGS frame. */
const HTTP2_PREFACE = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 0x4, 0, 0, 0, 0, 0])]);

/** Frame type of GOAWAY (RFC 9113, section 6.8). */
const HTTP2_GOAWAY = 0x7;

/** The types of the HTTP/2 frames in a byte stream from the server (9-byte headers, RFC 9113 section 4.1). */
function frameTypes(bytes: Buffer): number[] {
  const types: number[] = [];
  for (let at = 0; at + 9 <= bytes.length; at += 9 + bytes.readUIntBE(at, 3)) types.push(bytes[at + 3]);
  return types;
}

/** The stack's model (its default policy, ELBSecurityPolicy-TLS13-1-2-2021-06): synthesized once. */
const model = oneDefaultGroupModel();
let backend: EchoBackend;
beforeAll(async () => {
  backend = await echoBackend('app');
});
afterAll(() => backend.close());

async function withProxy(model: LoadBalancerModel, run: (port: number) => Promise<void>, headersTimeoutMs?: number): Promise<void> {
  const proxy: TestProxy = await startTestProxy(model, { [defaultGroup(model)]: [backend.address] }, { server: { shutdownGraceMs: 100, ...(headersTimeoutMs === undefined ? {} : { headersTimeoutMs }) } });
  try {
    await run(proxy.ports[httpsListener(model).port]);
  } finally {
    await proxy.close();
  }
}

describe('TLS handshake timeout', () => {
  test('connections that never finish a handshake are closed after the header timeout (500 ms here), not 120 s', async () => {
    await withProxy(model, async (port) => {
      const sockets: Socket[] = [];
      const closed: number[] = [];
      const started = Date.now();
      for (let i = 0; i < 200; i++) {
        const socket = netConnect(port, '127.0.0.1');
        socket.on('error', () => undefined);
        socket.on('close', () => closed.push(Date.now() - started));
        // Half of them send the first bytes of a ClientHello and stop.
        if (i % 2 === 1) socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]));
        sockets.push(socket);
      }
      const deadline = Date.now() + 4000;
      while (closed.length < sockets.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      for (const s of sockets) s.destroy();
      expect(closed.length).toBe(200);
      expect(Math.min(...closed)).toBeGreaterThanOrEqual(400);
      expect(Math.max(...closed)).toBeLessThan(4000);
    });
  });
  test('connections that finish the handshake but never send a request are closed after the header timeout too (HTTP/1.1, no ALPN, an HTTP/2 session without streams)', async () => {
    await withProxy(model, async (port) => {
      const started = Date.now();
      const closedAfter = (socket: { once(event: 'close', f: () => void): unknown }) => new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)));
      // Read: a paused socket does not see the proxy's FIN, and its close would go unnoticed.
      const sockets = [
        tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }).on('error', () => undefined).resume(),
        tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false }).on('error', () => undefined).resume(),
      ];
      const session = http2Connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false }).on('error', () => undefined);
      const times = await Promise.race([Promise.all([...sockets.map(closedAfter), closedAfter(session)]), new Promise<'open'>((r) => setTimeout(() => r('open'), 4000))]);
      for (const s of sockets) s.destroy();
      session.destroy();
      expect(times).not.toBe('open');
      for (const t of times as number[]) expect(t).toBeLessThan(4000);
    });
  });

  test('a client that negotiates h2 and never sends the HTTP/2 preface is cut after the header timeout, without GOAWAY; HTTP/2 clients on the same listener are served, and one without streams gets GOAWAY', async () => {
    // 2 s rather than 500 ms: the two well-behaved clients' handshakes must not meet the bound on a loaded machine.
    const headersTimeoutMs = 2000;
    await withProxy(
      model,
      async (port) => {
        const h2Client = async () => {
          const session = http2Connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
          await new Promise((resolve, reject) => session.once('connect', resolve).once('error', reject));
          return session.on('error', () => undefined);
        };
        const served = await h2Client();
        const idle = await h2Client();
        const idleGotGoaway = new Promise<string>((resolve) => idle.once('goaway', () => resolve('goaway')).once('close', () => resolve('closed without goaway')));
        expect(await h2Status(served, '/one')).toBe(200);
        // Half-open allowed (the TLS socket inherits it): the proxy's FIN alone does not close this client; only the proxy's own close does.
        const raw = new Socket({ allowHalfOpen: true }).on('error', () => undefined);
        const silent = tlsConnect({ socket: raw.connect(port, '127.0.0.1'), rejectUnauthorized: false, ALPNProtocols: ['h2'] }).on('error', () => undefined);
        await new Promise((r) => silent.once('secureConnect', r));
        const started = Date.now();
        expect(silent.alpnProtocol).toBe('h2');
        const frames: Buffer[] = [];
        silent.on('data', (d: Buffer) => frames.push(d));
        const ended = await Promise.race([new Promise<number>((r) => silent.once('end', () => r(Date.now() - started))), sleep(headersTimeoutMs + 4000).then(() => 'open' as const)]);
        expect(ended).not.toBe('open');
        expect(ended).toBeGreaterThanOrEqual(headersTimeoutMs * 0.9);
        // Closed, not half-closed: what the client writes now (the preface, at last) meets a reset.
        const refused = new Promise<'reset' | 'still open'>((resolve) => {
          raw.once('close', () => resolve('reset'));
          setTimeout(() => resolve('still open'), 2000);
        });
        const probe = setInterval(() => silent.write(HTTP2_PREFACE), 50);
        expect(await refused).toBe('reset');
        clearInterval(probe);
        expect(frameTypes(Buffer.concat(frames))).not.toContain(HTTP2_GOAWAY);
        // The session with a finished stream outlives the header timeout; the one without got GOAWAY.
        expect(await h2Status(served, '/two')).toBe(200);
        expect(await idleGotGoaway).toBe('goaway');
        served.destroy();
        idle.destroy();
        raw.destroy();
      },
      headersTimeoutMs,
    );
  });

  test('a keep-alive connection idle after a request is not cut by that timer (the idle timeout applies)', async () => {
    await withProxy(model, async (port) => {
      const socket = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
      let closed = false;
      socket.on('close', () => (closed = true)).on('error', () => undefined);
      await new Promise((r) => socket.once('secureConnect', r));
      socket.write('GET /one HTTP/1.1\r\nHost: x\r\n\r\n');
      await new Promise((r) => socket.once('data', r));
      await new Promise((r) => setTimeout(r, 1500));
      expect(closed).toBe(false);
      socket.destroy();
    });
  });
});

describe('SslPolicy of the listener', () => {
  test('the stack listener carries its policy into the model', () => {
    expect(httpsListener(model).sslPolicy).toBe('ELBSecurityPolicy-TLS13-1-2-2021-06');
  });

  test('ELBSecurityPolicy-TLS13-1-2-2021-06: TLS 1.3 and its TLS 1.2 ciphers pass; others and TLS 1.1 are refused', async () => {
    await withProxy(model, async (port) => {
      const tls13 = await handshake(port, { minVersion: 'TLSv1.3' });
      expect(tls13).toMatchObject({ ok: true, protocol: 'TLSv1.3' });
      expect(SSL_POLICIES['ELBSecurityPolicy-TLS13-1-2-2021-06'].ciphers).toContain(tls13.cipher);
      expect(await handshake(port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-SHA256' })).toMatchObject({ ok: true, cipher: 'ECDHE-RSA-AES128-SHA256' });
      // Outside the policy (AES128-GCM-SHA256 is only in -Ext1/-Ext2; DHE is in none): Node's defaults accept both.
      expect(await handshake(port, { maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256' })).toEqual({ ok: false });
      expect(await handshake(port, { maxVersion: 'TLSv1.2', ciphers: 'DHE-RSA-AES128-GCM-SHA256' })).toEqual({ ok: false });
      expect(await handshake(port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-SHA' })).toEqual({ ok: false });
      expect(await handshake(port, { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' })).toEqual({ ok: false });
    });
  });

  test("the policy's order decides, not the client's (the ALB picks the first of its own list)", async () => {
    await withProxy(model, async (port) => {
      const chosen = await handshake(port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256' });
      expect(chosen).toMatchObject({ ok: true, cipher: 'ECDHE-RSA-AES128-GCM-SHA256' });
    });
  });

  test('-Res-2021-06 drops the CBC ciphers; -TLS13-1-3-2021-06 refuses TLS 1.2', async () => {
    await withProxy(oneDefaultGroupModel({ loadBalancer: { tlsPolicy: 'ELBSecurityPolicy-TLS13-1-2-Res-2021-06' } }), async (port) => {
      expect(await handshake(port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-SHA256' })).toEqual({ ok: false });
      expect(await handshake(port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES256-GCM-SHA384' })).toMatchObject({ ok: true });
    });
    await withProxy(oneDefaultGroupModel({ loadBalancer: { tlsPolicy: 'ELBSecurityPolicy-TLS13-1-3-2021-06' } }), async (port) => {
      expect(await handshake(port, { maxVersion: 'TLSv1.2' })).toEqual({ ok: false });
      expect(await handshake(port, {})).toMatchObject({ ok: true, protocol: 'TLSv1.3' });
    });
  });

  test('an unknown policy, or none (the CloudFormation default), fails at start naming the listener and the policy', async () => {
    const withPolicy = (sslPolicy: string | undefined): LoadBalancerModel => ({
      ...model,
      listeners: model.listeners.map((l) => (l.protocol === 'HTTPS' ? { ...l, sslPolicy } : l)),
    });
    const tls = await testTls();
    const start = (m: LoadBalancerModel) =>
      startProxyServer({ runtime: createLoadBalancerRuntime(m, {}), ports: Object.fromEntries(m.listeners.map((l) => [l.port, 0])), tls, log: pino({ level: 'silent' }) });
    const listenerId = httpsListener(model).logicalId;
    await expect(start(withPolicy('ELBSecurityPolicy-Made-Up-2030-01'))).rejects.toThrow(new RegExp(`listener ${listenerId}: SslPolicy ELBSecurityPolicy-Made-Up-2030-01 .*supported: ELBSecurityPolicy-TLS13-1-2-2021-06`));
    await expect(start(withPolicy(undefined))).rejects.toThrow(/SslPolicy ELBSecurityPolicy-2016-08 \(the CloudFormation default/);
  });
});
