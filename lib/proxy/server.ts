/**
 * The proxy's network layer: one server per listener of the model, each doing what the ALB does
 * with a request — evaluate the rules, then redirect, answer, or forward to a target of the chosen
 * group over a pooled keep-alive connection, streaming both ways.
 */
import { createServer as createHttpServer, IncomingMessage, OutgoingHttpHeaders, Server, ServerResponse, STATUS_CODES } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { AddressInfo, Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { Logger } from 'pino';
import { createAdminServer, TargetChange } from './admin';
import { assertAdminExposure } from './admin-access';
import { RequestFacts, TargetLease } from './contracts';
import { sendLoadBalancerError } from './errors';
import { applyListenerHeaders, clientResponseHeaders, ForwardFacts, upstreamRequestHeaders } from './headers';
import { ProxyMetrics } from './metrics';
import { ActionModel, ListenerModel } from './model';
import { evaluateListener, renderRedirect } from './rules';
import { chooseTargetGroup, DataPlaneRuntime } from './runtime';
import { TlsMaterial } from './tls';
import { toOriginForm } from './request-target';
import { exchangeHandshake, guardSocket, HandshakeClient, isWebSocketHandshake, reparseWithoutUpgrade, responseOnSocket } from './upgrade';
import { ClientAbort, clientAborted, createUpstreamClient, statusForUpstreamError, UpstreamClient, UpstreamClientKind, UpstreamHead } from './upstream';

export { sendLoadBalancerError } from './errors';

/** ALB limits: request line and each header up to 16 KB, all headers up to 64 KB. */
export const MAX_URI_BYTES = 16 * 1024;
export const MAX_HEADER_BYTES = 64 * 1024;

/** The status the ALB logs when the client closed the connection before it answered. */
export const CLIENT_CLOSED = 460;

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
  /** Bearer token of the admin API; required when `adminBind` is not loopback. @default none */
  readonly adminToken?: string;
  /** Certificate for HTTPS listeners. */
  readonly tls: TlsMaterial;
  /** @default 'undici' */
  readonly upstreamClient?: UpstreamClientKind;
  /** Hears registration changes made through the admin API (cluster mode relays them). */
  readonly onTargetChange?: (change: TargetChange) => void;
  /** Answers `GET /metrics` instead of this process's registry (cluster mode aggregates workers). */
  readonly metricsText?: () => Promise<{ contentType: string; text: string }>;
  /** Time a client has to send the request head (slowloris guard). @default 10000 ms */
  readonly headersTimeoutMs?: number;
  /** On close, how long requests in flight may take to finish before their connections are cut. @default 10000 ms */
  readonly shutdownGraceMs?: number;
  readonly log: Logger;
}

/** A running proxy. */
export interface RunningProxy {
  /** Template listener port → the local port it listens on. */
  readonly ports: Readonly<Record<number, number>>;
  readonly adminPort?: number;
  /** The address the admin API is bound to. */
  readonly adminAddress?: string;
  readonly metrics: ProxyMetrics;
  /** The upstream client (tests look at its pools). */
  readonly upstream: UpstreamClient;
  /** Stops accepting, lets requests in flight finish (up to the grace period), then closes the rest. */
  close(): Promise<void>;
}

const NO_COOKIES: Readonly<Record<string, string>> = Object.freeze({});

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

/**
 * A response queued behind a pipelined one never hears its connection close, and its exchange
 * (undici waits for the response to finish) would never settle, holding its lease forever: the
 * connection closing ends it as a client abort.
 */
function untilConnectionCloses(exchange: Promise<void>, socket: Socket, abort: ClientAbort): Promise<void> {
  return new Promise((resolve, reject) => {
    const onClose = (): void => {
      abort.abort();
      reject(clientAborted());
    };
    if (socket.destroyed) return onClose();
    socket.once('close', onClose);
    exchange.then(resolve, reject).finally(() => socket.off('close', onClose));
  });
}

/** Shared by the listeners: whether the proxy is shutting down (responses then close their connection). */
interface ProxyState {
  closing: boolean;
  /** Upgraded (tunnelled) client sockets, closed at shutdown. */
  readonly tunnels: Set<Duplex>;
}

type Finish = (targetGroup: string, code: number) => void;

/** Serves one listener: the request path of the ALB. */
class ListenerHandler {
  private readonly protocol: 'http' | 'https';
  /** Access logs cost an object per request: skip building it when the level drops them. */
  private readonly accessLog: boolean;
  private readonly timeoutMs: number;

  constructor(
    private readonly listener: ListenerModel,
    private readonly options: ProxyServerOptions,
    private readonly upstream: UpstreamClient,
    private readonly metrics: ProxyMetrics,
    private readonly localPorts: Readonly<Record<number, number>>,
    private readonly state: ProxyState,
  ) {
    this.protocol = listener.protocol === 'HTTPS' ? 'https' : 'http';
    this.accessLog = options.log.isLevelEnabled('info');
    this.timeoutMs = options.runtime.model.idleTimeoutSeconds * 1000;
  }

  /** Serves one request; `handshake` is set for a WebSocket handshake on its raw socket. */
  handle(req: IncomingMessage, res: ServerResponse, handshake?: HandshakeClient): void {
    const started = process.hrtime.bigint();
    toOriginForm(req);
    const facts = requestFacts(req);
    // Measured at the end of the response (or its failure), as the metric's help text says.
    const finish: Finish = (targetGroup, code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.metrics.observe(this.listener.port, targetGroup, code, seconds);
      if (this.accessLog) this.options.log.info({ listener: this.listener.port, client: facts.sourceIp, method: facts.method, path: facts.path, targetGroup, status: code, ms: seconds * 1000 }, 'request');
    };
    if (this.state.closing) res.shouldKeepAlive = false;
    if ((req.url ?? '').length > MAX_URI_BYTES) {
      sendLoadBalancerError(res, 414, this.listener);
      return finish('-', 414);
    }
    const action = evaluateListener(this.listener, facts);
    if (action.type === 'forward') {
      this.forward(req, res, facts, action, finish, handshake).catch((error: Error) => this.forwardCrashed(res, error, finish));
      return;
    }
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

  /** A bug in the forward path: log it, and answer 502 rather than leaving the client hanging. */
  private forwardCrashed(res: ServerResponse, error: Error, finish: Finish): void {
    this.options.log.error({ err: error, listener: this.listener.port }, 'forward failed unexpectedly');
    sendLoadBalancerError(res, 502, this.listener);
    finish('-', 502);
  }

  private fixedResponse(res: ServerResponse, action: Extract<ActionModel, { type: 'fixed-response' }>): void {
    const body = action.body ?? '';
    const headers: OutgoingHttpHeaders = { 'content-length': Buffer.byteLength(body) };
    if (action.contentType) headers['content-type'] = action.contentType;
    res.writeHead(action.statusCode, applyListenerHeaders(headers, this.listener));
    res.end(body);
  }

  private forwardFacts(sourceIp: string): ForwardFacts {
    return { sourceIp, protocol: this.protocol, listenerPort: this.listener.port, dropInvalidHeaderFields: this.options.runtime.model.dropInvalidHeaderFields };
  }

  private async forward(
    req: IncomingMessage,
    res: ServerResponse,
    facts: RequestFacts,
    action: Extract<ActionModel, { type: 'forward' }>,
    finish: Finish,
    handshake: HandshakeClient | undefined,
  ): Promise<void> {
    const group = this.options.runtime.targetGroup(chooseTargetGroup(action))!;
    // Only sticky groups read cookies: the others skip parsing the header.
    const lease = group.acquire(group.usesCookies ? parseCookies(req.headers.cookie) : NO_COOKIES);
    if (!('targetId' in lease)) {
      req.resume();
      sendLoadBalancerError(res, 503, this.listener);
      return finish(group.model.name, 503);
    }
    // The client closing before the response ended abandons the target exchange at once.
    const abort = new ClientAbort();
    res.once('close', () => {
      // errored: undici destroyed the response itself because the target failed; not the client.
      if (!res.writableFinished && !res.errored) abort.abort();
    });
    let status = 502;
    let targetFailed = false;
    try {
      const request = {
        target: lease.target,
        targetId: lease.targetId,
        protocol: group.model.protocol,
        method: facts.method,
        path: req.url ?? '/',
        headers: upstreamRequestHeaders(req.headers, this.forwardFacts(facts.sourceIp), handshake !== undefined),
        client: req,
        timeoutMs: this.timeoutMs,
        abort,
      };
      const sink = (head: UpstreamHead): ServerResponse => {
        status = head.statusCode;
        const headers = clientResponseHeaders(head.headers, this.listener);
        addCookies(headers, lease);
        if (this.state.closing) res.shouldKeepAlive = false;
        res.writeHead(status, headers);
        return res;
      };
      const exchange = handshake ? exchangeHandshake(request, sink, handshake, () => (status = 101)) : this.upstream.send(request, sink);
      // A response queued behind a pipelined one has no socket yet, and hears no 'close'.
      await (res.socket === null ? untilConnectionCloses(exchange, req.socket, abort) : exchange);
    } catch (error) {
      if (abort.aborted) {
        // The client left: the ALB logs 460 and it says nothing about the target's health.
        status = CLIENT_CLOSED;
      } else {
        targetFailed = true;
        // After the head went out the client only sees a cut; the log and metrics say 502, not the head's status.
        status = res.headersSent ? 502 : statusForUpstreamError(error);
        sendLoadBalancerError(res, status, this.listener);
      }
    } finally {
      lease.release({ failed: targetFailed || (status >= 500 && status !== CLIENT_CLOSED) });
      finish(group.model.name, status);
    }
  }

  /**
   * Upgrade requests (see upgrade.ts): a WebSocket handshake is served like any request on its
   * raw socket and tunnelled only after the target's 101; other upgrades are parsed again as the
   * ordinary requests they are.
   */
  upgrade(server: Server, req: IncomingMessage, client: Duplex, head: Buffer): void {
    // Node detached its own error handler before 'upgrade': without this, a reset crashes the proxy.
    guardSocket(client);
    if (!isWebSocketHandshake(req)) return reparseWithoutUpgrade(server, req, client, head);
    // Node hands over the connection's net.Socket (or TLSSocket), typed as a Duplex.
    const socket = client as Socket;
    const res = responseOnSocket(server, req, socket, head, { keepAliveMs: this.timeoutMs, open: this.state.tunnels });
    this.handle(req, res, { socket, head, response: res, open: this.state.tunnels });
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

/** How often idle keep-alive connections are swept while draining. */
const DRAIN_SWEEP_MS = 50;

/**
 * Stops accepting and closes idle connections at once; connections with a request in flight close
 * after their response (responses say `Connection: close` while closing), and whatever is left
 * when the grace period ends is cut.
 */
function drainServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const sweep = setInterval(() => server.closeIdleConnections(), DRAIN_SWEEP_MS);
    const cut = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
}

function createListenerServer(listener: ListenerModel, options: ProxyServerOptions): Server {
  const headersTimeout = options.headersTimeoutMs ?? 10_000;
  const serverOptions = {
    maxHeaderSize: MAX_HEADER_BYTES,
    headersTimeout,
    requestTimeout: 0,
    // Node enforces headersTimeout on this period (30 s by default), too coarse for a slowloris guard.
    connectionsCheckingInterval: Math.min(1000, Math.max(50, headersTimeout / 4)),
    // The ALB closes client connections idle longer than its idle timeout.
    keepAliveTimeout: options.runtime.model.idleTimeoutSeconds * 1000,
  };
  return listener.protocol === 'HTTPS' ? createHttpsServer({ ...serverOptions, cert: options.tls.cert, key: options.tls.key }) : createHttpServer(serverOptions);
}

/** Starts every listener of the model, and the admin API. */
export async function startProxyServer(options: ProxyServerOptions): Promise<RunningProxy> {
  const { runtime } = options;
  // Refused before anything listens: an admin API beyond loopback without a token.
  if (options.adminPort !== undefined) assertAdminExposure(options.adminBind ?? '127.0.0.1', options.adminToken);
  const upstream = createUpstreamClient(options.upstreamClient ?? 'undici');
  // A removed target's pooled connections would otherwise linger until their keep-alive timeout.
  runtime.onTargetRemoved((targetId) => upstream.forget(targetId));
  const metrics = new ProxyMetrics(runtime);
  const bind = options.bind ?? '127.0.0.1';
  const state: ProxyState = { closing: false, tunnels: new Set() };
  const listeners: Server[] = [];
  const localPorts: Record<number, number> = {};
  for (const listener of runtime.model.listeners) {
    const server = createListenerServer(listener, options);
    const handler = new ListenerHandler(listener, options, upstream, metrics, localPorts, state);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => handler.handle(req, res));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => handler.upgrade(server, req, socket, head));
    server.on('clientError', rejectMalformed);
    const requested = options.ports[listener.port];
    if (requested === undefined) throw new Error(`no local port for listener ${listener.port}: pass --listen ${listener.port}=<local port>`);
    localPorts[listener.port] = await listen(server, requested, bind);
    listeners.push(server);
  }
  let admin: Server | undefined;
  let adminPort: number | undefined;
  let adminAddress: string | undefined;
  if (options.adminPort !== undefined) {
    const adminBind = options.adminBind ?? '127.0.0.1';
    admin = createAdminServer(runtime, metrics, options.log, { onTargetChange: options.onTargetChange, metricsText: options.metricsText, token: options.adminToken });
    adminPort = await listen(admin, options.adminPort, adminBind);
    adminAddress = (admin.address() as AddressInfo).address;
  }
  runtime.start();
  const graceMs = options.shutdownGraceMs ?? 10_000;
  return {
    ports: localPorts,
    adminPort,
    adminAddress,
    metrics,
    upstream,
    async close() {
      state.closing = true;
      await Promise.all(listeners.map((server) => drainServer(server, graceMs)));
      for (const tunnel of state.tunnels) tunnel.destroy();
      if (admin) await drainServer(admin, 0);
      await runtime.stop();
      await upstream.close();
    },
  };
}
