import { EventEmitter } from 'node:events';
import { Agent as HttpAgent, IncomingHttpHeaders, IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Writable } from 'node:stream';
import { Pool } from 'undici';
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

  async send(r: UpstreamRequest, sink: BodySink): Promise<void> {
    if (r.path === '*') return (this.asteriskForm ??= new NodeHttpUpstream()).send(r, sink);
    // undici checks an emitter signal for an abort only from the moment it is given one.
    if (r.abort?.fired) throw clientAborted();
    // stream() writes the body straight into the client response: no intermediate Readable.
    await this.pool(r).stream(
      {
        method: r.method as 'GET',
        path: r.path,
        headers: r.headers,
        body: hasBody(r.client) ? r.client : null,
        headersTimeout: r.timeoutMs,
        bodyTimeout: r.timeoutMs,
        signal: r.abort,
      },
      ({ statusCode, headers }) => sink({ statusCode, headers: headers as UpstreamHead['headers'] }),
    );
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
