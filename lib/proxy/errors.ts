/**
 * Errors the load balancer itself answers (docs/alb-behaviour.md §16): one rendering, used on a
 * ServerResponse and on a raw socket (upgrades, which Node hands over before any response object).
 */
import { OutgoingHttpHeaders, ServerResponse, STATUS_CODES } from 'node:http';
import { Http2ServerResponse } from 'node:http2';
import { applyListenerHeaders } from './headers';
import { ListenerModel } from './model';
import { writeResponseHead } from './response-head';

/** The status the ALB logs when the client closed the connection before it answered. */
export const CLIENT_CLOSED = 460;

/** The ALB's own status codes that Node does not name. */
const EXTRA_STATUS_TEXT: Record<number, string> = { 460: 'Client Closed Request', 463: 'Too Many X-Forwarded-For Addresses', 561: 'Unauthorized' };

function statusText(status: number): string {
  return STATUS_CODES[status] ?? EXTRA_STATUS_TEXT[status] ?? 'Error';
}

/** Headers and body of an error page like the ALB's, with the listener's headers. */
export function loadBalancerErrorPage(status: number, listener: ListenerModel): { headers: OutgoingHttpHeaders; body: string } {
  const text = statusText(status);
  const body = `<html>\r\n<head><title>${status} ${text}</title></head>\r\n<body>\r\n<center><h1>${status} ${text}</h1></center>\r\n</body>\r\n</html>\r\n`;
  return { headers: applyListenerHeaders({ 'content-type': 'text/html', 'content-length': Buffer.byteLength(body) }, listener), body };
}

/** Answers with the error page; a response whose head already went out can only be cut. */
export function sendLoadBalancerError(res: ServerResponse | Http2ServerResponse, status: number, listener: ListenerModel): void {
  if (res.headersSent) return void res.destroy();
  if (res.destroyed) return;
  const page = loadBalancerErrorPage(status, listener);
  writeResponseHead(res, status, page.headers);
  res.end(page.body);
}
