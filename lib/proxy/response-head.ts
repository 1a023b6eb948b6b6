/**
 * The head of a response to the client, over HTTP/1 or HTTP/2. The two classes' `writeHead`
 * overloads differ (@types/node 24), so TypeScript cannot call it on their union.
 */
import { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Http2ServerResponse } from 'node:http2';

/** `res.writeHead(status, headers)` on either protocol's response. */
export function writeResponseHead(res: ServerResponse | Http2ServerResponse, status: number, headers: OutgoingHttpHeaders): void {
  if (res instanceof Http2ServerResponse) res.writeHead(status, headers);
  else res.writeHead(status, headers);
}
