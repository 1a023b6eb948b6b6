import { isIPv4, isIPv6 } from 'node:net';
import { DrainError } from './errors';

/** What to drain: an EC2 instance (every port it is registered on), or one `ip:port` target. */
export type DrainTarget = { readonly kind: 'instance'; readonly id: string } | { readonly kind: 'ip'; readonly id: string; readonly port: number };

const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
/** `a.b.c.d:port` or `[v6]:port`, as the local proxy's --targets and the ALB's ids write them. */
const IP_PORT = /^(?:\[([0-9a-fA-F:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/;

/** Parses `i-0123456789abcdef0`, `10.0.1.5:8080` or `[2001:db8::5]:8080`; anything else is INVALID_TARGET. */
export function parseDrainTarget(text: string): DrainTarget {
  if (INSTANCE_ID.test(text)) return { kind: 'instance', id: text };
  const ip = IP_PORT.exec(text);
  const port = ip ? Number(ip[3]) : NaN;
  const valid = ip !== null && (ip[1] !== undefined ? isIPv6(ip[1]) : isIPv4(ip[2])) && port >= 1 && port <= 65535;
  if (valid) return { kind: 'ip', id: ip[1] ?? ip[2], port };
  throw new DrainError('INVALID_TARGET', `invalid target ${JSON.stringify(text)}: expected an instance id (i- and 8 or 17 hex digits), ip:port or [ipv6]:port`);
}

/** An ip target as `host:port`, IPv6 in brackets (as the proxy's admin API names targets). */
export function ipTargetId(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The target as a string: `i-…`, `ip:port` or `[ipv6]:port`. */
export function formatDrainTarget(target: DrainTarget): string {
  return target.kind === 'instance' ? target.id : ipTargetId(target.id, target.port);
}
