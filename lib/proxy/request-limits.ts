/**
 * What the ALB refuses before routing, each with the status it answers. One place for these ALB
 * facts; the sources are the ELB guide's "Quotas for your Application Load Balancers" (HTTP
 * headers) and "Troubleshoot your Application Load Balancers" (HTTP 400, 405, 408, 463, 501):
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html
 */
import { IncomingHttpHeaders } from 'node:http';

/** Request line: 16 KB (a longer URI gets 414). */
export const MAX_URI_BYTES = 16 * 1024;
/** One header (name and value): 16 KB, else 400. */
export const MAX_SINGLE_HEADER_BYTES = 16 * 1024;
/** The whole request header: 64 KB, else 400 ("the request header exceeded ... 64 K"). */
export const MAX_HEADER_BYTES = 64 * 1024;
/** More addresses than this in an incoming X-Forwarded-For gets 463. */
export const MAX_X_FORWARDED_FOR_ADDRESSES = 30;
/** The only Transfer-Encoding codings the ALB accepts; anything else gets 501. */
export const SUPPORTED_TRANSFER_CODINGS: ReadonlySet<string> = new Set(['chunked', 'identity']);
/** The ALB refuses TRACE with 405. */
export const REFUSED_METHOD = 'TRACE';

/** The ALB's statuses for the limits above. */
export const LIMIT_STATUS = {
  uriTooLong: 414,
  headerTooLarge: 400,
  badContentLength: 400,
  methodNotAllowed: 405,
  tooManyForwardedFor: 463,
  unsupportedTransferEncoding: 501,
  clientStalled: 408,
} as const;

/** The request as the limits see it (HTTP/1.1 message or HTTP/2 stream). */
export interface LimitedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** name, value, name, value… as received (HTTP/2: without pseudo-headers is fine). */
  readonly rawHeaders: readonly string[];
}

function countAddresses(value: string | string[]): number {
  let count = 0;
  for (const line of Array.isArray(value) ? value : [value]) {
    for (const part of line.split(',')) if (part.trim() !== '') count++;
  }
  return count;
}

function unsupportedCoding(value: string): boolean {
  for (const coding of value.split(',')) {
    if (!SUPPORTED_TRANSFER_CODINGS.has(coding.trim().toLowerCase())) return true;
  }
  return false;
}

function oversizedHeader(rawHeaders: readonly string[]): boolean {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    // name ": " value: the size of the header line without its CRLF.
    if (rawHeaders[i].length + 2 + rawHeaders[i + 1].length > MAX_SINGLE_HEADER_BYTES) return true;
  }
  return false;
}

/**
 * A Content-Length the proxy cannot hold exactly in a number (above 2^53 - 1) is refused: passed
 * on, it would reach the target altered (rounded), a framing disagreement between the two hops.
 */
function unrepresentableContentLength(value: string | undefined): boolean {
  if (value === undefined || value.length < 16) return false;
  return !/^\d+$/.test(value) || BigInt(value) > BigInt(Number.MAX_SAFE_INTEGER);
}

/**
 * The ALB status for a request it refuses before routing, or undefined when it passes. Checked in
 * the order a request is read: method, request line, then headers. Costs a few comparisons and
 * one pass over the raw headers per request.
 */
export function refusedStatus(req: LimitedRequest): number | undefined {
  if (req.method === REFUSED_METHOD) return LIMIT_STATUS.methodNotAllowed;
  if (req.url.length > MAX_URI_BYTES) return LIMIT_STATUS.uriTooLong;
  if (oversizedHeader(req.rawHeaders)) return LIMIT_STATUS.headerTooLarge;
  const te = req.headers['transfer-encoding'];
  if (te !== undefined && unsupportedCoding(te)) return LIMIT_STATUS.unsupportedTransferEncoding;
  if (unrepresentableContentLength(req.headers['content-length'])) return LIMIT_STATUS.badContentLength;
  const xff = req.headers['x-forwarded-for'];
  if (xff !== undefined && countAddresses(xff) > MAX_X_FORWARDED_FOR_ADDRESSES) return LIMIT_STATUS.tooManyForwardedFor;
  return undefined;
}
