/**
 * Whether this Node.js is one package.json's `engines` allows. `npm ci` already refuses an older
 * one (.npmrc's engine-strict); this covers the CLIs run as `node dist/bin/…` or from a global
 * install, where an older Node would otherwise fail deep inside a dependency (undici 8 throws a
 * TypeError at load time on Node 20).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The lowest major a `>=N[.x.y]` range allows: the only form package.json's engines uses. */
export function minimumMajor(range: string): number {
  const match = /^>=\s*(\d+)(\.\d+){0,2}$/.exec(range.trim());
  if (!match) throw new Error(`engines.node must be ">=N" (got "${range}")`);
  return Number(match[1]);
}

/** The `engines.node` of the project's package.json: the nearest one above this file (source or dist/). */
export function requiredNodeRange(from = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { engines: { node: string } }).engines.node;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** One line saying why this Node cannot run `cli`, or undefined when it can. */
export function unsupportedNodeMessage(cli: string, version: string, range: string): string | undefined {
  const minimum = minimumMajor(range);
  const plain = version.replace(/^v/, '');
  if (Number(plain.split('.')[0]) >= minimum) return undefined;
  return `${cli}: needs Node.js ${range} (package.json engines), this is Node.js ${plain}; switch Node (e.g. nvm install ${minimum}) and run npm ci again`;
}

/** Exits with that line (status 1) when this Node is too old for `cli`. */
export function exitOnUnsupportedNode(cli: string): void {
  const message = unsupportedNodeMessage(cli, process.versions.node, requiredNodeRange());
  if (message === undefined) return;
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
