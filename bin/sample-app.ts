#!/usr/bin/env node
/**
 * A tiny backend for the local proxy: `/health` (and each `--health-path`) answers 200; every other
 * path echoes what it received as JSON (its name, the service it stands in for, method, path,
 * headers). `--delay-ms` slows answers, for drain rehearsals.
 */
import { createServer } from 'node:http';
import { Command, InvalidArgumentError } from 'commander';

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be an integer from 0 to 65535');
  return n;
}

const program = new Command('sample-app')
  .description('A sample backend with /health, for the Albatross local proxy')
  .requiredOption('--port <port>', 'port to listen on', integer)
  .option('--bind <address>', 'address to bind', '127.0.0.1')
  .option('--name <name>', 'name of this instance, echoed in every answer (e.g. web-1)', 'sample')
  .option('--service <service>', 'the service (target group) this app stands in for, echoed in every answer (default: --name)')
  .option('--health-path <path>', "a health check path answering 200 besides /health (the target group's); repeatable", (value: string, previous: string[]) => [...previous, value], [])
  .option('--delay-ms <ms>', 'delay every non-health answer', integer, 0)
  .parse();
const opts = program.opts<{ port: number; bind: string; name: string; service?: string; healthPath: string[]; delayMs: number }>();
const service = opts.service ?? opts.name;
const healthPaths = new Set(['/health', ...opts.healthPath]);

const server = createServer((req, res) => {
  if (healthPaths.has(req.url ?? '')) {
    res.writeHead(200, { 'content-type': 'text/plain' });
    return void res.end('ok');
  }
  req.resume();
  req.on('end', () => {
    const body = JSON.stringify({ name: opts.name, service, method: req.method, path: req.url, headers: req.headers });
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json', server: 'sample-app' });
      res.end(body);
    }, opts.delayMs);
  });
});
// Keep connections longer than the load balancer's idle timeout (docs/alb-behaviour.md §17).
server.keepAliveTimeout = 65_000;
server.listen(opts.port, opts.bind, () => console.log(JSON.stringify({ msg: 'listening', name: opts.name, service, port: opts.port })));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
