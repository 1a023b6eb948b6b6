import { isIPv4, isIPv6 } from 'node:net';
import { formatTargetId, parseTargetId } from '../alb/target-id';
import { DrainError } from './errors';

/** What to drain: an EC2 instance (every port it is registered on), or one `ip:port` target. */
export type DrainTarget = { readonly kind: 'instance'; readonly id: string } | { readonly kind: 'ip'; readonly id: string; readonly port: number };

const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

/**
 * Parses `i-0123456789abcdef0`, `10.0.1.5:8080` or `[2001:db8::5]:8080` (lib/alb/target-id.ts);
 * anything else, host names included (an ip target is registered by address), is INVALID_TARGET.
 */
export function parseDrainTarget(text: string): DrainTarget {
  if (INSTANCE_ID.test(text)) return { kind: 'instance', id: text };
  const ip = parseTargetId(text);
  if (ip && (isIPv4(ip.host) || isIPv6(ip.host))) return { kind: 'ip', id: ip.host, port: ip.port };
  throw new DrainError('INVALID_TARGET', `invalid target ${JSON.stringify(text)}: expected an instance id (i- and 8 or 17 hex digits), ip:port or [ipv6]:port`);
}

/** The target as a string: `i-…`, `ip:port` or `[ipv6]:port`. */
export function formatDrainTarget(target: DrainTarget): string {
  return target.kind === 'instance' ? target.id : formatTargetId({ host: target.id, port: target.port });
}
