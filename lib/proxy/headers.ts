import { randomBytes } from 'node:crypto';
import { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { ListenerModel } from './model';

/**
 * Connection-level headers that never cross a proxy (RFC 9110 §7.6.1), and `expect`: the proxy
 * answers `100-continue` itself (Node's server does, RFC 9110 §10.1.1 lets an intermediary), so
 * the target gets the body without an expectation to meet.
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings', 'expect']);

/**
 * Trace ids' random part, drawn and hex-encoded in blocks: one crypto call and one encoding per
 * 4096 ids. Encoding 12 bytes per request (a call into C++ each time) and formatting the epoch
 * per request made the trace header 190 of the 254 ns the forwarded headers took (now 72 of 111).
 */
const IDS_PER_BLOCK = 4096;
const ID_HEX_CHARS = 24;
let randomHex = '';
let randomOffset = 0;

function randomHex24(): string {
  if (randomOffset === randomHex.length) {
    randomHex = randomBytes((ID_HEX_CHARS / 2) * IDS_PER_BLOCK).toString('hex');
    randomOffset = 0;
  }
  const hex = randomHex.slice(randomOffset, randomOffset + ID_HEX_CHARS);
  randomOffset += ID_HEX_CHARS;
  return hex;
}

/** The epoch-seconds field of the last trace id, formatted once per second rather than per request. */
let epochSecond = -1;
let epochHex = '';

function epochSecondsHex(nowMs: number): string {
  const second = Math.floor(nowMs / 1000);
  if (second !== epochSecond) {
    epochSecond = second;
    epochHex = second.toString(16).padStart(8, '0');
  }
  return epochHex;
}

/** `Root=1-<8 hex epoch seconds>-<24 hex>`, the ALB's trace id format. */
export function newTraceRoot(nowMs: number = Date.now()): string {
  return `Root=1-${epochSecondsHex(nowMs)}-${randomHex24()}`;
}

/** A `Self=` field of X-Amzn-Trace-Id, with the `;` that separates it from the next field. */
const SELF_FIELD = /(^|;)\s*Self=[^;]*/gi;

/**
 * X-Amzn-Trace-Id as the ALB forwards it ("Request tracing for your Application Load Balancer",
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-request-tracing.html):
 * without one it creates a Root; with one it keeps every field and puts its own `Self=` first,
 * replacing a `Self=` a previous hop set rather than adding a second one.
 */
export function traceHeader(existing: string | undefined): string {
  if (existing === undefined || existing === '') return newTraceRoot();
  const self = `Self=${newTraceRoot().slice('Root='.length)}`;
  const others = /self=/i.test(existing) ? existing.replace(SELF_FIELD, '').replace(/^\s*;/, '') : existing;
  return others === '' ? self : `${self};${others}`;
}

/**
 * The Host the target gets: the port is removed when it is the listener's (the ALB forwards
 * `example.com`, not `example.com:443`), and a request without Host (HTTP/1.0) gets one naming
 * the load balancer.
 */
export function forwardedHost(host: string | undefined, listenerPort: number, loadBalancerHost: string): string {
  if (host === undefined || host === '') return loadBalancerHost;
  const colon = host.lastIndexOf(':');
  // `[::1]:443` keeps its brackets; a bare IPv6 literal has no port to remove.
  if (colon < 0 || host.endsWith(']') || host.indexOf(':') !== colon && !host.startsWith('[')) return host;
  return host.slice(colon + 1) === String(listenerPort) ? host.slice(0, colon) : host;
}

/** What the proxy adds about the client connection. */
export interface ForwardFacts {
  readonly sourceIp: string;
  readonly protocol: 'http' | 'https';
  /** Listener port as in the template (what the ALB would report). */
  readonly listenerPort: number;
  /** Host given to requests that carry none (HTTP/1.0): the address the client reached. */
  readonly loadBalancerHost: string;
  /**
   * `routing.http.drop_invalid_header_fields.enabled`: drop header names the ALB calls invalid
   * (anything but letters, digits and hyphens, e.g. `x_token`, `x.a`). @default false
   */
  readonly dropInvalidHeaderFields?: boolean;
}

/** The ALB's rule for a valid header name (docs/alb-behaviour.md §18): letters, digits and hyphens only. */
const VALID_HEADER_NAME = /^[-A-Za-z0-9]+$/;

/** Header names listed in Connection (hop-by-hop for this message). */
function connectionTokens(connection: string): string[] {
  return connection.split(',').map((token) => token.trim().toLowerCase());
}

/**
 * Connection values that name no other header: the common case, checked without splitting so the
 * hot path allocates nothing for them.
 */
function namesOtherHeaders(connection: string | undefined): connection is string {
  if (connection === undefined) return false;
  const c = connection.toLowerCase();
  return c !== 'keep-alive' && c !== 'close' && c !== 'upgrade';
}

const COLON = 0x3a;

/** Headers `Connection` cannot remove: the target needs Host to know what is asked. */
const END_TO_END = new Set(['host']);

/**
 * Headers for the upstream request: the client's, less hop-by-hop ones (and those named in
 * `Connection`), with X-Forwarded-For appended, X-Forwarded-Proto/Port set and a trace id. Host
 * kept (less the listener's port), or made for HTTP/1.0 requests without one.
 */
export function upstreamRequestHeaders(incoming: IncomingHttpHeaders, facts: ForwardFacts, keepUpgrade = false): Record<string, string | string[]> {
  const named = namesOtherHeaders(incoming.connection) ? connectionTokens(incoming.connection) : undefined;
  const dropInvalid = facts.dropInvalidHeaderFields === true;
  const out: Record<string, string | string[]> = {};
  for (const name in incoming) {
    const value = incoming[name];
    // HTTP/2 pseudo-headers (`:path`…) describe the request to the proxy, never to the target.
    if (value === undefined || HOP_BY_HOP.has(name) || name.charCodeAt(0) === COLON) continue;
    if (named !== undefined && named.includes(name) && !END_TO_END.has(name)) continue;
    if (dropInvalid && !VALID_HEADER_NAME.test(name)) continue;
    out[name] = value;
  }
  if (keepUpgrade && incoming.upgrade) {
    out.connection = 'upgrade';
    out.upgrade = incoming.upgrade;
  }
  const xff = incoming['x-forwarded-for'];
  out['x-forwarded-for'] = xff ? `${Array.isArray(xff) ? xff.join(', ') : xff}, ${facts.sourceIp}` : facts.sourceIp;
  out.host = forwardedHost(incoming.host, facts.listenerPort, facts.loadBalancerHost);
  out['x-forwarded-proto'] = facts.protocol;
  out['x-forwarded-port'] = String(facts.listenerPort);
  out['x-amzn-trace-id'] = traceHeader(incoming['x-amzn-trace-id'] as string | undefined);
  return out;
}

/** Response headers to the client: the target's less hop-by-hop ones, plus the listener's. */
export function clientResponseHeaders(upstream: Record<string, string | string[] | undefined>, listener: ListenerModel): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    out[name] = value;
  }
  return applyListenerHeaders(out, listener);
}

/** Adds the listener-attribute headers (HSTS, CSP, …) and removes `Server` when configured. */
export function applyListenerHeaders(headers: OutgoingHttpHeaders, listener: ListenerModel): OutgoingHttpHeaders {
  for (const name in listener.responseHeaders) headers[name.toLowerCase()] = listener.responseHeaders[name];
  if (listener.removeServerHeader) delete headers.server;
  else if (headers.server === undefined) headers.server = 'awselb/2.0';
  return headers;
}
