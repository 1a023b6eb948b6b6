/**
 * Who may drive the admin API. Binding to loopback keeps other machines out, but not a web page in
 * the operator's browser: a cross-site form POST or a DNS-rebound name reaches 127.0.0.1 too. So:
 *
 * - a `Host` that is not a loopback name or address is refused (DNS rebinding: the page's own name
 *   is in Host), unless a token authenticates the caller instead;
 * - an `Origin` other than the admin API's own, or `Sec-Fetch-Site: cross-site|same-site`, is refused;
 * - requests that change state must carry what a page cannot send without a CORS preflight (which
 *   this API never grants): `Content-Type: application/json` for `/targets/*`, an `Authorization`
 *   header (the SDK's SigV4, or the bearer token) for the ELBv2 Query API at `POST /`, whose
 *   form-encoded bodies are otherwise exactly what an HTML form sends;
 * - with a token (`--admin-token`, required when the API is bound beyond loopback), every request
 *   but `GET /healthz` carries `Authorization: Bearer <token>`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { IncomingMessage } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';
import { adminAuthorization } from '../util/admin-token';

/** Why a request is refused: an HTTP status and an ELBv2-style error code. */
export interface AccessDenial {
  readonly status: 401 | 403 | 415;
  readonly code: string;
  readonly message: string;
}

/** 127.0.0.0/8, ::1 (and IPv4-mapped loopback), or `localhost`. */
export function isLoopback(host: string): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (h.toLowerCase() === 'localhost') return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (isIPv6(h)) return h === '::1' || /^::ffff:127\./i.test(h);
  return false;
}

/** The admin API beyond loopback needs a token: fails with the option to pass otherwise. */
export function assertAdminExposure(bind: string, token: string | undefined): void {
  if (!isLoopback(bind) && (token === undefined || token === '')) {
    throw new Error(`--admin-token (or ALBATROSS_ADMIN_TOKEN) is required when --admin-bind ${bind} is not a loopback address: the admin API can deregister targets`);
  }
}

/** The host name of a Host header value, without the port. */
function hostName(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.indexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function sameToken(presented: string | undefined, expected: string): boolean {
  // Compared as digests: equal length for timingSafeEqual, and no early exit on the first byte.
  return presented !== undefined && timingSafeEqual(digest(presented), digest(expected));
}

const deny = (status: AccessDenial['status'], code: string, message: string): AccessDenial => ({ status, code, message });

function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.split(';')[0].trim().toLowerCase() === 'application/json';
}

/** Checks one admin request; undefined when it may proceed. */
export function checkAdminRequest(req: IncomingMessage, path: string, token: string | undefined): AccessDenial | undefined {
  if (req.method === 'GET' && path === '/healthz') return undefined;
  const host = req.headers.host ?? '';
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${host}`) return deny(403, 'ForeignOrigin', `requests from ${origin} are not accepted (cross-site requests cannot drive the admin API)`);
  const site = req.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return deny(403, 'ForeignOrigin', 'cross-site requests cannot drive the admin API');
  if (token === undefined && !isLoopback(hostName(host))) return deny(403, 'ForeignHost', `Host ${JSON.stringify(host)} is not a loopback name: use 127.0.0.1 or localhost, or start the proxy with --admin-token`);
  const authorization = req.headers.authorization;
  if (token !== undefined && !sameToken(authorization, adminAuthorization(token))) return deny(401, 'InvalidClientTokenId', 'missing or wrong admin token: send Authorization: Bearer <--admin-token>');
  if (req.method === 'GET' || req.method === 'HEAD') return undefined;
  if (path === '/') {
    // token set: checked above. Without one, the SDK's SigV4 header (not verified: local keys).
    return authorization === undefined ? deny(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token (sign it as the AWS SDK does)') : undefined;
  }
  return isJson(req.headers['content-type']) ? undefined : deny(415, 'UnsupportedMediaType', 'send the body as Content-Type: application/json');
}
