/**
 * Socket-level test helpers: the model of the synthesized stack (one source of truth for paths,
 * headers and group names), echo backends on loopback, and a running proxy over them.
 */
import WebSocket from 'ws';
import { createServer as createHttpServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { AddressInfo, connect, Socket } from 'node:net';
import pino, { Logger } from 'pino';
import { Agent, request } from 'undici';
import type { ConfigOverrides } from '../../../../lib/config';
import { LoadBalancerModel, TargetAddress } from '../../../../lib/proxy/model';
import { createLoadBalancerRuntime, RuntimeOptions } from '../../../../lib/proxy/runtime';
import { ProxyServerOptions, RunningProxy, startProxyServer } from '../../../../lib/proxy/server';
import { loadModelFromTemplate } from '../../../../lib/proxy/template';
import { selfSignedCertificate, TlsMaterial } from '../../../../lib/proxy/tls';
import { stackTemplate } from '../../../support/stack-template';
import { closeNow } from './backends';

export { stackTemplate };

/** The proxy's model of the synthesized stack. */
export function stackModel(partial: ConfigOverrides = {}): LoadBalancerModel {
  return loadModelFromTemplate(stackTemplate(partial));
}

/**
 * The stack's model with the HTTPS default action forwarding to its heaviest service alone (`web`
 * by default, instead of 90/10 with `web-canary`, which is removed as the config then requires):
 * for the suites about listeners, headers, limits and one target group, which register backends in
 * that group only, so that no request depends on the canary's share. The weighted default itself is
 * tested through the real model (server-behaviour, template-parity, the conformance suite).
 */
export function oneDefaultGroupModel(partial: ConfigOverrides = {}): LoadBalancerModel {
  return stackModel(oneDefaultGroup(partial));
}

/** The config overrides of {@link oneDefaultGroupModel}, for suites that write the template to a file. */
export function oneDefaultGroup(partial: ConfigOverrides = {}): ConfigOverrides {
  const model = stackModel(partial);
  const heaviest = defaultGroup(model);
  const others = defaultGroups(model).filter((g) => g.name !== heaviest);
  const services = { ...partial.services, ...Object.fromEntries(others.map((g) => [g.name, null])) };
  return { ...partial, services, defaultAction: { forward: heaviest } };
}

export { defaultGroup, defaultGroups, examplePath, fixedResponseRule, groupForPath, httpsListener } from '../../../../lib/proxy/model-lookup';
import { defaultGroup, defaultGroups } from '../../../../lib/proxy/model-lookup';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface EchoBackend {
  readonly name: string;
  readonly port: number;
  readonly address: TargetAddress;
  readonly id: string;
  readonly server: Server;
  /** Swappable request handler (/health answers `health`). */
  handler: Handler;
  /** Status of /health. @default 200 */
  health: number;
  /** Requests seen (not /health), with their headers. */
  readonly seen: { url: string; headers: IncomingMessage['headers'] }[];
  /** Open TCP connections from the proxy (pooled ones included). */
  readonly sockets: Set<Socket>;
  close(): Promise<void>;
}

/** Echoes `{name, url, method, headers}` as JSON. */
export function echo(name: string): Handler {
  return (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', server: 'backend' });
      res.end(JSON.stringify({ name, url: req.url, method: req.method, headers: req.headers }));
    });
  };
}

/** A backend on loopback (HTTPS with `tls`), answering /health with 200. */
export async function echoBackend(name: string, tls?: TlsMaterial): Promise<EchoBackend> {
  const seen: EchoBackend['seen'] = [];
  const sockets = new Set<Socket>();
  const backend = {} as EchoBackend;
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/health') {
      res.statusCode = backend.health;
      return void res.end('ok');
    }
    seen.push({ url: req.url ?? '', headers: req.headers });
    backend.handler(req, res);
  };
  const server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, listener) : createHttpServer(listener);
  server.keepAliveTimeout = 65_000;
  server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  Object.assign(backend, {
    name,
    port,
    address: { host: '127.0.0.1', port },
    id: `127.0.0.1:${port}`,
    server,
    handler: echo(name),
    health: 200,
    seen,
    sockets,
    close: () => closeNow(server),
  });
  return backend;
}

// HTTP/1.1 as these tests are written (undici 8 takes h2 from ALPN; server-http2.test.ts covers h2).
export const insecure = new Agent({ connect: { rejectUnauthorized: false }, allowH2: false });

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export async function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  const response = await request(url, { method: method as 'GET', headers, dispatcher: insecure });
  return { status: response.statusCode, headers: response.headers, body: await response.body.text() };
}

/** The backend that served an echo answer. */
export function servedBy(answer: Answer): string {
  return (JSON.parse(answer.body) as { name: string }).name;
}

/** Sends raw bytes and returns everything the proxy answers until it closes or goes quiet. */
export function raw(port: number, bytes: string, quietMs = 1500): Promise<string> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let data = '';
    let timer = setTimeout(() => socket.destroy(), quietMs);
    socket.on('data', (chunk) => {
      data += chunk.toString();
      clearTimeout(timer);
      timer = setTimeout(() => socket.destroy(), 200);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(data);
    });
    socket.on('error', () => undefined);
    socket.write(bytes);
  });
}

/** Sends `bytes` on a plain TCP connection (from `localAddress` if given) and resolves with the response's status line. */
export function statusLine(port: number, bytes: string, localAddress?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) });
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (text.includes('\r\n')) {
        socket.destroy();
        resolve(text.slice(0, text.indexOf('\r\n')));
      }
    });
    socket.on('error', reject);
    socket.write(bytes);
  });
}

/** Opens a WebSocket (any certificate accepted), sends one message and returns the first reply. */
export async function webSocketRoundTrip(url: string, message: string): Promise<string> {
  const socket = new WebSocket(url, { rejectUnauthorized: false });
  try {
    return await new Promise<string>((resolve, reject) => {
      socket.on('open', () => socket.send(message));
      socket.on('message', (data) => resolve(data.toString()));
      socket.on('error', reject);
    });
  } finally {
    socket.close();
  }
}

export interface TestProxy extends RunningProxy {
  readonly https: string;
  readonly http: string;
  readonly admin: string;
  readonly runtime: ReturnType<typeof createLoadBalancerRuntime>;
}

let tlsMaterial: Promise<TlsMaterial> | undefined;
/** One self-signed certificate per test file (generating one takes a while). */
export function testTls(): Promise<TlsMaterial> {
  tlsMaterial ??= selfSignedCertificate();
  return tlsMaterial;
}

/** Starts the proxy over `model` with the given targets (time scaled down for health checks). */
export async function startTestProxy(
  model: LoadBalancerModel,
  targets: Record<string, TargetAddress[]>,
  options: { runtime?: RuntimeOptions; server?: Partial<ProxyServerOptions>; log?: Logger } = {},
): Promise<TestProxy> {
  const runtime = createLoadBalancerRuntime(model, targets, { timeScale: 0.01, ...options.runtime });
  const proxy = await startProxyServer({
    runtime,
    ports: Object.fromEntries(model.listeners.map((l) => [l.port, 0])),
    adminPort: 0,
    tls: await testTls(),
    headersTimeoutMs: 500,
    log: options.log ?? pino({ level: 'silent' }),
    ...options.server,
  });
  const httpsPort = model.listeners.find((l) => l.protocol === 'HTTPS')?.port;
  const httpPort = model.listeners.find((l) => l.protocol === 'HTTP')?.port;
  return Object.assign(proxy, {
    runtime,
    https: httpsPort === undefined ? '' : `https://localhost:${proxy.ports[httpsPort]}`,
    http: httpPort === undefined ? '' : `http://localhost:${proxy.ports[httpPort]}`,
    admin: `http://127.0.0.1:${proxy.adminPort}`,
  });
}

/** Polls until `predicate` holds. */
export async function eventually(predicate: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** In-flight count of a target as the admin API reports it. */
export async function inFlight(proxy: TestProxy, group: string, targetId: string): Promise<number | undefined> {
  const report = proxy.runtime.report();
  return report.targetGroups.find((g) => g.name === group)?.targets.find((t) => t.id === targetId)?.inFlight;
}
