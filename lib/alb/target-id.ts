import { isIPv6 } from 'node:net';

/**
 * The id of an `ip` target as one string: `host:port`, with an IPv6 host in brackets
 * (`[2001:db8::5]:8080`), as the ALB's console and the local proxy's admin API write it. The
 * proxy builds it for its admin API and metrics, the drain builds it to find a target in that
 * API's report, and both parse it from their command lines.
 */

/** A host (name, IPv4 or IPv6 address, without brackets) and a port. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** The host as it goes before `:port` in an id or a URL: IPv6 in brackets. */
export function bracketHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** `host:port`, IPv6 in brackets. */
export function formatTargetId(target: HostPort): string {
  return `${bracketHost(target.host)}:${target.port}`;
}

const TARGET_ID = /^(?:\[([^\]]*)\]|([^:[\]\s]+)):(\d{1,5})$/;

/**
 * Splits `host:port` or `[ipv6]:port` back into host (unbracketed) and port; undefined when the
 * text is not one: no port, a port outside 1–65535, an unbracketed IPv6 address, brackets around
 * anything but an IPv6 address.
 */
export function parseTargetId(text: string): HostPort | undefined {
  const m = TARGET_ID.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  if (m[1] !== undefined && !isIPv6(m[1])) return undefined;
  return { host: m[1] ?? m[2], port };
}
