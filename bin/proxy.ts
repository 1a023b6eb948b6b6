#!/usr/bin/env node
/**
 * The local parity proxy: runs the load balancer of the synthesized template on this machine.
 *
 *   npx cdk synth && npm run local -- --targets web=127.0.0.1:9001,127.0.0.1:9002 --targets api=127.0.0.1:9003
 */
// First: a one-line refusal on a Node older than engines, before any dependency loads.
import '../lib/util/supported-node';
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import pino from 'pino';
import { AggregatorRegistry } from 'prom-client';
import { TargetAddress } from '../lib/proxy/model';
import { assertAdminExposure } from '../lib/proxy/admin-access';
import { clusterMetricsText, joinCluster, runClusterPrimary, takeWorkerStart } from '../lib/proxy/cluster';
import { assertKnownServices, createLoadBalancerRuntime, parseTargetsOption } from '../lib/proxy/runtime';
import { startProxyServer } from '../lib/proxy/server';
import { readTemplateFile } from '../lib/proxy/template';
import { loadTlsMaterial } from '../lib/proxy/tls';
import { UpstreamClientKind } from '../lib/proxy/upstream';

/** Template ports below 1024 need root locally: they map to 8000 + port by default. */
function defaultLocalPort(templatePort: number): number {
  return templatePort < 1024 ? 8000 + templatePort : templatePort;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port from 0 to 65535');
  return n;
}

function positive(value: string): number {
  const n = Number(value);
  if (!(n > 0)) throw new InvalidArgumentError('must be a number above 0');
  return n;
}

function nonNegative(value: string): number {
  const n = Number(value);
  if (!(n >= 0)) throw new InvalidArgumentError('must be a number of seconds, 0 or more');
  return n;
}

function collectTargets(value: string, previous: Record<string, TargetAddress[]>): Record<string, TargetAddress[]> {
  try {
    return parseTargetsOption(value, previous);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function collectListen(value: string, previous: Record<number, number>): Record<number, number> {
  const m = /^(\d{1,5})=(\d{1,5})$/.exec(value);
  if (!m) throw new InvalidArgumentError(`expected <template port>=<local port>, e.g. 443=8443 (got ${JSON.stringify(value)})`);
  return { ...previous, [Number(m[1])]: port(m[2]) };
}

interface ProxyOptions {
  template: string;
  targets: Record<string, TargetAddress[]>;
  listen: Record<number, number>;
  bind: string;
  adminPort: number;
  adminBind: string;
  adminToken?: string;
  cert?: string;
  key?: string;
  upstreamClient: UpstreamClientKind;
  timeScale: number;
  logLevel: string;
  workers: number;
  shutdownGrace: number;
  waf: boolean;
}

function workerCount(value: string): number {
  if (value === 'auto') return availableParallelism();
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError('must be auto or an integer from 1 to 64');
  return n;
}

const program = new Command('albatross-proxy')
  .description('Run the load balancer of a synthesized Albatross template locally: same listeners, rules, redirect, health checks, algorithms, stickiness and draining.')
  .option('--template <file>', 'synthesized CloudFormation template', 'cdk.out/Albatross.template.json')
  .option('--targets <service=host:port,...>', "local backends of one of the template's services (its target group's name, e.g. web, api; or the group's logical id); repeatable, once per service", collectTargets, {})
  .option('--listen <templatePort=localPort>', 'local port of a listener (default: 80→8080, 443→8443); repeatable', collectListen, {})
  .option('--bind <address>', 'address the listeners bind to', '127.0.0.1')
  .option('--admin-port <port>', 'admin API port (targets, metrics, ELBv2 API)', port, 9901)
  .option('--admin-bind <address>', 'address the admin API binds to (keep it on loopback)', '127.0.0.1')
  .addOption(new Option('--admin-token <token>', 'bearer token the admin API requires (Authorization: Bearer <token>); required when --admin-bind is not loopback').env('ALBATROSS_ADMIN_TOKEN'))
  .option('--cert <file>', 'PEM certificate for HTTPS listeners (default: self-signed, made at start)')
  .option('--key <file>', 'PEM private key for --cert')
  .addOption(new Option('--upstream-client <kind>', 'HTTP client to targets').choices(['undici', 'http']).default('undici'))
  .option('--time-scale <factor>', 'multiply health-check, draining and slow-start durations (e.g. 0.1 to rehearse faster)', positive, 1)
  .option('--workers <n|auto>', 'processes sharing the listeners (cluster mode: shared certificate and sticky-cookie key, each worker has its own health checks; the admin API runs in the first and aggregates /metrics)', workerCount, 1)
  .option('--no-waf', "do not enforce the template's web ACL (it is not read either)")
  .option('--shutdown-grace <seconds>', 'on SIGTERM/SIGINT, how long requests in flight may take to finish before their connections are cut', nonNegative, 10)
  .addOption(new Option('--log-level <level>', 'log level (JSON logs on stdout)').choices(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info'))
  .addHelpText(
    'after',
    `
Examples:
  npx cdk synth
  npm run local -- --targets web=127.0.0.1:9001,127.0.0.1:9002 --targets web-canary=127.0.0.1:9003 --targets api=127.0.0.1:9004 --targets static=127.0.0.1:9005
  curl -i http://localhost:8080/            # 301 to https://localhost:8443/
  curl -ik https://localhost:8443/api/x     # forwarded to the api service
  curl -ik https://localhost:8443/ -H 'host: api.example'   # a host-header rule: also the api service
  curl http://localhost:9901/targets        # targets and their health
  curl -XPOST localhost:9901/targets/deregister -H 'content-type: application/json' -d '{"targetGroup":"web","target":"127.0.0.1:9001"}'`,
  );

async function main(): Promise<void> {
  const opts = program.parse().opts<ProxyOptions>();
  // Checked once, before any worker starts: an admin API beyond loopback needs a token.
  assertAdminExposure(opts.adminBind, opts.adminToken);
  if (opts.workers > 1 && cluster.isPrimary) {
    // A bad template is reported once, here, rather than by every worker.
    const model = readTemplateFile(opts.template, { onWarning: () => undefined, webAcl: opts.waf });
    assertKnownServices(model, opts.targets);
    const secrets = { cookieKey: randomBytes(32), tls: await loadTlsMaterial(opts.cert, opts.key) };
    return runClusterPrimary({ model, workers: opts.workers, targets: opts.targets, secrets, shutdownGraceMs: opts.shutdownGrace * 1000 });
  }
  const start = cluster.isWorker ? takeWorkerStart() : { index: 0, secrets: undefined, targets: undefined };
  const log = pino({ level: opts.logLevel, base: { service: 'albatross-proxy', ...(cluster.isWorker ? { worker: start.index } : {}) } });
  const model = readTemplateFile(opts.template, { onWarning: (message) => log.warn(message), webAcl: opts.waf });
  // What the proxy cannot reproduce of the web ACL is said at start, one line per rule.
  if (start.index === 0) for (const n of model.webAcl?.notEnforced ?? []) log.warn(`web ACL ${model.webAcl?.logicalId} rule ${n.rule} not enforced locally: ${n.reason}`);
  // A worker starts with the registrations as they stand (the primary's), not the start-up ones.
  const runtime = createLoadBalancerRuntime(model, start.targets ?? opts.targets, {
    timeScale: opts.timeScale,
    cookieKey: start.secrets?.cookieKey,
    onStateChange: (event) => log.info(event, 'target state'),
  });
  const member = cluster.isWorker ? joinCluster(runtime, log) : undefined;
  const ports: Record<number, number> = {};
  for (const listener of model.listeners) ports[listener.port] = opts.listen[listener.port] ?? defaultLocalPort(listener.port);
  const isAdmin = start.index === 0;
  const proxy = await startProxyServer({
    runtime,
    ports,
    bind: opts.bind,
    // One admin API (the first worker): per-worker admin ports would split the view.
    adminPort: isAdmin ? opts.adminPort : undefined,
    adminBind: opts.adminBind,
    adminToken: opts.adminToken || undefined,
    onTargetChange: member?.relay,
    metricsText: member && isAdmin ? clusterMetricsText() : undefined,
    tls: start.secrets?.tls ?? (await loadTlsMaterial(opts.cert, opts.key)),
    upstreamClient: opts.upstreamClient,
    shutdownGraceMs: opts.shutdownGrace * 1000,
    webAcl: model.webAcl,
    log,
  });
  if (member) {
    // The primary's AggregatorRegistry collects this worker's registry for /metrics.
    new AggregatorRegistry();
    AggregatorRegistry.setRegistries([proxy.metrics.registry]);
  }
  const summary = {
    template: opts.template,
    listeners: model.listeners.map((l) => ({ port: l.port, protocol: l.protocol, local: `${opts.bind}:${proxy.ports[l.port]}`, rules: l.rules.length })),
    targetGroups: runtime.report().targetGroups.map((g) => ({ name: g.name, targets: g.targets.map((t) => t.id) })),
    admin: `${opts.adminBind}:${proxy.adminPort}`,
    webAcl: model.webAcl ? { id: model.webAcl.logicalId, rules: model.webAcl.rules.map((r) => r.name), notEnforced: model.webAcl.notEnforced.map((n) => n.rule) } : opts.waf ? 'none in the template' : 'off (--no-waf)',
  };
  member?.ready();
  if (isAdmin) log.info({ ...summary, workers: opts.workers }, 'albatross proxy ready');
  let shuttingDown = false;
  const shutdown = (signal: string) => {
    if (shuttingDown) {
      // A second signal means "now", except in a worker: Ctrl-C reaches it and then the primary's
      // SIGTERM does, and that must not cut the grace period.
      if (!cluster.isWorker) process.exit(1);
      return;
    }
    shuttingDown = true;
    log.info({ signal, graceSeconds: opts.shutdownGrace }, 'shutting down: finishing requests in flight');
    void proxy.close().then(() => process.exit(0));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: Error & { code?: string }) => {
  const hint = error.code === 'ENOENT' ? ' (run `npx cdk synth` first, or pass --template)' : '';
  console.error(`albatross-proxy: ${error.message}${hint}`);
  process.exit(1);
});
