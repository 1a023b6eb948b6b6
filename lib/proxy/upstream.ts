import { EventEmitter } from 'node:events';
import { Agent as HttpAgent, IncomingHttpHeaders, IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable, Writable } from 'node:stream';
import { Dispatcher, Pool } from 'undici';
import { formatTargetId } from '../alb/target-id';
import { TargetAddress } from './model';

/** A target's response head. */
export interface UpstreamHead {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[] | undefined>;
}

/** Given the response head, returns where the body goes (the client response). */
export type BodySink = (head: UpstreamHead) => Writable;

/** HTTP or HTTPS to the target, as its target group's Protocol says. */
export type TargetProtocol = 'HTTP' | 'HTTPS';

/**
 * Fired by the network layer when the client goes away: the upstream exchange is abandoned so the
 * target's connection (and the lease) is not held until a timeout. An EventEmitter rather than an
 * AbortController because undici accepts either and an emitter is much cheaper to make per request.
 * No `aborted` property: undici 8 takes any signal that has one for an AbortSignal (and fails on it).
 */
export class ClientAbort extends EventEmitter {
  fired = false;

  abort(): void {
    if (this.fired) return;
    this.fired = true;
    this.emit('abort');
  }
}

/** One request to a target, streamed both ways. */
export interface UpstreamRequest {
  readonly target: TargetAddress;
  readonly targetId: string;
  /** @default 'HTTP' */
  readonly protocol?: TargetProtocol;
  readonly method: string;
  /** Path and query as received. */
  readonly path: string;
  readonly headers: Record<string, string | string[]>;
  /** The client's request, as the body stream (not read for requests without a body). */
  readonly client: IncomingMessage;
  /** The ALB's idle timeout: no response head (or no body bytes) within it fails the exchange. */
  readonly timeoutMs: number;
  /** Aborts the exchange when the client goes away. */
  readonly abort?: ClientAbort;
}

/** Sends requests to targets over pooled keep-alive connections. */
export interface UpstreamClient {
  /** Streams the response body into the sink; resolves when it is all written, rejects on failure. */
  send(request: UpstreamRequest, sink: BodySink): Promise<void>;
  /** Closes a target's pooled connections (it was removed); a later request opens new ones. */
  forget(targetId: string): void;
  close(): Promise<void>;
}

/** Which client: undici pools, or node:http with a keep-alive Agent. */
export type UpstreamClientKind = 'undici' | 'http';

/** The ALB status for a failed upstream exchange: 504 when the target was too slow, else 502. */
export function statusForUpstreamError(error: unknown): 502 | 504 {
  const code = (error as { code?: string } | undefined)?.code;
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UPSTREAM_TIMEOUT' ? 504 : 502;
}

/** Whether a client request carries a body (HTTP/1.1 framing; HTTP/2 requests are given it on arrival). */
export function hasBody(request: { readonly headers: IncomingHttpHeaders }): boolean {
  const length = request.headers['content-length'];
  return length !== undefined ? length !== '0' : request.headers['transfer-encoding'] !== undefined;
}

/**
 * Targets should keep connections open longer than the ALB's idle timeout (docs/alb-behaviour.md §17), so
 * pooled connections are dropped a little before a typical target would close them.
 */
const POOL_KEEP_ALIVE_MS = 4_000;

/** Target certificates are not verified, as the ALB does not verify them either. */
const TARGET_TLS = { rejectUnauthorized: false } as const;

function origin(protocol: TargetProtocol, target: TargetAddress): string {
  return `${protocol === 'HTTPS' ? 'https' : 'http'}://${formatTargetId(target)}`;
}

/** A target may serve both protocols: each has its own pool. */
function poolKey(protocol: TargetProtocol, targetId: string): string {
  return protocol === 'HTTPS' ? `https:${targetId}` : targetId;
}

/** "Premature close": the client response closed before all of it was written. */
function prematureClose(): Error {
  return Object.assign(new Error('client response closed before the end'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}

/**
 * Stops reading a client body the target will no longer take. Its socket is detached first, as
 * undici does, so that the client connection stays open for the error response.
 */
function discardBody(body: Readable, error: Error): void {
  if (body.destroyed) return;
  if (body instanceof IncomingMessage) (body as { socket: unknown }).socket = null;
  body.destroy(error);
}

/**
 * One exchange with a target through undici's dispatch(), its response head and body written
 * straight into the sink. This is what `Pool.stream()` does, less what stream() adds per request
 * and the proxy does not need: an AsyncResource and two scope switches, its own promise, a copy
 * of the options (made whenever a signal is passed), and four listeners on the client response.
 * Settles once the sink has finished (all written), or on the first failure, exactly once.
 */
class RelayHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null;
  private res: Writable | null = null;
  private settled = false;
  /** Set when the exchange failed or the client left: the controller is aborted as soon as there is one. */
  private reason: Error | null = null;
  private drainListened = false;

  constructor(
    private readonly sink: BodySink,
    private readonly body: Readable | null,
    abort: ClientAbort | undefined,
    private readonly resolve: () => void,
    private readonly rejectOnce: (error: Error) => void,
  ) {
    // on, not once: a ClientAbort fires once.
    abort?.on('abort', () => this.fail(clientAborted()));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.reason) controller.abort(this.reason);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: UpstreamHead['headers']): void {
    // 1xx (103 Early Hints): the proxy forwards only the final response.
    if (statusCode < 200 || this.settled) return;
    // A throw (a header the client response refuses) reaches undici, which fails the exchange.
    const res = this.sink({ statusCode, headers });
    this.res = res;
    res.on('finish', () => this.done());
    res.on('close', () => {
      if (!res.writableFinished) this.fail(prematureClose());
    });
    if (res.closed || res.destroyed) this.fail(prematureClose());
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const res = this.res;
    if (res === null || this.settled || res.write(chunk)) return;
    controller.pause();
    if (this.drainListened) return;
    this.drainListened = true;
    res.on('drain', () => this.controller?.resume());
  }

  onResponseEnd(): void {
    if (this.res === null) return this.done();
    if (!this.settled) this.res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, error: Error): void {
    const res = this.res;
    // After the head went out the client only sees a cut (errored: not mistaken for the client leaving).
    if (res !== null && !res.destroyed) res.destroy(error);
    // undici has ended the exchange itself.
    this.fail(error, false);
  }

  private done(): void {
    if (this.settled) return;
    this.settled = true;
    this.resolve();
  }

  /** Rejects once, abandons the exchange with the target (unless undici already did) and stops reading the client's body. */
  private fail(error: Error, abortTarget = true): void {
    if (this.settled) return;
    this.settled = true;
    if (abortTarget) {
      this.reason = error;
      this.controller?.abort(error);
    }
    if (this.body !== null) discardBody(this.body, error);
    this.rejectOnce(error);
  }
}

class UndiciUpstream implements UpstreamClient {
  /** Pools by poolKey. */
  private readonly pools = new Map<string, Pool>();
  /** undici only sends origin-form paths: `OPTIONS *` (asterisk-form) goes through node:http. */
  private asteriskForm?: NodeHttpUpstream;

  private pool(r: UpstreamRequest): Pool {
    const key = poolKey(r.protocol ?? 'HTTP', r.targetId);
    let pool = this.pools.get(key);
    if (pool === undefined) {
      pool = new Pool(origin(r.protocol ?? 'HTTP', r.target), {
        connections: 256,
        pipelining: 1,
        keepAliveTimeout: POOL_KEEP_ALIVE_MS,
        keepAliveMaxTimeout: POOL_KEEP_ALIVE_MS,
        connect: r.protocol === 'HTTPS' ? TARGET_TLS : undefined,
        // The ALB speaks HTTP/1.1 to targets (target group ProtocolVersion HTTP1); undici 8 would
        // otherwise take h2 from an HTTPS target that offers it in ALPN.
        allowH2: false,
      });
      this.pools.set(key, pool);
    }
    return pool;
  }

  send(r: UpstreamRequest, sink: BodySink): Promise<void> {
    if (r.path === '*') return (this.asteriskForm ??= new NodeHttpUpstream()).send(r, sink);
    // The abort listener only hears aborts from the moment it is added.
    if (r.abort?.fired) return Promise.reject(clientAborted());
    const body = hasBody(r.client) ? r.client : null;
    return new Promise((resolve, reject) => {
      const options = { method: r.method as 'GET', path: r.path, headers: r.headers, body, headersTimeout: r.timeoutMs, bodyTimeout: r.timeoutMs };
      this.pool(r).dispatch(options, new RelayHandler(sink, body, r.abort, resolve, reject));
    });
  }

  forget(targetId: string): void {
    this.asteriskForm?.forget(targetId);
    for (const key of [poolKey('HTTP', targetId), poolKey('HTTPS', targetId)]) {
      const pool = this.pools.get(key);
      if (pool === undefined) continue;
      this.pools.delete(key);
      // close() lets requests already sent finish; new ones get a new pool.
      void pool.close().catch(() => undefined);
    }
  }

  /** How many pools are open (tests check that removed targets do not leak one). */
  get poolCount(): number {
    return this.pools.size;
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await this.asteriskForm?.close();
    await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)));
  }
}

/** The target did not answer (or stopped sending) within the idle timeout: a 504. */
export function upstreamTimeout(): Error {
  return Object.assign(new Error('target did not answer in time'), { code: 'UPSTREAM_TIMEOUT' });
}

/** The client went away: the exchange is abandoned (a 460, not the target's fault). */
export function clientAborted(): Error {
  return Object.assign(new Error('client went away'), { code: 'CLIENT_ABORTED' });
}

/** Streams a node:http response into the sink; settles when it is all written, or on failure. */
export function relayResponse(response: IncomingMessage, sink: BodySink, resolve: () => void, reject: (error: Error) => void): void {
  const destination = sink({ statusCode: response.statusCode ?? 502, headers: response.headers });
  response.once('error', reject);
  // 'aborted': the target closed mid-body; the destination must not look complete.
  response.once('aborted', () => reject(Object.assign(new Error('target closed the connection mid-body'), { code: 'ECONNRESET' })));
  // 'finish': all written. A response on a raw socket (an upgrade answered without 101) is never
  // closed by a server, so 'finish' is the end; 'close' before it is a client gone away.
  destination.once('finish', resolve);
  destination.once('close', () => (destination.writableFinished ? resolve() : (response.destroy(), reject(new Error('client went away')))));
  response.pipe(destination);
}

class NodeHttpUpstream implements UpstreamClient {
  private readonly agent = new HttpAgent({ keepAlive: true, maxSockets: 256, timeout: POOL_KEEP_ALIVE_MS });
  private readonly tlsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 256, timeout: POOL_KEEP_ALIVE_MS, ...TARGET_TLS });

  send(r: UpstreamRequest, sink: BodySink): Promise<void> {
    // The abort listener below only hears aborts from now on.
    if (r.abort?.fired) return Promise.reject(clientAborted());
    return new Promise((resolve, reject) => {
      const options = { host: r.target.host, port: r.target.port, method: r.method, path: r.path, headers: r.headers };
      const outgoing = r.protocol === 'HTTPS' ? httpsRequest({ ...options, agent: this.tlsAgent }) : httpRequest({ ...options, agent: this.agent });
      // A socket idle timeout covers both the wait for the head and a body that stops flowing.
      outgoing.setTimeout(r.timeoutMs, () => outgoing.destroy(upstreamTimeout()));
      const onAbort = () => outgoing.destroy(clientAborted());
      r.abort?.once('abort', onAbort);
      outgoing.once('response', (response) => {
        try {
          relayResponse(response, sink, resolve, reject);
        } catch (error) {
          // A throw in the sink (e.g. invalid header) must fail this exchange, not the process.
          response.destroy();
          reject(error);
        }
      });
      outgoing.once('error', reject);
      outgoing.once('close', () => r.abort?.off('abort', onAbort));
      if (hasBody(r.client)) r.client.pipe(outgoing);
      else outgoing.end();
    });
  }

  forget(targetId: string): void {
    // Free sockets of a removed target are closed now rather than at the keep-alive timeout.
    for (const agent of [this.agent, this.tlsAgent] as HttpAgent[]) {
      for (const [name, sockets] of Object.entries(agent.freeSockets)) {
        if (name.startsWith(`${targetId}:`) || name.startsWith(`${targetId.replace(/^\[|\](?=:)/g, '')}:`)) for (const s of sockets ?? []) s.destroy();
      }
    }
  }

  async close(): Promise<void> {
    this.agent.destroy();
    this.tlsAgent.destroy();
  }
}

/** Creates the upstream client of the given kind. */
export function createUpstreamClient(kind: UpstreamClientKind): UpstreamClient {
  return kind === 'http' ? new NodeHttpUpstream() : new UndiciUpstream();
}
