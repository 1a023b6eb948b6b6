import { Agent as HttpAgent, IncomingMessage, request as httpRequest } from 'node:http';
import { Writable } from 'node:stream';
import { Pool } from 'undici';
import { TargetAddress } from './model';

/** A target's response head. */
export interface UpstreamHead {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[] | undefined>;
}

/** Given the response head, returns where the body goes (the client response). */
export type BodySink = (head: UpstreamHead) => Writable;

/** One request to a target, streamed both ways. */
export interface UpstreamRequest {
  readonly target: TargetAddress;
  readonly targetId: string;
  readonly method: string;
  /** Path and query as received. */
  readonly path: string;
  readonly headers: Record<string, string | string[]>;
  /** The client's request, as the body stream (not read for requests without a body). */
  readonly client: IncomingMessage;
  /** The ALB's idle timeout: no response head within it is a 504. */
  readonly timeoutMs: number;
}

/** Sends requests to targets over pooled keep-alive connections. */
export interface UpstreamClient {
  /** Streams the response body into the sink; resolves when it is all written, rejects on failure. */
  send(request: UpstreamRequest, sink: BodySink): Promise<void>;
  /** Forgets a target's idle connections (it was deregistered). */
  forget(targetId: string): void;
  close(): Promise<void>;
}

/** Which client: undici pools, or node:http with a keep-alive Agent. */
export type UpstreamClientKind = 'undici' | 'http';

/** The ALB status for a failed upstream exchange: 504 when the target was too slow, else 502. */
export function statusForUpstreamError(error: unknown): 502 | 504 {
  const code = (error as { code?: string }).code;
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UPSTREAM_TIMEOUT' ? 504 : 502;
}

function hasBody(request: IncomingMessage): boolean {
  return request.headers['content-length'] !== undefined ? request.headers['content-length'] !== '0' : request.headers['transfer-encoding'] !== undefined;
}

/**
 * Targets should keep connections open longer than the ALB's idle timeout (alb-behaviour 17), so
 * pooled connections are dropped a little before a typical target would close them.
 */
const POOL_KEEP_ALIVE_MS = 4_000;

class UndiciUpstream implements UpstreamClient {
  private readonly pools = new Map<string, Pool>();

  private pool(targetId: string, target: TargetAddress): Pool {
    let pool = this.pools.get(targetId);
    if (pool === undefined) {
      const host = target.host.includes(':') ? `[${target.host}]` : target.host;
      pool = new Pool(`http://${host}:${target.port}`, { connections: 256, pipelining: 1, keepAliveTimeout: POOL_KEEP_ALIVE_MS, keepAliveMaxTimeout: POOL_KEEP_ALIVE_MS });
      this.pools.set(targetId, pool);
    }
    return pool;
  }

  async send(r: UpstreamRequest, sink: BodySink): Promise<void> {
    // stream() writes the body straight into the client response: no intermediate Readable.
    await this.pool(r.targetId, r.target).stream(
      {
        method: r.method as 'GET',
        path: r.path,
        headers: r.headers,
        body: hasBody(r.client) ? r.client : null,
        headersTimeout: r.timeoutMs,
        bodyTimeout: r.timeoutMs,
      },
      ({ statusCode, headers }) => sink({ statusCode, headers: headers as UpstreamHead['headers'] }),
    );
  }

  forget(targetId: string): void {
    const pool = this.pools.get(targetId);
    if (pool === undefined) return;
    this.pools.delete(targetId);
    void pool.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)));
  }
}

class NodeHttpUpstream implements UpstreamClient {
  private readonly agent = new HttpAgent({ keepAlive: true, maxSockets: 256, timeout: POOL_KEEP_ALIVE_MS });

  send(r: UpstreamRequest, sink: BodySink): Promise<void> {
    return new Promise((resolve, reject) => {
      const outgoing = httpRequest({ host: r.target.host, port: r.target.port, method: r.method, path: r.path, headers: r.headers, agent: this.agent });
      const timer = setTimeout(() => outgoing.destroy(Object.assign(new Error('target did not answer in time'), { code: 'UPSTREAM_TIMEOUT' })), r.timeoutMs);
      outgoing.once('response', (response) => {
        clearTimeout(timer);
        const destination = sink({ statusCode: response.statusCode ?? 502, headers: response.headers });
        response.once('error', reject);
        destination.once('close', () => (destination.writableFinished ? resolve() : (response.destroy(), reject(new Error('client went away')))));
        response.pipe(destination);
      });
      outgoing.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      if (hasBody(r.client)) r.client.pipe(outgoing);
      else outgoing.end();
    });
  }

  forget(): void {
    // The agent drops idle sockets of gone targets on its own when they close.
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}

/** Creates the upstream client of the given kind. */
export function createUpstreamClient(kind: UpstreamClientKind): UpstreamClient {
  return kind === 'http' ? new NodeHttpUpstream() : new UndiciUpstream();
}
