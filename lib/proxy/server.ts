/**
 * The proxy's network layer: one server per listener of the model, each doing what the ALB does
 * with a request — evaluate the rules, then redirect, answer, or forward to a target of the chosen
 * group over a pooled keep-alive connection, streaming both ways.
 */
import { createServer as createHttpServer, IncomingMessage, OutgoingHttpHeaders, Server, ServerResponse, STATUS_CODES } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, Socket } from 'node:net';
import { AddressInfo } from 'node:net';
import { Duplex } from 'node:stream';
import { Logger } from 'pino';
import { createAdminServer, TargetChange } from './admin';
import { RequestFacts, TargetLease } from './contracts';
import { applyListenerHeaders, clientResponseHeaders, upstreamRequestHeaders } from './headers';
import { ProxyMetrics } from './metrics';
import { ActionModel, ListenerModel } from './model';
import { evaluateListener, renderRedirect } from './rules';
import { chooseTargetGroup, DataPlaneRuntime } from './runtime';
import { TlsMaterial } from './tls';
import { createUpstreamClient, statusForUpstreamError, UpstreamClient, UpstreamClientKind } from './upstream';

/** ALB limits: request line and each header up to 16 KB, all headers up to 64 KB. */
export const MAX_URI_BYTES = 16 * 1024;
export const MAX_HEADER_BYTES = 64 * 1024;

/** How to run the proxy. */
export interface ProxyServerOptions {
  readonly runtime: DataPlaneRuntime;
  /** Template listener port → local port (0 picks a free one). */
  readonly ports: Readonly<Record<number, number>>;
  /** Address the listeners bind to. @default '127.0.0.1' */
  readonly bind?: string;
  /** Admin API port (0 picks a free one; undefined: no admin server). */
  readonly adminPort?: number;
  /** Address the admin API binds to. @default '127.0.0.1' */
  readonly adminBind?: string;
  /** Certificate for HTTPS listeners. */
  readonly tls: TlsMaterial;
  /** @default 'undici' */
  readonly upstreamClient?: UpstreamClientKind;
  /** Hears registration changes made through the admin API (cluster mode relays them). */
  readonly onTargetChange?: (change: TargetChange) => void;
  /** Time a client has to send the request head (slowloris guard). @default 10000 ms */
  readonly headersTimeoutMs?: number;
  readonly log: Logger;
}

/** A running proxy. */
export interface RunningProxy {
  /** Template listener port → the local port it listens on. */
  readonly ports: Readonly<Record<number, number>>;
  readonly adminPort?: number;
  readonly metrics: ProxyMetrics;
  close(): Promise<void>;
}

/** An error page like the ALB's, with the listener's headers. */
function sendLoadBalancerError(res: ServerResponse, status: number, listener: ListenerModel): void {
  if (res.headersSent) return void res.destroy();
  const text = STATUS_CODES[status] ?? 'Error';
  const body = `<html>\r\n<head><title>${status} ${text}</title></head>\r\n<body>\r\n<center><h1>${status} ${text}</h1></center>\r\n</body>\r\n</html>\r\n`;
  res.writeHead(status, applyListenerHeaders({ 'content-type': 'text/html', 'content-length': Buffer.byteLength(body) }, listener));
  res.end(body);
}

function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  if (!header) return cookies;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) cookies[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return cookies;
}

function requestFacts(req: IncomingMessage): RequestFacts {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return {
    method: req.method ?? 'GET',
    path: q < 0 ? url : url.slice(0, q),
    query: q < 0 ? '' : url.slice(q + 1),
    headers: req.headers,
    sourceIp: req.socket.remoteAddress ?? '',
  };
}

function addCookies(headers: OutgoingHttpHeaders, lease: TargetLease): void {
  const cookies = lease.setCookies ?? (lease.setCookie ? [lease.setCookie] : []);
  if (cookies.length === 0) return;
  const existing = headers['set-cookie'];
  headers['set-cookie'] = [...(existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)]), ...cookies];
}

/** Serves one listener: the request path of the ALB. */
class ListenerHandler {
  private readonly protocol: 'http' | 'https';
  /** Access logs cost an object per request: skip building it when the level drops them. */
  private readonly accessLog: boolean;

  constructor(
    private readonly listener: ListenerModel,
    private readonly options: ProxyServerOptions,
    private readonly upstream: UpstreamClient,
    private readonly metrics: ProxyMetrics,
    private readonly localPorts: Readonly<Record<number, number>>,
  ) {
    this.protocol = listener.protocol === 'HTTPS' ? 'https' : 'http';
    this.accessLog = options.log.isLevelEnabled('info');
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const started = process.hrtime.bigint();
    const facts = requestFacts(req);
    const finish = (targetGroup: string, code: number) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.metrics.observe(this.listener.port, targetGroup, code, seconds);
      if (this.accessLog) this.options.log.info({ listener: this.listener.port, client: facts.sourceIp, method: facts.method, path: facts.path, targetGroup, status: code, ms: seconds * 1000 }, 'request');
    };
    if ((req.url ?? '').length > MAX_URI_BYTES) {
      sendLoadBalancerError(res, 414, this.listener);
      return finish('-', 414);
    }
    const action = evaluateListener(this.listener, facts);
    if (action.type === 'forward') return void this.forward(req, res, facts, action, finish);
    if (action.type === 'redirect') {
      const location = renderRedirect(action, facts, this.listener.port, this.listener.protocol, this.localPorts);
      res.writeHead(action.statusCode, applyListenerHeaders({ location, 'content-length': 0 }, this.listener));
      res.end();
      req.resume();
      return finish('-', action.statusCode);
    }
    this.fixedResponse(res, action);
    req.resume();
    finish('-', action.statusCode);
  }

  private fixedResponse(res: ServerResponse, action: Extract<ActionModel, { type: 'fixed-response' }>): void {
    const body = action.body ?? '';
    const headers: OutgoingHttpHeaders = { 'content-length': Buffer.byteLength(body) };
    if (action.contentType) headers['content-type'] = action.contentType;
    res.writeHead(action.statusCode, applyListenerHeaders(headers, this.listener));
    res.end(body);
  }

  private async forward(
    req: IncomingMessage,
    res: ServerResponse,
    facts: RequestFacts,
    action: Extract<ActionModel, { type: 'forward' }>,
    finish: (targetGroup: string, code: number) => void,
  ): Promise<void> {
    const group = this.options.runtime.targetGroup(chooseTargetGroup(action))!;
    const lease = group.acquire(parseCookies(req.headers.cookie));
    if (!('targetId' in lease)) {
      req.resume();
      sendLoadBalancerError(res, 503, this.listener);
      return finish(group.model.name, 503);
    }
    let status = 502;
    let errored = false;
    try {
      await this.upstream.send(
        {
          target: lease.target,
          targetId: lease.targetId,
          method: facts.method,
          path: req.url ?? '/',
          headers: upstreamRequestHeaders(req.headers, { sourceIp: facts.sourceIp, protocol: this.protocol, listenerPort: this.listener.port }),
          client: req,
          timeoutMs: this.options.runtime.model.idleTimeoutSeconds * 1000,
        },
        (head) => {
          status = head.statusCode;
          const headers = clientResponseHeaders(head.headers, this.listener);
          addCookies(headers, lease);
          res.writeHead(status, headers);
          return res;
        },
      );
    } catch (error) {
      errored = true;
      if (!res.headersSent) status = statusForUpstreamError(error);
      sendLoadBalancerError(res, status, this.listener);
    } finally {
      lease.release({ failed: errored || status >= 500 });
      finish(group.model.name, status);
    }
  }

  /** WebSocket and other upgrades: the handshake goes to a target, then bytes flow both ways. */
  upgrade(req: IncomingMessage, client: Duplex, head: Buffer): void {
    const facts = requestFacts(req);
    const action = evaluateListener(this.listener, facts);
    if (action.type !== 'forward') return void client.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    const group = this.options.runtime.targetGroup(chooseTargetGroup(action))!;
    const lease = group.acquire(parseCookies(req.headers.cookie));
    if (!('targetId' in lease)) return void client.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    const headers = upstreamRequestHeaders(req.headers, { sourceIp: facts.sourceIp, protocol: this.protocol, listenerPort: this.listener.port }, true);
    const upstream: Socket = connect(lease.target.port, lease.target.host);
    let released = false;
    const release = (failed: boolean) => {
      if (!released) lease.release({ failed });
      released = true;
    };
    upstream.once('connect', () => {
      const lines = Object.entries(headers).flatMap(([name, value]) => (Array.isArray(value) ? value : [value]).map((v) => `${name}: ${v}`));
      upstream.write(`${req.method} ${req.url} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.once('error', () => {
      release(true);
      client.destroy();
    });
    client.once('error', () => upstream.destroy());
    upstream.once('close', () => {
      release(false);
      client.destroy();
    });
    client.once('close', () => upstream.destroy());
  }
}

/** Answers what Node's HTTP parser rejected, the way the ALB would: 400, or 431 for huge headers. */
function rejectMalformed(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) return void socket.destroy();
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Starts every listener of the model, and the admin API. */
export async function startProxyServer(options: ProxyServerOptions): Promise<RunningProxy> {
  const { runtime } = options;
  const upstream = createUpstreamClient(options.upstreamClient ?? 'undici');
  const metrics = new ProxyMetrics(runtime);
  const bind = options.bind ?? '127.0.0.1';
  const servers: Server[] = [];
  const localPorts: Record<number, number> = {};
  for (const listener of runtime.model.listeners) {
    const headersTimeout = options.headersTimeoutMs ?? 10_000;
    const serverOptions = {
      maxHeaderSize: MAX_HEADER_BYTES,
      headersTimeout,
      requestTimeout: 0,
      // Node enforces headersTimeout on this period (30 s by default), too coarse for a slowloris guard.
      connectionsCheckingInterval: Math.min(1000, Math.max(50, headersTimeout / 4)),
      // The ALB closes client connections idle longer than its idle timeout.
      keepAliveTimeout: runtime.model.idleTimeoutSeconds * 1000,
    };
    const server = listener.protocol === 'HTTPS' ? createHttpsServer({ ...serverOptions, cert: options.tls.cert, key: options.tls.key }) : createHttpServer(serverOptions);
    const handler = new ListenerHandler(listener, options, upstream, metrics, localPorts);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => handler.handle(req, res));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => handler.upgrade(req, socket, head));
    server.on('clientError', rejectMalformed);
    const requested = options.ports[listener.port];
    if (requested === undefined) throw new Error(`no local port for listener ${listener.port}: pass --listen ${listener.port}=<local port>`);
    localPorts[listener.port] = await listen(server, requested, bind);
    servers.push(server);
  }
  let adminPort: number | undefined;
  if (options.adminPort !== undefined) {
    const admin = createAdminServer(runtime, metrics, options.log, options.onTargetChange);
    adminPort = await listen(admin, options.adminPort, options.adminBind ?? '127.0.0.1');
    servers.push(admin);
  }
  runtime.start();
  return {
    ports: localPorts,
    adminPort,
    metrics,
    async close() {
      await runtime.stop();
      await Promise.all(servers.map(closeServer));
      await upstream.close();
    },
  };
}
