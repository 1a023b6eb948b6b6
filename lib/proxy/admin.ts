import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { Logger } from 'pino';
import { TargetChange } from './contracts';
import { AccessDenial, checkAdminRequest } from './admin-access';
import { elbv2ErrorResponse, handleElbv2Request } from './elbv2-api';
import { DataPlaneRuntime, parseTargetAddress } from './runtime';
import { formatTargetId } from '../alb/target-id';
import { TARGETS_REPORT_PATH } from '../alb/targets-report';
import { ProxyMetrics } from './metrics';

const MAX_ADMIN_BODY = 64 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_ADMIN_BODY) reject(new Error('body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** `{"targetGroup": "api", "target": "127.0.0.1:9001"}` */
function parseTargetChange(body: string): { targetGroup: string; target: string } {
  const parsed = JSON.parse(body) as { targetGroup?: unknown; target?: unknown };
  if (typeof parsed.targetGroup !== 'string' || typeof parsed.target !== 'string') {
    throw new Error('expected {"targetGroup": "<name>", "target": "<host:port>"}');
  }
  return { targetGroup: parsed.targetGroup, target: parsed.target };
}

/** A runtime registration change, as the admin API receives it and cluster workers relay it. */
export type { TargetChange };

/** Applies a change to the runtime. Throws with a message naming the known groups when unknown. */
export function applyTargetChange(runtime: DataPlaneRuntime, change: TargetChange, log: Logger): { targetGroup: string; target: string; state: string } {
  const group = runtime.targetGroup(change.targetGroup);
  if (!group) throw Object.assign(new Error(`unknown target group ${JSON.stringify(change.targetGroup)}; known: ${runtime.knownNames().join(', ')}`), { status: 404 });
  const address = parseTargetAddress(change.target);
  const target = formatTargetId(address);
  if (change.op === 'register') {
    group.register(address);
    log.info({ targetGroup: group.model.name, target }, 'target registered');
    return { targetGroup: group.model.name, target, state: 'initial' };
  }
  if (!group.status().some((t) => t.id === target)) {
    // As ELBv2's DeregisterTargets: an error, not a 202 that would make a typo look like a drain.
    throw Object.assign(new Error(`target ${target} is not registered in target group ${group.model.name}`), { status: 400, code: 'InvalidTarget' });
  }
  void group.deregister(target).then((result) => log.info({ targetGroup: group.model.name, target, result }, 'target drained'));
  log.info({ targetGroup: group.model.name, target }, 'target deregistering');
  return { targetGroup: group.model.name, target, state: 'draining' };
}

/** How the admin server is wired into the proxy. */
export interface AdminServerOptions {
  /** Hears every registration change made here (cluster mode relays it to the other workers). */
  readonly onTargetChange?: (change: TargetChange) => void;
  /** Answers `GET /metrics` instead of this process's registry (cluster mode aggregates workers). */
  readonly metricsText?: () => Promise<{ contentType: string; text: string }>;
  /**
   * Bearer token every request but `GET /healthz` must carry (see admin-access.ts).
   * @default none: loopback Host names only
   */
  readonly token?: string;
}

function refuse(res: ServerResponse, path: string, denial: AccessDenial): void {
  if (path !== '/') return json(res, denial.status, { error: denial.message, code: denial.code });
  const answer = elbv2ErrorResponse(denial.code, denial.message, denial.status);
  res.writeHead(answer.statusCode, { 'content-type': answer.contentType });
  res.end(answer.body);
}

/**
 * The admin API: target listing and registration, Prometheus metrics, a liveness probe, and the
 * ELBv2 Query API subset at `POST /` for the drain CLI's `--endpoint`. Requests a web page could
 * forge are refused (admin-access.ts).
 */
export function createAdminServer(runtime: DataPlaneRuntime, metrics: ProxyMetrics, log: Logger, options: AdminServerOptions = {}): Server {
  const { onTargetChange, metricsText } = options;
  const changeTargets = async (req: IncomingMessage, res: ServerResponse, op: TargetChange['op']): Promise<void> => {
    const change = { op, ...parseTargetChange(await readBody(req)) };
    try {
      const result = applyTargetChange(runtime, change, log);
      onTargetChange?.(change);
      return json(res, op === 'register' ? 200 : 202, result);
    } catch (error) {
      const { status, code } = error as { status?: number; code?: string };
      return json(res, status ?? 400, code === undefined ? { error: (error as Error).message } : { error: (error as Error).message, code });
    }
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    const denial = checkAdminRequest(req, path, options.token);
    if (denial) return refuse(res, path, denial);
    if (req.method === 'GET' && path === '/healthz') return json(res, 200, { status: 'ok' });
    if (req.method === 'GET' && path === TARGETS_REPORT_PATH) return json(res, 200, runtime.report());
    if (req.method === 'GET' && path === '/metrics') {
      const answer = metricsText ? await metricsText() : { contentType: metrics.registry.contentType, text: await metrics.registry.metrics() };
      res.writeHead(200, { 'content-type': answer.contentType });
      return void res.end(answer.text);
    }
    if (req.method === 'POST' && path === '/targets/register') return changeTargets(req, res, 'register');
    if (req.method === 'POST' && path === '/targets/deregister') return changeTargets(req, res, 'deregister');
    if (req.method === 'POST' && path === '/') {
      const answer = handleElbv2Request(runtime, await readBody(req), onTargetChange);
      res.writeHead(answer.statusCode, { 'content-type': answer.contentType });
      return void res.end(answer.body);
    }
    json(res, 404, { error: 'not found: GET /targets, /metrics, /healthz; POST /targets/register, /targets/deregister, / (ELBv2 Query API)' });
  };

  return createServer((req, res) => {
    route(req, res).catch((error: Error) => json(res, 400, { error: error.message }));
  });
}
