/**
 * HTTP/2 requests seen as the HTTP/1.1 requests the targets get (the ALB speaks HTTP/1.1 to
 * targets of HTTP1 target groups): the same rules, limits, headers and errors then apply to both.
 */
import { Http2ServerRequest } from 'node:http2';
import { ClientRequest } from './listener-server';

export function isHttp2(req: ClientRequest): req is Http2ServerRequest {
  return req.httpVersionMajor === 2;
}

/**
 * Gives an HTTP/2 request the headers an HTTP/1.1 one would carry. `:authority` becomes Host. A
 * body without Content-Length (HTTP/2 frames it with DATA frames) is marked chunked, which is how
 * it reaches the target. The pseudo-headers stay (Node reads method and path from them); they are
 * never forwarded.
 */
export function adoptHttp1Framing(req: Http2ServerRequest): void {
  const headers = req.headers;
  const authority = headers[':authority'];
  if (headers.host === undefined && typeof authority === 'string') headers.host = authority;
  if (headers['content-length'] === undefined && !req.stream.endAfterHeaders) headers['transfer-encoding'] = 'chunked';
}
