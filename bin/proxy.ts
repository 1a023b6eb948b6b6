#!/usr/bin/env node
/**
 * The local parity proxy: runs the load balancer of the synthesized template on this machine.
 *
 *   npx cdk synth && npm run local -- --targets app=127.0.0.1:9001,127.0.0.1:9002
 */
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import pino from 'pino';
import { AggregatorRegistry } from 'prom-client';
import { TargetAddress } from '../lib/proxy/model';
import { applyTargetChange, TargetChange } from '../lib/proxy/admin';
import { assertAdminExposure } from '../lib/proxy/admin-access';
import { createLoadBalancerRuntime, parseTargetsOption } from '../lib/proxy/runtime';
import { startProxyServer } from '../lib/proxy/server';
import { readTemplateFile } from '../lib/proxy/template';
import { loadTlsMaterial, TlsMaterial } from '../lib/proxy/tls';
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
  .addOption(new Option('--admin-token <token>', 'bearer token the admin API requires (Authorization: Bearer <token>); required when --admin-bind is not loopback').env('ALBATROSS_ADMIN_TOKEN'))
  .option('--cert <file>', 'PEM certificate for HTTPS listeners (default: self-signed, made at start)')
  .option('--key <file>', 'PEM private key for --cert')
  .addOption(new Option('--upstream-client <kind>', 'HTTP client to targets').choices(['undici', 'http']).default('undici'))
  .option('--time-scale <factor>', 'multiply health-check, draining and slow-start durations (e.g. 0.1 to rehearse faster)', positive, 1)
  .option('--workers <n|auto>', 'processes sharing the listeners (cluster mode: shared certificate and sticky-cookie key, each worker has its own health checks; the admin API runs in the first and aggregates /metrics)', workerCount, 1)
  .option('--shutdown-grace <seconds>', 'on SIGTERM/SIGINT, how long requests in flight may take to finish before their connections are cut', nonNegative, 10)
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
  curl -XPOST localhost:9901/targets/deregister -H 'content-type: application/json' -d '{"targetGroup":"app","target":"127.0.0.1:9001"}'`,
  );

const RELAY = 'albatross.target-change';
const METRICS_REQUEST = 'albatross.metrics-request';
const METRICS_RESPONSE = 'albatross.metrics-response';
/** A worker tells the primary it is serving (a worker that dies before that is not re-forked). */
const READY = 'albatross.worker-ready';

/**
 * What every worker must share, made once by the primary and passed in the environment: the sticky
 * cookie key (an AWSALB cookie issued by one worker is honoured by all) and the certificate (the
 * same one whichever worker accepts the connection).
 */
interface SharedSecrets {
  readonly cookieKey: Buffer;
  readonly tls: TlsMaterial;
}

const SECRET_ENV = { cookieKey: 'ALBATROSS_COOKIE_KEY', cert: 'ALBATROSS_TLS_CERT', key: 'ALBATROSS_TLS_KEY' } as const;

function secretsEnv(secrets: SharedSecrets): NodeJS.ProcessEnv {
  return { [SECRET_ENV.cookieKey]: secrets.cookieKey.toString('hex'), [SECRET_ENV.cert]: secrets.tls.cert, [SECRET_ENV.key]: secrets.tls.key };
}

/** The primary's secrets in a worker, removed from the environment so no child process inherits them. */
function takeSecrets(): SharedSecrets | undefined {
  const { [SECRET_ENV.cookieKey]: cookieKey, [SECRET_ENV.cert]: cert, [SECRET_ENV.key]: key } = process.env;
  for (const name of Object.values(SECRET_ENV)) delete process.env[name];
  if (cookieKey === undefined || cert === undefined || key === undefined) return undefined;
  return { cookieKey: Buffer.from(cookieKey, 'hex'), tls: { cert, key } };
}

interface RelayMessage {
  type?: string;
  change?: TargetChange;
  id?: number;
  text?: string;
  contentType?: string;
}

/**
 * Cluster primary: starts the workers with shared secrets, relays registration changes to all of
 * them, answers the admin worker's /metrics with every worker's metrics aggregated, and re-forks a
 * worker that dies unexpectedly.
 */
async function runPrimary(opts: ProxyOptions): Promise<void> {
  // A bad template is reported once, here, rather than by every worker.
  readTemplateFile(opts.template, { onWarning: () => undefined });
  const secrets: SharedSecrets = { cookieKey: randomBytes(32), tls: await loadTlsMaterial(opts.cert, opts.key) };
  const indexOf = new Map<number, number>();
  let stopping = false;
  const fork = (index: number): void => {
    const worker = cluster.fork({ ALBATROSS_WORKER_INDEX: String(index), ...secretsEnv(secrets) });
    indexOf.set(worker.id, index);
  };
  for (let i = 0; i < opts.workers; i++) fork(i);
  const aggregator = new AggregatorRegistry();
  const ready = new Set<number>();
  cluster.on('message', (from, message: RelayMessage) => {
    if (message?.type === READY) {
      ready.add(from.id);
    } else if (message?.type === RELAY) {
      for (const worker of Object.values(cluster.workers ?? {})) if (worker && worker !== from) worker.send(message);
    } else if (message?.type === METRICS_REQUEST) {
      void aggregator.clusterMetrics().then(
        (text) => from.send({ type: METRICS_RESPONSE, id: message.id, text, contentType: aggregator.contentType }),
        (error: Error) => from.send({ type: METRICS_RESPONSE, id: message.id, text: `# metrics aggregation failed: ${error.message}\n`, contentType: aggregator.contentType }),
      );
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    const index = indexOf.get(worker.id) ?? 0;
    indexOf.delete(worker.id);
    if (stopping) return;
    if (!ready.has(worker.id)) {
      // It failed while starting (bad template, port in use): another would fail the same way, so
      // stop rather than fork in a loop. The worker printed why.
      stopping = true;
      for (const other of Object.values(cluster.workers ?? {})) other?.kill('SIGTERM');
      process.exitCode = 1;
      return;
    }
    ready.delete(worker.id);
    // A crashed worker would leave its share of the listeners' connections unserved: start another.
    console.error(`albatross-proxy: worker ${worker.process.pid} (index ${index}) exited (${signal ?? code}); starting a new one`);
    fork(index);
  });
  const stop = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM');
    // Workers drain their requests in flight (up to the grace period) before exiting.
    const deadline = setTimeout(() => process.exit(0), opts.shutdownGrace * 1000 + 2000);
    deadline.unref();
    cluster.on('exit', () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** The admin worker's /metrics: asks the primary for every worker's metrics, aggregated. */
function clusterMetricsText(): () => Promise<{ contentType: string; text: string }> {
  let next = 0;
  const pending = new Map<number, (answer: { contentType: string; text: string }) => void>();
  process.on('message', (message: RelayMessage) => {
    if (message?.type !== METRICS_RESPONSE || message.id === undefined) return;
    pending.get(message.id)?.({ contentType: message.contentType ?? 'text/plain', text: message.text ?? '' });
    pending.delete(message.id);
  });
  return () =>
    new Promise((resolve) => {
      const id = next++;
      pending.set(id, resolve);
      process.send?.({ type: METRICS_REQUEST, id });
    });
}

async function main(): Promise<void> {
  const opts = program.parse().opts<ProxyOptions>();
  // Checked once, before any worker starts: an admin API beyond loopback needs a token.
  assertAdminExposure(opts.adminBind, opts.adminToken);
  if (opts.workers > 1 && cluster.isPrimary) return runPrimary(opts);
  const workerIndex = Number(process.env.ALBATROSS_WORKER_INDEX ?? 0);
  const secrets = cluster.isWorker ? takeSecrets() : undefined;
  const log = pino({ level: opts.logLevel, base: { service: 'albatross-proxy', ...(cluster.isWorker ? { worker: workerIndex } : {}) } });
  const model = readTemplateFile(opts.template, { onWarning: (message) => log.warn(message) });
  const runtime = createLoadBalancerRuntime(model, opts.targets, {
    timeScale: opts.timeScale,
    cookieKey: secrets?.cookieKey,
    onStateChange: (event) => log.info(event, 'target state'),
  });
  const ports: Record<number, number> = {};
  for (const listener of model.listeners) ports[listener.port] = opts.listen[listener.port] ?? defaultLocalPort(listener.port);
  const isAdmin = workerIndex === 0;
  const proxy = await startProxyServer({
    runtime,
    ports,
    bind: opts.bind,
    // One admin API (the first worker): per-worker admin ports would split the view.
    adminPort: isAdmin ? opts.adminPort : undefined,
    adminBind: opts.adminBind,
    adminToken: opts.adminToken || undefined,
    onTargetChange: cluster.isWorker ? (change) => process.send?.({ type: RELAY, change }) : undefined,
    metricsText: cluster.isWorker && isAdmin ? clusterMetricsText() : undefined,
    tls: secrets?.tls ?? (await loadTlsMaterial(opts.cert, opts.key)),
    upstreamClient: opts.upstreamClient,
    shutdownGraceMs: opts.shutdownGrace * 1000,
    log,
  });
  if (cluster.isWorker) {
    // The primary's AggregatorRegistry collects this worker's registry for /metrics.
    new AggregatorRegistry();
    AggregatorRegistry.setRegistries([proxy.metrics.registry]);
    process.on('message', (message: RelayMessage) => {
      if (message?.type === RELAY && message.change) applyTargetChange(runtime, message.change, log);
    });
  }
  const summary = {
    template: opts.template,
    listeners: model.listeners.map((l) => ({ port: l.port, protocol: l.protocol, local: `${opts.bind}:${proxy.ports[l.port]}`, rules: l.rules.length })),
    targetGroups: runtime.report().targetGroups.map((g) => ({ name: g.name, targets: g.targets.map((t) => t.id) })),
    admin: `${opts.adminBind}:${proxy.adminPort}`,
  };
  if (cluster.isWorker) process.send?.({ type: READY });
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
