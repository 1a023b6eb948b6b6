/**
 * What the ALB refuses before routing, and how it rewrites Host and X-Amzn-Trace-Id, over real
 * sockets on loopback. Sources, cited per test:
 * - "Troubleshoot your Application Load Balancers" (HTTP 400, 405, 408, 463, 501),
 *   https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html
 * - "Quotas for your Application Load Balancers" (HTTP headers),
 *   https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html
 * - "Request tracing for your Application Load Balancer",
 *   https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-request-tracing.html
 * - "HTTP headers and Application Load Balancers" / "Application Load Balancers" (Host, HTTP/1.0),
 *   https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html
 */
import { connect as tlsConnect } from 'node:tls';
import { MAX_X_FORWARDED_FOR_ADDRESSES } from '../../../lib/proxy/request-limits';
import { defaultGroup, echoBackend, EchoBackend, eventually, get, httpsListener, inFlight, insecure, raw, oneDefaultGroupModel, startTestProxy, TestProxy } from './support/proxy';

const model = oneDefaultGroupModel({ loadBalancer: { idleTimeoutSeconds: 1 } });
const APP = defaultGroup(model);
const HTTPS_PORT = httpsListener(model).port;
let proxy: TestProxy;
let backend: EchoBackend;

/** Sends raw bytes over TLS to the HTTPS listener; resolves with all it answers until it closes or goes quiet. */
function rawTls(bytes: string, quietMs = 1500, keepOpen?: (write: (more: string) => void) => void): Promise<{ text: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = tlsConnect({ port: proxy.ports[HTTPS_PORT], host: '127.0.0.1', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
    let text = '';
    let timer = setTimeout(() => socket.destroy(), quietMs);
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(() => socket.destroy(), 300);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, ms: Date.now() - started });
    });
    socket.on('error', () => undefined);
    socket.once('secureConnect', () => {
      socket.write(bytes, 'latin1');
      keepOpen?.((more) => socket.write(more, 'latin1'));
    });
  });
}

/** The headers the target received for a path. */
function seenHeaders(path: string): Record<string, string | string[] | undefined> {
  const seen = backend.seen.filter((s) => s.url === path).at(-1);
  if (seen === undefined) throw new Error(`the target never saw ${path}`);
  return seen.headers;
}

beforeAll(async () => {
  backend = await echoBackend('app');
  proxy = await startTestProxy(model, { [APP]: [backend.address] }, { server: { shutdownGraceMs: 100 } });
});

afterAll(async () => {
  await proxy.close();
  await backend.close();
  await insecure.close();
});

async function stillServes(): Promise<void> {
  expect((await get(`${proxy.https}/after`)).status).toBe(200);
}

describe('requests the ALB refuses before routing', () => {
  // Troubleshoot: "HTTP 463: The load balancer received an X-Forwarded-For request header with too many IP addresses. The upper limit for IP addresses is 30."
  test('463 for more than 30 X-Forwarded-For addresses; 30 pass', async () => {
    const addresses = (n: number) => Array.from({ length: n }, (_, i) => `198.51.100.${i + 1}`).join(', ');
    expect((await get(`${proxy.https}/x`, { 'x-forwarded-for': addresses(MAX_X_FORWARDED_FOR_ADDRESSES + 1) })).status).toBe(463);
    const ok = await get(`${proxy.https}/x`, { 'x-forwarded-for': addresses(MAX_X_FORWARDED_FOR_ADDRESSES) });
    expect(ok.status).toBe(200);
    await stillServes();
  });

  // Quotas, HTTP headers: "Single header 16 K"; Troubleshoot, HTTP 400: "16 K per single header".
  test('400 for a single header over 16 KB (under the 64 KB total Node enforces)', async () => {
    const answer = await rawTls(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`);
    expect(answer.text).toMatch(/^HTTP\/1\.1 400 /);
    expect(backend.seen.some((s) => s.headers['x-big'] !== undefined)).toBe(false);
    await stillServes();
  });

  // Troubleshoot: "HTTP 405: The client used the TRACE method, which is not supported by Application Load Balancers."
  test('405 for TRACE, without reaching a target', async () => {
    const before = backend.seen.length;
    expect((await get(`${proxy.https}/t`, {}, 'TRACE')).status).toBe(405);
    expect(backend.seen.length).toBe(before);
  });

  // Troubleshoot: "HTTP 501: The load balancer received a Transfer-Encoding header with an unsupported value. The supported values for Transfer-Encoding are chunked and identity."
  test.each([
    ['gzip (Node parser refuses it)', 'gzip'],
    ['gzip, chunked (Node parser accepts it)', 'gzip, chunked'],
  ])('501 for Transfer-Encoding: %s', async (_name, value) => {
    const answer = await rawTls(`POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ${value}\r\n\r\n0\r\n\r\n`);
    expect(answer.text).toMatch(/^HTTP\/1\.1 501 /);
    await stillServes();
  });

  // Troubleshoot: "HTTP 408: The client did not send data before the idle timeout period expired." (idle timeout 1 s here)
  test('408 when the client stops sending its body for the idle timeout; the target is not blamed', async () => {
    const answer = await rawTls('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly-part', 4000);
    expect(answer.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(answer.ms).toBeGreaterThanOrEqual(900);
    expect(answer.ms).toBeLessThan(3500);
    await eventually(async () => (await inFlight(proxy, APP, backend.id)) === 0, 2000, 'lease released');
    expect(proxy.runtime.report().targetGroups.find((g) => g.name === APP)?.targets[0].state).toBe('healthy');
    await stillServes();
  });

  test('a body that keeps flowing slower than the idle timeout in total is not cut', async () => {
    // 8 chunks 200 ms apart: 1.6 s in all, over the 1 s idle timeout, each gap a fifth of it (margin for a loaded machine).
    const chunks = Array.from({ length: 8 }, (_, i) => String(i).repeat(2));
    const answer = await rawTls('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 16\r\n\r\n', 5000, (write) => {
      chunks.forEach((c, i) => setTimeout(() => write(c), (i + 1) * 200));
    });
    expect(answer.text).toMatch(/^HTTP\/1\.1 200 /);
  });

  test('a Content-Length above 2^53 is refused with 400, never forwarded altered', async () => {
    const before = backend.seen.length;
    const answer = await rawTls('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9007199254740993\r\n\r\nabc');
    expect(answer.text).toMatch(/^HTTP\/1\.1 400 /);
    expect(backend.seen.length).toBe(before);
    await stillServes();
  });

  test('a Content-Length of 2^53 - 1 is passed on exactly as written', async () => {
    // Not sent in full (8 PiB): the target must see the header exactly as the client wrote it.
    void rawTls(`POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: ${Number.MAX_SAFE_INTEGER}\r\n\r\nabc`, 800);
    await eventually(() => backend.seen.some((s) => s.url === '/big'), 3000, 'request forwarded');
    expect(backend.seen.find((s) => s.url === '/big')?.headers['content-length']).toBe(String(Number.MAX_SAFE_INTEGER));
  });

  test('the limits apply on the HTTP listener too (before its redirect)', async () => {
    expect(await raw(proxy.ports[80], 'TRACE / HTTP/1.1\r\nHost: x\r\n\r\n')).toMatch(/^HTTP\/1\.1 405 /);
  });
});

describe('Host and X-Amzn-Trace-Id', () => {
  test('the port is removed from Host when it is the listener port', async () => {
    await rawTls(`GET /same-port HTTP/1.1\r\nHost: example.com:${HTTPS_PORT}\r\nConnection: close\r\n\r\n`);
    expect(seenHeaders('/same-port').host).toBe('example.com');
    await rawTls('GET /other-port HTTP/1.1\r\nHost: example.com:8443\r\nConnection: close\r\n\r\n');
    expect(seenHeaders('/other-port').host).toBe('example.com:8443');
  });

  // "If the Host header is missing from an HTTP/1.0 request, the load balancer generates a host header" (the ALB names itself).
  test('an HTTP/1.0 request without Host gets one naming the load balancer', async () => {
    const answer = await rawTls('GET /http10 HTTP/1.0\r\n\r\n');
    expect(answer.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(seenHeaders('/http10').host).toBe('127.0.0.1');
  });

  test('Connection: host does not strip Host', async () => {
    await rawTls('GET /connection-host HTTP/1.1\r\nHost: app.example\r\nConnection: host, close\r\n\r\n');
    expect(seenHeaders('/connection-host').host).toBe('app.example');
  });

  // Tracing guide: "If the X-Amzn-Trace-Id header is present and has a Self field, the load balancer updates the value of the Self field."
  test('an existing Self= is replaced, not duplicated; other fields are kept', async () => {
    const incoming = 'Self=1-67891233-12456789abcdef012345678;Root=1-67891233-abcdef012345678912345678;CalledFrom=app';
    const r = await get(`${proxy.https}/h`, { 'x-amzn-trace-id': incoming });
    const trace = (JSON.parse(r.body) as { headers: Record<string, string> }).headers['x-amzn-trace-id'];
    expect(trace.match(/Self=/g)).toHaveLength(1);
    expect(trace).toMatch(/^Self=1-[0-9a-f]{8}-[0-9a-f]{24};Root=1-67891233-abcdef012345678912345678;CalledFrom=app$/);
    expect(trace).not.toContain('12456789abcdef012345678;');
  });
});
