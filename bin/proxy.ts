#!/usr/bin/env node
/**
 * The local parity proxy: runs the load balancer of the synthesized template on this machine.
 *
 *   npx cdk synth && npm run local -- --targets app=127.0.0.1:9001,127.0.0.1:9002
 */
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import pino from 'pino';
import { TargetAddress } from '../lib/proxy/model';
import { applyTargetChange, TargetChange } from '../lib/proxy/admin';
import { createLoadBalancerRuntime, parseTargetsOption } from '../lib/proxy/runtime';
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
  cert?: string;
  key?: string;
  upstreamClient: UpstreamClientKind;
  timeScale: number;
  logLevel: string;
  workers: number;
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
  .option('--targets <group=host:port,...>', 'local backends of a target group (short name or logical id); repeatable', collectTargets, {})
  .option('--listen <templatePort=localPort>', 'local port of a listener (default: 80→8080, 443→8443); repeatable', collectListen, {})
  .option('--bind <address>', 'address the listeners bind to', '127.0.0.1')
  .option('--admin-port <port>', 'admin API port (targets, metrics, ELBv2 API)', port, 9901)
  .option('--admin-bind <address>', 'address the admin API binds to (keep it on loopback)', '127.0.0.1')
  .option('--cert <file>', 'PEM certificate for HTTPS listeners (default: self-signed, made at start)')
  .option('--key <file>', 'PEM private key for --cert')
  .addOption(new Option('--upstream-client <kind>', 'HTTP client to targets').choices(['undici', 'http']).default('undici'))
  .option('--time-scale <factor>', 'multiply health-check, draining and slow-start durations (e.g. 0.1 to rehearse faster)', positive, 1)
  .option('--workers <n|auto>', 'processes sharing the listeners (cluster mode; each has its own health checks; the admin API runs in the first)', workerCount, 1)
  .addOption(new Option('--log-level <level>', 'log level (JSON logs on stdout)').choices(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info'))
  .addHelpText(
    'after',
    `
Examples:
  npx cdk synth
  npm run local -- --targets app=127.0.0.1:9001,127.0.0.1:9002 --targets api=127.0.0.1:9003
  curl -i http://localhost:8080/            # 301 to https://localhost:8443/
  curl -ik https://localhost:8443/api/x     # forwarded to the api target group
  curl http://localhost:9901/targets        # targets and their health
  curl -XPOST localhost:9901/targets/deregister -d '{"targetGroup":"app","target":"127.0.0.1:9001"}'`,
  );

const RELAY = 'albatross.target-change';

/** Cluster primary: starts the workers, relays admin registration changes to all of them. */
function runPrimary(workers: number): void {
  for (let i = 0; i < workers; i++) cluster.fork({ ALBATROSS_WORKER_INDEX: String(i) });
  cluster.on('message', (from, message: { type?: string; change?: TargetChange }) => {
    if (message?.type !== RELAY) return;
    for (const worker of Object.values(cluster.workers ?? {})) if (worker && worker !== from) worker.send(message);
  });
  cluster.on('exit', (worker, code, signal) => {
    if (signal !== 'SIGTERM' && code !== 0) console.error(`albatross-proxy: worker ${worker.process.pid} exited (${signal ?? code})`);
  });
  const stop = () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM');
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

async function main(): Promise<void> {
  const opts = program.parse().opts<ProxyOptions>();
  if (opts.workers > 1 && cluster.isPrimary) return runPrimary(opts.workers);
  const workerIndex = Number(process.env.ALBATROSS_WORKER_INDEX ?? 0);
  const log = pino({ level: opts.logLevel, base: { service: 'albatross-proxy', ...(cluster.isWorker ? { worker: workerIndex } : {}) } });
  const model = readTemplateFile(opts.template, { onWarning: (message) => log.warn(message) });
  const runtime = createLoadBalancerRuntime(model, opts.targets, {
    timeScale: opts.timeScale,
    onStateChange: (event) => log.info(event, 'target state'),
  });
  const ports: Record<number, number> = {};
  for (const listener of model.listeners) ports[listener.port] = opts.listen[listener.port] ?? defaultLocalPort(listener.port);
  const proxy = await startProxyServer({
    runtime,
    ports,
    bind: opts.bind,
    // One admin API (the first worker): per-worker admin ports would split the view.
    adminPort: workerIndex === 0 ? opts.adminPort : undefined,
    adminBind: opts.adminBind,
    onTargetChange: cluster.isWorker ? (change) => process.send?.({ type: RELAY, change }) : undefined,
    tls: await loadTlsMaterial(opts.cert, opts.key),
    upstreamClient: opts.upstreamClient,
    log,
  });
  const summary = {
    template: opts.template,
    listeners: model.listeners.map((l) => ({ port: l.port, protocol: l.protocol, local: `${opts.bind}:${proxy.ports[l.port]}`, rules: l.rules.length })),
    targetGroups: runtime.report().targetGroups.map((g) => ({ name: g.name, targets: g.targets.map((t) => t.id) })),
    admin: `${opts.adminBind}:${proxy.adminPort}`,
  };
  if (cluster.isWorker) {
    process.on('message', (message: { type?: string; change?: TargetChange }) => {
      if (message?.type === RELAY && message.change) applyTargetChange(runtime, message.change, log);
    });
  }
  if (workerIndex === 0) log.info({ ...summary, workers: opts.workers }, 'albatross proxy ready');
  const shutdown = () => {
    log.info('shutting down');
    void proxy.close().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: Error & { code?: string }) => {
  const hint = error.code === 'ENOENT' ? ' (run `npx cdk synth` first, or pass --template)' : '';
  console.error(`albatross-proxy: ${error.message}${hint}`);
  process.exit(1);
});
