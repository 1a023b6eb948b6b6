import { DrainError } from './errors';

/** What to drain: an EC2 instance (every port it is registered on), or one `ip:port` target. */
export type DrainTarget = { readonly kind: 'instance'; readonly id: string } | { readonly kind: 'ip'; readonly id: string; readonly port: number };

const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
const IPV4_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/;

/** Parses `i-0123456789abcdef0` or `10.0.1.5:8080`; anything else is INVALID_TARGET. */
export function parseDrainTarget(text: string): DrainTarget {
  if (INSTANCE_ID.test(text)) return { kind: 'instance', id: text };
  const ip = IPV4_PORT.exec(text);
  if (ip && ip[1].split('.').every((o) => Number(o) <= 255) && Number(ip[2]) >= 1 && Number(ip[2]) <= 65535) {
    return { kind: 'ip', id: ip[1], port: Number(ip[2]) };
  }
  throw new DrainError('INVALID_TARGET', `invalid target ${JSON.stringify(text)}: expected an instance id (i- and 8 or 17 hex digits) or ip:port`);
}

/** The target as a string: `i-…` or `ip:port`. */
export function formatDrainTarget(target: DrainTarget): string {
  return target.kind === 'instance' ? target.id : `${target.id}:${target.port}`;
}
