/**
 * The proxy's network layer: one server per listener of the model, each doing what the ALB does
 * with a request — evaluate the rules, then redirect, answer, or forward to a target of the chosen
 * group over a pooled keep-alive connection, streaming both ways.
 */
import { EventEmitter } from 'node:events';
import { IncomingMessage, OutgoingHttpHeaders, Server, STATUS_CODES } from 'node:http';
import { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { Logger } from 'pino';
import { createAdminServer, TargetChange } from './admin';
import { assertAdminExposure } from './admin-access';
import { RequestFacts, TargetLease } from './contracts';
import { CLIENT_CLOSED, sendLoadBalancerError } from './errors';
import { applyListenerHeaders, clientResponseHeaders, ForwardFacts, upstreamRequestHeaders } from './headers';
import { adoptHttp1Framing, isHttp2 } from './http2-request';
import { classifyRequest, desyncAction } from './desync';
import { ClientRequest, ClientResponse, createListenerServer, drainHttp1, ListenerServer, markRequestSeen } from './listener-server';
import { ConnectionBurstOptions, ConnectionBurstRelease } from './memory-release';
import { ProxyMetrics } from './metrics';
import { ActionModel, ListenerModel } from './model';
import { LIMIT_STATUS, refusedStatus } from './request-limits';
import { evaluateListener, renderRedirect } from './rules';
import { DataPlaneRuntime } from './runtime';
import { TlsMaterial } from './tls';
import { toOriginForm } from './request-target';
import { writeResponseHead } from './response-head';
import { exchangeHandshake, guardSocket, HandshakeClient, isWebSocketHandshake, reparseWithoutUpgrade, responseOnSocket } from './upgrade';
import { ClientAbort, clientAborted, createUpstreamClient, hasBody, statusForUpstreamError, UpstreamClient, UpstreamClientKind, UpstreamHead } from './upstream';
import { WafHeader, WebAclModel } from './waf/model';
import { WafEngine } from './waf/engine';
import { WafGate } from './waf/gate';
import { bracketHost } from '../alb/target-id';

export { CLIENT_CLOSED, sendLoadBalancerError } from './errors';

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
  /** Time a client has for the TLS handshake, then to send the request head (slowloris guard). @default 10000 ms */
  readonly headersTimeoutMs?: number;
  /** On close, how long requests in flight may take to finish before their connections are cut. @default 10000 ms */
  readonly shutdownGraceMs?: number;
  /** The web ACL to enforce in front of every listener (the template's, unless `--no-waf`). @default none */
  readonly webAcl?: WebAclModel;
  /** When memory is given back after a burst of closed client connections (memory-release.ts). @default 1000 connections, then 2 s without a close */
  readonly memoryRelease?: ConnectionBurstOptions;
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
const NO_HEADERS: readonly WafHeader[] = Object.freeze([]);
/** The stall watch of a request without a body still due: never stalls. */
const NOT_WATCHED: { readonly stalled: boolean } = Object.freeze({ stalled: false });

function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  if (!header) return cookies;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) cookies[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return cookies;
}

function requestFacts(req: ClientRequest): RequestFacts {
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

/** The stickiness cookies of the forward (`AWSALBTG`) and of the group (`AWSALB`), when set. */
function addCookies(headers: OutgoingHttpHeaders, groupCookies: readonly string[] | undefined, lease: TargetLease): void {
  // Most forwards and groups are not sticky: no array made for them.
  if (groupCookies === undefined && lease.setCookies === undefined && lease.setCookie === undefined) return;
  const cookies = [...(groupCookies ?? []), ...(lease.setCookies ?? (lease.setCookie ? [lease.setCookie] : []))];
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

/** What ending a forwarded request needs to know (the status is the target's, or 502 without a head). */
interface ExchangeEnding {
  readonly group: { readonly model: { readonly name: string } };
  readonly lease: TargetLease;
  readonly abort: ClientAbort;
  readonly stalled: { readonly stalled: boolean };
  readonly finish: Finish;
  readonly status: number;
}

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
    private readonly waf: WafGate | undefined,
  ) {
    this.protocol = listener.protocol === 'HTTPS' ? 'https' : 'http';
    this.accessLog = options.log.isLevelEnabled('info');
    this.timeoutMs = options.runtime.model.idleTimeoutSeconds * 1000;
  }

  /**
   * Serves one request; `handshake` is set for a WebSocket handshake on its raw socket.
   * `expectsContinue`: the client waits for `100 Continue` before its body, which it is sent only
   * once the request is neither refused nor blocked by the web ACL.
   */
  handle(req: ClientRequest, res: ClientResponse, handshake?: HandshakeClient, expectsContinue = false): void {
    // performance.now(), not hrtime.bigint(): no BigInt allocated per request for the latency.
    const started = performance.now();
    if (isHttp2(req)) adoptHttp1Framing(req);
    else {
      markRequestSeen(req.socket);
      toOriginForm(req);
    }
    const facts = requestFacts(req);
    // Measured at the end of the response (or its failure), as the metric's help text says.
    const finish: Finish = (targetGroup, code) => {
      const seconds = (performance.now() - started) / 1000;
      this.metrics.observe(this.listener.port, targetGroup, code, seconds);
      if (this.accessLog) this.options.log.info({ listener: this.listener.port, client: facts.sourceIp, method: facts.method, path: facts.path, targetGroup, status: code, ms: seconds * 1000 }, 'request');
    };
    if (this.state.closing) keepAlive(res, false);
    const refused = refusedStatus({ method: facts.method, url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders });
    if (refused !== undefined) return this.refuse(req, res, refused, finish);
    // HTTP/2 is outside http_desync_guardian's scope (its framing is binary); HTTP/1.x is classified.
    const desync = isHttp2(req) ? 'forward' : desyncAction(classifyRequest({ method: facts.method, httpVersion: req.httpVersion, headers: req.headers }).tier, this.options.runtime.model.desyncMitigationMode);
    if (desync === 'reject') return this.refuse(req, res, 400, finish);
    // Ambiguous in defensive mode: routed, and neither connection is reused afterwards.
    if (desync === 'forward-then-close') keepAlive(res, false);
    const closeTarget = desync === 'forward-then-close';
    let invited = !expectsContinue;
    const invite = (): void => {
      if (invited) return;
      invited = true;
      res.writeContinue();
    };
    if (this.waf === undefined) {
      invite();
      return this.route(req, res, facts, finish, handshake, closeTarget, NO_HEADERS);
    }
    // The web ACL decides before the listener rules, as WAF does in front of the ALB.
    this.waf.admit(req, res, facts, this.listener, finish, invite, (headers) => {
      invite();
      this.route(req, res, facts, finish, handshake, closeTarget, headers);
    });
  }

  /** The listener's rules and their action, for a request the web ACL let through. */
  private route(req: ClientRequest, res: ClientResponse, facts: RequestFacts, finish: Finish, handshake: HandshakeClient | undefined, closeTarget: boolean, wafHeaders: readonly WafHeader[]): void {
    const action = evaluateListener(this.listener, facts);
    if (action.type === 'forward') {
      try {
        this.forward(req, res, facts, action, finish, handshake, closeTarget, wafHeaders);
      } catch (error) {
        this.forwardCrashed(res, error as Error, finish);
      }
      return;
    }
    if (action.type === 'redirect') {
      const location = renderRedirect(action, facts, this.listener.port, this.listener.protocol, this.localPorts);
      writeResponseHead(res, action.statusCode, applyListenerHeaders({ location, 'content-length': 0 }, this.listener));
      res.end();
      req.resume();
      return finish('-', action.statusCode);
    }
    this.fixedResponse(res, action);
    req.resume();
    finish('-', action.statusCode);
  }

  /**
   * The ALB's answer to a request it does not route. The connection closes after it: the body of
   * a refused request (unsupported framing, an absurd length) is not read.
   */
  private refuse(req: ClientRequest, res: ClientResponse, status: number, finish: Finish): void {
    keepAlive(res, false);
    sendLoadBalancerError(res, status, this.listener);
    req.resume();
    finish('-', status);
  }

  /** A bug in the forward path: log it, and answer 502 rather than leaving the client hanging. */
  private forwardCrashed(res: ClientResponse, error: Error, finish: Finish): void {
    this.options.log.error({ err: error, listener: this.listener.port }, 'forward failed unexpectedly');
    sendLoadBalancerError(res, 502, this.listener);
    finish('-', 502);
  }

  private fixedResponse(res: ClientResponse, action: Extract<ActionModel, { type: 'fixed-response' }>): void {
    const body = action.body ?? '';
    const headers: OutgoingHttpHeaders = { 'content-length': Buffer.byteLength(body) };
    if (action.contentType) headers['content-type'] = action.contentType;
    writeResponseHead(res, action.statusCode, applyListenerHeaders(headers, this.listener));
    res.end(body);
  }

  private forwardFacts(req: ClientRequest, sourceIp: string): ForwardFacts {
    return {
      sourceIp,
      protocol: this.protocol,
      listenerPort: this.listener.port,
      // localAddress asks the kernel (getsockname) each time: only for the rare request without Host.
      loadBalancerHost: req.headers.host === undefined ? loadBalancerHost(req) : '',
      dropInvalidHeaderFields: this.options.runtime.model.dropInvalidHeaderFields,
    };
  }

  /**
   * Forwards to a target of the action's group. Not an async function: the exchange's own promise
   * is the only one per request (an async wrapper and its `.catch` made two more).
   */
  private forward(
    req: ClientRequest,
    res: ClientResponse,
    facts: RequestFacts,
    action: Extract<ActionModel, { type: 'forward' }>,
    finish: Finish,
    handshake: HandshakeClient | undefined,
    closeTarget: boolean,
    wafHeaders: readonly WafHeader[],
  ): void {
    // Only sticky forwards and groups read cookies: the others skip parsing the header.
    const cookies = action.groupStickinessSeconds !== undefined ? parseCookies(req.headers.cookie) : undefined;
    const choice = this.options.runtime.chooseForward(action, cookies ?? NO_COOKIES);
    const group = this.options.runtime.targetGroup(choice.targetGroup)!;
    const lease = group.acquire(group.usesCookies ? (cookies ?? parseCookies(req.headers.cookie)) : NO_COOKIES);
    if (!('targetId' in lease)) {
      req.resume();
      sendLoadBalancerError(res, 503, this.listener);
      return finish(group.model.name, 503);
    }
    // The client closing before the response ended abandons the target exchange at once.
    const abort = new ClientAbort();
    // on, not once: a response closes once, and once() wraps every listener in two more objects.
    res.on('close', () => {
      // errored: undici destroyed the response itself because the target failed; not the client.
      if (!res.writableFinished && !res.errored) abort.abort();
    });
    const stalled = this.watchForStall(req, abort);
    let status = 502;
    let exchange: Promise<void>;
    try {
      const upgrading = handshake !== undefined;
      const request = {
        target: lease.target,
        targetId: lease.targetId,
        protocol: group.model.protocol,
        method: facts.method,
        path: req.url ?? '/',
        // A handshake must keep its Connection: upgrade; a refused one is not reused anyway.
        headers: withWafHeaders(withTargetClose(upstreamRequestHeaders(req.headers, this.forwardFacts(req, facts.sourceIp), upgrading), closeTarget && !upgrading), wafHeaders),
        // An HTTP/2 request is a Readable with headers, all the upstream clients use of it.
        client: req as IncomingMessage,
        timeoutMs: this.timeoutMs,
        abort,
      };
      const sink = (head: UpstreamHead): ClientResponse => {
        status = head.statusCode;
        const headers = clientResponseHeaders(head.headers, this.listener);
        addCookies(headers, choice.setCookies, lease);
        if (this.state.closing) keepAlive(res, false);
        writeResponseHead(res, status, headers);
        return res;
      };
      exchange = handshake ? exchangeHandshake(request, sink, handshake, () => (status = 101)) : this.upstream.send(request, sink);
      // A response queued behind a pipelined one has no socket yet, and hears no 'close'.
      if (res.socket === null) exchange = untilConnectionCloses(exchange, req.socket as Socket, abort);
    } catch (error) {
      exchange = Promise.reject(error);
    }
    const ended = (error?: unknown): void => {
      try {
        this.exchangeEnded(req, res, { group, lease, abort, stalled, finish, status }, error);
      } catch (bug) {
        this.forwardCrashed(res, bug as Error, finish);
      }
    };
    exchange.then(() => ended(), (error: unknown) => ended(error ?? new Error('exchange failed')));
  }

  /** Ends a forwarded request: the answer for a failed exchange, the lease released, the request counted. */
  private exchangeEnded(req: ClientRequest, res: ClientResponse, ending: ExchangeEnding, error: unknown): void {
    const { lease, abort, stalled } = ending;
    let status = ending.status;
    let targetFailed = false;
    try {
      if (error === undefined) return;
      // A target that times out while the client's body is still due was waiting for the client.
      if (stalled.stalled || (!req.complete && statusForUpstreamError(error) === 504)) {
        // The client stopped sending its body: the ALB answers 408 and the target was not at fault.
        status = LIMIT_STATUS.clientStalled;
        keepAlive(res, false);
        sendLoadBalancerError(res, status, this.listener);
      } else if (abort.fired) {
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
      ending.finish(ending.group.model.name, status);
    }
  }

  /**
   * A client that stops sending its body for the idle timeout gets 408 ("The client did not send
   * data before the idle timeout period expired", ELB guide, Troubleshoot your Application Load
   * Balancers); the exchange with the target is abandoned. Armed only while a body is still due.
   */
  private watchForStall(req: ClientRequest, abort: ClientAbort): { readonly stalled: boolean } {
    if (req.complete || !hasBody(req)) return NOT_WATCHED;
    const watch = { stalled: false };
    req.setTimeout(this.timeoutMs, () => {
      watch.stalled = true;
      abort.abort();
    });
    req.once('end', () => req.setTimeout(0));
    return watch;
  }

  /**
   * Upgrade requests (see upgrade.ts): a WebSocket handshake is served like any request on its
   * raw socket and tunnelled only after the target's 101; other upgrades are parsed again as the
   * ordinary requests they are.
   */
  upgrade(server: EventEmitter, req: IncomingMessage, client: Duplex, head: Buffer): void {
    // Node detached its own error handler before 'upgrade': without this, a reset crashes the proxy.
    guardSocket(client);
    markRequestSeen(req.socket);
    if (!isWebSocketHandshake(req)) return reparseWithoutUpgrade(server, req, client, head);
    // Node hands over the connection's net.Socket (or TLSSocket), typed as a Duplex.
    const socket = client as Socket;
    const res = responseOnSocket(server, req, socket, head, { keepAliveMs: this.timeoutMs, open: this.state.tunnels });
    this.handle(req, res, { socket, head, response: res, open: this.state.tunnels });
  }
}

/** Headers the web ACL's Count/Allow rules insert (`x-amzn-waf-…`), as WAF adds them for the target. */
function withWafHeaders(headers: Record<string, string | string[]>, inserted: readonly WafHeader[]): Record<string, string | string[]> {
  for (const h of inserted) headers[h.name] = h.value;
  return headers;
}

/** `Connection: close` to the target: both upstream clients then drop the connection after the response. */
function withTargetClose(headers: Record<string, string | string[]>, close: boolean): Record<string, string | string[]> {
  if (close) headers.connection = 'close';
  return headers;
}

/** HTTP/1.1 responses say `Connection: close` when false; HTTP/2 streams have no such thing. */
function keepAlive(res: ClientResponse, on: boolean): void {
  if ('shouldKeepAlive' in res) res.shouldKeepAlive = on;
}

/** The Host given to HTTP/1.0 requests without one: the address the client reached (the ALB uses its DNS name). */
function loadBalancerHost(req: ClientRequest): string {
  return bracketHost(req.socket.localAddress ?? '127.0.0.1');
}

/** llhttp's reason when the last coding of a request's Transfer-Encoding is not `chunked` (`gzip`, `xchunked`). */
const UNSUPPORTED_CODING_REASON = 'Request has invalid `Transfer-Encoding`';

/** Node parser errors as the ALB's statuses (see request-limits.ts); the other malformed requests are 400. */
function parserErrorStatus(error: Error & { code?: string; reason?: string }): number {
  // Headers over 64 KB in all: the ALB's 400, not Node's 431.
  if (error.code === 'HPE_HEADER_OVERFLOW') return LIMIT_STATUS.headerTooLarge;
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return LIMIT_STATUS.clientStalled;
  if (error.code === 'HPE_INVALID_TRANSFER_ENCODING' && error.reason === UNSUPPORTED_CODING_REASON) return LIMIT_STATUS.unsupportedTransferEncoding;
  return 400;
}

/** A failed or timed-out TLS handshake: there is no HTTP to answer with, only a socket to close. */
function isTlsFailure(error: Error & { code?: string; library?: string }): boolean {
  return error.code?.startsWith('ERR_TLS_') === true || error.code?.startsWith('ERR_SSL_') === true || error.library !== undefined;
}

/** Answers what Node's HTTP parser rejected, the way the ALB would. */
function rejectMalformed(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable || isTlsFailure(error)) return void socket.destroy();
  const status = parserErrorStatus(error);
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
}

function listen(server: NetServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
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
  const waf = options.webAcl ? new WafGate(new WafEngine(options.webAcl), options.log, runtime.model.idleTimeoutSeconds * 1000) : undefined;
  if (waf) metrics.countWaf(() => waf.engine.counts);
  const bind = options.bind ?? '127.0.0.1';
  const state: ProxyState = { closing: false, tunnels: new Set() };
  const listeners: ListenerServer[] = [];
  const localPorts: Record<number, number> = {};
  const headersTimeoutMs = options.headersTimeoutMs ?? 10_000;
  const idleTimeoutMs = runtime.model.idleTimeoutSeconds * 1000;
  const memory = new ConnectionBurstRelease(options.memoryRelease);
  const onConnectionClose = () => memory.connectionClosed();
  // Every listener is built before any listens: a bad SslPolicy or a missing port then leaves nothing open.
  const built = runtime.model.listeners.map((listener) => {
    const requested = options.ports[listener.port];
    if (requested === undefined) throw new Error(`no local port for listener ${listener.port}: pass --listen ${listener.port}=<local port>`);
    const created = createListenerServer({ name: listener.logicalId, protocol: listener.protocol, tls: options.tls, sslPolicy: listener.sslPolicy, http2: runtime.model.http2Enabled, headersTimeoutMs, idleTimeoutMs, onConnectionClose });
    return { listener, created, requested };
  });
  for (const { listener, created, requested } of built) {
    const server = created.server;
    const handler = new ListenerHandler(listener, options, upstream, metrics, localPorts, state, waf);
    server.on('request', (req: ClientRequest, res: ClientResponse) => handler.handle(req, res));
    // With this listener Node leaves `100 Continue` to the handler: refused or blocked requests never get it.
    server.on('checkContinue', (req: ClientRequest, res: ClientResponse) => handler.handle(req, res, undefined, true));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => handler.upgrade(server, req, socket, head));
    server.on('clientError', rejectMalformed);
    localPorts[listener.port] = await listen(server, requested, bind);
    listeners.push(created);
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
      await Promise.all(listeners.map((l) => l.drain(graceMs)));
      for (const tunnel of state.tunnels) tunnel.destroy();
      if (admin) await drainHttp1(admin, 0);
      await runtime.stop();
      await upstream.close();
      memory.stop();
    },
  };
}
