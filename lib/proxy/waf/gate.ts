/**
 * The web ACL in the request path: works out the body size WAF would see, asks the engine, and
 * answers a blocked request (403, or the rule's custom response) or lets it through with the
 * headers Count/Allow rules insert. Blocked requests are logged; every match is counted by rule.
 */
import { OutgoingHttpHeaders } from 'node:http';
import { Logger } from 'pino';
import { RequestFacts } from '../contracts';
import { CLIENT_CLOSED, loadBalancerErrorPage } from '../errors';
import { applyListenerHeaders } from '../headers';
import { ClientRequest, ClientResponse } from '../listener-server';
import { ListenerModel } from '../model';
import { LIMIT_STATUS } from '../request-limits';
import { writeResponseHead } from '../response-head';
import { hasBody } from '../upstream';
import { peekBodySize } from './body';
import { WafEngine, WafRequest, WafVerdict } from './engine';
import { WafHeader } from './model';

type Finish = (targetGroup: string, code: number) => void;

/** The declared body size, 0 without a body, or undefined when only reading it can tell (chunked). */
function declaredBodySize(req: ClientRequest): number | undefined {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length);
  return hasBody(req) ? undefined : 0;
}

/** Written out field by field: an object spread here cost microseconds per request (V8's slow clone path). */
function wafRequest(facts: RequestFacts, bodySize: number): WafRequest {
  return { method: facts.method, path: facts.path, query: facts.query, headers: facts.headers, sourceIp: facts.sourceIp, bodySize };
}

/** HTTP/1.1 responses say `Connection: close`; HTTP/2 streams have no such thing. */
function closeAfter(res: ClientResponse): void {
  if ('shouldKeepAlive' in res) res.shouldKeepAlive = false;
}

export class WafGate {
  private readonly logBlocks: boolean;
  private readonly logCounts: boolean;

  constructor(
    readonly engine: WafEngine,
    private readonly log: Logger,
    private readonly idleTimeoutMs: number,
  ) {
    this.logBlocks = log.isLevelEnabled('info');
    this.logCounts = log.isLevelEnabled('debug');
  }

  /**
   * Calls `pass` with the headers to insert when the web ACL allows the request; answers it
   * otherwise. `invite` sends `100 Continue` to a client waiting for it, before a peek at its body.
   */
  admit(req: ClientRequest, res: ClientResponse, facts: RequestFacts, listener: ListenerModel, finish: Finish, invite: () => void, pass: (headers: readonly WafHeader[]) => void): void {
    const declared = declaredBodySize(req);
    if (declared !== undefined || !this.engine.inspectsBody) return this.decide(req, res, wafRequest(facts, declared ?? 0), listener, finish, pass);
    // No Content-Length, and a rule measures bodies: wait for what WAF would get of it (8 KB).
    invite();
    void peekBodySize(req, this.idleTimeoutMs).then((peek) => {
      if ('size' in peek) return this.decide(req, res, wafRequest(facts, peek.size), listener, finish, pass);
      if (peek.failed === 'aborted') return finish('-', CLIENT_CLOSED);
      // The client stopped sending its body: the ALB's 408 for an idle client.
      closeAfter(res);
      this.send(res, LIMIT_STATUS.clientStalled, listener);
      finish('-', LIMIT_STATUS.clientStalled);
    });
  }

  private decide(req: ClientRequest, res: ClientResponse, request: WafRequest, listener: ListenerModel, finish: Finish, pass: (headers: readonly WafHeader[]) => void): void {
    const verdict = this.engine.evaluate(request, Date.now());
    if (this.logCounts && verdict.counted.length > 0) this.log.debug({ listener: listener.port, client: request.sourceIp, method: request.method, path: request.path, counted: verdict.counted }, 'waf count');
    if (verdict.action.type !== 'block') return pass(verdict.insertHeaders);
    const status = this.block(req, res, verdict, listener);
    if (this.logBlocks) this.log.info({ listener: listener.port, client: request.sourceIp, method: request.method, path: request.path, rule: verdict.rule, counted: verdict.counted, status }, 'waf block');
    finish('-', status);
  }

  /** WAF's block: the ALB's 403 page, or the custom response. A body still on its way is not read: the connection closes. */
  private block(req: ClientRequest, res: ClientResponse, verdict: WafVerdict, listener: ListenerModel): number {
    if (!req.complete && hasBody(req)) closeAfter(res);
    req.resume();
    const custom = verdict.action.type === 'block' ? verdict.action.response : undefined;
    if (custom === undefined) return this.send(res, 403, listener);
    const body = custom.body?.content ?? '';
    const headers: OutgoingHttpHeaders = { 'content-length': Buffer.byteLength(body) };
    for (const h of custom.headers) headers[h.name] = h.value;
    if (custom.body) headers['content-type'] = custom.body.contentType;
    writeResponseHead(res, custom.statusCode, applyListenerHeaders(headers, listener));
    res.end(body);
    return custom.statusCode;
  }

  private send(res: ClientResponse, status: number, listener: ListenerModel): number {
    if (res.headersSent || res.destroyed) return status;
    const page = loadBalancerErrorPage(status, listener);
    writeResponseHead(res, status, page.headers);
    res.end(page.body);
    return status;
  }
}
