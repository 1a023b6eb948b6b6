/**
 * Request targets in absolute form (`GET http://example.com/api/x HTTP/1.1`, RFC 9112 §3.2.2).
 * A server must accept them, and then the target URI's authority replaces the Host header
 * (RFC 9112 §3.2.2 and §7.2). The ALB, like any HTTP/1.1 server, routes on the path and on that
 * host, and forwards origin-form (`/api/x`) to the target.
 */
import { IncomingMessage } from 'node:http';

const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)([^#]*)/;

/**
 * Rewrites an absolute-form request in place to origin form, with Host set from the URI's
 * authority (userinfo dropped). Origin-form (`/…`) and asterisk-form (`*`) are left alone, at the
 * cost of one character test on the hot path.
 */
export function toOriginForm(req: IncomingMessage): void {
  const url = req.url;
  if (url === undefined || url.charCodeAt(0) === 0x2f /* "/" */ || url === '*') return;
  const m = ABSOLUTE_FORM.exec(url);
  if (!m) return;
  const authority = m[1].slice(m[1].lastIndexOf('@') + 1);
  const rest = m[2];
  req.url = rest === '' ? '/' : rest.startsWith('?') ? `/${rest}` : rest;
  if (authority !== '') req.headers.host = authority;
}
