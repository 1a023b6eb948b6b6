/**
 * CIDR matching for `source-ip` conditions. Addresses are kept as bigint so that IPv4 and IPv6 use
 * one code path; a client seen as IPv4-mapped IPv6 (`::ffff:127.0.0.1`, what a dual-stack socket
 * reports) is matched as the IPv4 address it is.
 */

interface ParsedAddress {
  readonly family: 4 | 6;
  readonly value: bigint;
}

/** A compiled CIDR block. */
export interface CidrBlock {
  readonly family: 4 | 6;
  readonly network: bigint;
  readonly mask: bigint;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseIpv4(text: string): bigint | undefined {
  const m = IPV4.exec(text);
  if (!m) return undefined;
  let value = 0n;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseHextets(part: string): number[] | undefined {
  if (part === '') return [];
  const groups = part.split(':');
  const out: number[] = [];
  for (const group of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
    out.push(parseInt(group, 16));
  }
  return out;
}

function parseIpv6(input: string): bigint | undefined {
  let text = input;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    // Embedded IPv4 (`::ffff:1.2.3.4`): rewrite its two halves as hextets.
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = parseHextets(halves[0]);
  const rest = halves.length === 2 ? parseHextets(halves[1]) : [];
  if (!head || !rest) return undefined;
  const known = head.length + rest.length;
  if (halves.length === 1 && known !== 8) return undefined;
  if (halves.length === 2 && known > 7) return undefined;
  const groups = [...head, ...new Array<number>(8 - known).fill(0), ...rest];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** Parses an IPv4 or IPv6 address; IPv4-mapped IPv6 comes back as IPv4. */
export function parseAddress(text: string): ParsedAddress | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  if (!text.includes(':')) return undefined;
  const v6 = parseIpv6(text);
  if (v6 === undefined) return undefined;
  if (v6 >> 32n === 0xffffn) return { family: 4, value: v6 & 0xffffffffn };
  return { family: 6, value: v6 };
}

/** Compiles `10.0.0.0/8` or `2001:db8::/32`; throws a clear error on a bad block. */
export function parseCidr(text: string): CidrBlock {
  const slash = text.indexOf('/');
  const address = parseAddress(slash >= 0 ? text.slice(0, slash) : text);
  if (!address) throw new Error(`invalid CIDR block ${JSON.stringify(text)}`);
  const bits = address.family === 4 ? 32 : 128;
  let prefix = slash >= 0 ? Number(text.slice(slash + 1)) : bits;
  // A mapped IPv4 block like ::ffff:10.0.0.0/104 is the IPv4 block /8.
  if (address.family === 4 && text.includes(':') && slash >= 0) prefix -= 96;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) throw new Error(`invalid CIDR block ${JSON.stringify(text)}`);
  const all = (1n << BigInt(bits)) - 1n;
  const mask = all ^ ((1n << BigInt(bits - prefix)) - 1n);
  return { family: address.family, network: address.value & mask, mask };
}

/** Clients repeat: parsed addresses are kept, and the cache is dropped whole when it fills up. */
const PARSED_CACHE_LIMIT = 4096;
const parsedCache = new Map<string, ParsedAddress | null>();

function parseCached(address: string): ParsedAddress | undefined {
  let parsed = parsedCache.get(address);
  if (parsed === undefined) {
    if (parsedCache.size >= PARSED_CACHE_LIMIT) parsedCache.clear();
    parsed = parseAddress(address) ?? null;
    parsedCache.set(address, parsed);
  }
  return parsed ?? undefined;
}

/** True when the address lies in one of the blocks. */
export function inAnyCidr(address: string, blocks: readonly CidrBlock[]): boolean {
  const parsed = parseCached(address);
  if (!parsed) return false;
  for (const block of blocks) {
    if (block.family === parsed.family && (parsed.value & block.mask) === block.network) return true;
  }
  return false;
}
