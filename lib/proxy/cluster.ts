/**
 * Cluster mode (`--workers N`): the protocol between the primary and its workers (node:cluster).
 *
 * - The primary makes what every worker must share once (the sticky-cookie key, the certificate)
 *   and passes it in the environment.
 * - Registration changes made in one worker (admin API, ELBv2 API) are relayed to the others. The
 *   primary also keeps the current registrations, so a worker it forks (at start, or to replace
 *   one that died) starts with them, not with the start-up `--targets`: it gets them in its
 *   environment, and once it is serving, a sync covering whatever changed meanwhile.
 * - The admin worker's `/metrics` asks the primary for every worker's metrics, aggregated.
 * - A worker that dies is re-forked; one that dies before it served stops the proxy (it would fail
 *   the same way again).
 */
import cluster, { Worker } from 'node:cluster';
import { Logger } from 'pino';
import { AggregatorRegistry } from 'prom-client';
import { applyTargetChange } from './admin';
import { TargetChange } from './contracts';
import { LoadBalancerModel, TargetAddress } from './model';
import { DataPlaneRuntime, parseTargetAddress } from './runtime';
import { formatTargetId } from '../alb/target-id';
import { TlsMaterial } from './tls';

const RELAY = 'albatross.target-change';
const SYNC = 'albatross.targets-sync';
const METRICS_REQUEST = 'albatross.metrics-request';
const METRICS_RESPONSE = 'albatross.metrics-response';
/** A worker tells the primary it is serving (a worker that dies before that is not re-forked). */
const READY = 'albatross.worker-ready';

/** Target group (logical id) → its registered targets. */
export type Registrations = Record<string, TargetAddress[]>;

interface ClusterMessage {
  type?: string;
  change?: TargetChange;
  targets?: Registrations;
  id?: number;
  text?: string;
  contentType?: string;
}

/** What every worker must share: the sticky-cookie key (cookies honoured by all) and the certificate. */
export interface SharedSecrets {
  readonly cookieKey: Buffer;
  readonly tls: TlsMaterial;
}

const ENV = { cookieKey: 'ALBATROSS_COOKIE_KEY', cert: 'ALBATROSS_TLS_CERT', key: 'ALBATROSS_TLS_KEY', targets: 'ALBATROSS_TARGETS', index: 'ALBATROSS_WORKER_INDEX' } as const;

/**
 * The registrations as they stand, kept by the primary from the start-up targets and every relayed
 * change. Groups are keyed by logical id whichever name a change used.
 */
export class RegistrationSet {
  private readonly groups = new Map<string, Map<string, TargetAddress>>();

  constructor(
    private readonly model: LoadBalancerModel,
    initial: Readonly<Record<string, readonly TargetAddress[]>>,
  ) {
    for (const id of Object.keys(model.targetGroups)) this.groups.set(id, new Map());
    for (const [key, addresses] of Object.entries(initial)) for (const address of addresses) this.groupOf(key)?.set(formatTargetId(address), address);
  }

  private groupOf(key: string): Map<string, TargetAddress> | undefined {
    const group = this.model.targetGroups[key] ?? Object.values(this.model.targetGroups).find((g) => g.name === key);
    return group === undefined ? undefined : this.groups.get(group.logicalId);
  }

  apply(change: TargetChange): void {
    const group = this.groupOf(change.targetGroup);
    if (group === undefined) return;
    const address = parseTargetAddress(change.target);
    if (change.op === 'register') group.set(formatTargetId(address), address);
    else group.delete(formatTargetId(address));
  }

  snapshot(): Registrations {
    const out: Registrations = {};
    for (const [id, targets] of this.groups) out[id] = [...targets.values()];
    return out;
  }
}

/**
 * Makes a worker's registrations those of the primary: registers what is missing (or draining),
 * deregisters what is no longer registered. Targets already right keep their health state.
 */
export function reconcileTargets(runtime: DataPlaneRuntime, desired: Registrations, log: Logger): void {
  for (const [key, addresses] of Object.entries(desired)) {
    const group = runtime.targetGroup(key);
    if (!group) continue;
    const current = new Map(group.status().map((t) => [t.id, t.state]));
    const wanted = new Set(addresses.map(formatTargetId));
    for (const address of addresses) {
      const state = current.get(formatTargetId(address));
      if (state === undefined || state === 'draining') group.register(address);
    }
    for (const [id, state] of current) {
      if (state !== 'draining' && !wanted.has(id)) {
        void group.deregister(id);
        log.info({ targetGroup: group.model.name, target: id }, 'target deregistering (cluster sync)');
      }
    }
  }
}

export interface ClusterPrimaryOptions {
  readonly model: LoadBalancerModel;
  /** Number of workers. */
  readonly workers: number;
  /** The start-up `--targets`. */
  readonly targets: Readonly<Record<string, readonly TargetAddress[]>>;
  readonly secrets: SharedSecrets;
  /** How long workers may take to finish requests in flight when stopping. */
  readonly shutdownGraceMs: number;
}

/** The primary: forks the workers, relays and records changes, aggregates metrics, re-forks the dead. */
export function runClusterPrimary(options: ClusterPrimaryOptions): void {
  const registrations = new RegistrationSet(options.model, options.targets);
  const { secrets } = options;
  const indexOf = new Map<number, number>();
  const ready = new Set<number>();
  let stopping = false;
  const fork = (index: number): void => {
    const worker = cluster.fork({
      [ENV.index]: String(index),
      [ENV.cookieKey]: secrets.cookieKey.toString('hex'),
      [ENV.cert]: secrets.tls.cert,
      [ENV.key]: secrets.tls.key,
      [ENV.targets]: JSON.stringify(registrations.snapshot()),
    });
    indexOf.set(worker.id, index);
  };
  for (let i = 0; i < options.workers; i++) fork(i);
  const aggregator = new AggregatorRegistry();
  const others = (from: Worker): Worker[] => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w !== from);
  cluster.on('message', (from, message: ClusterMessage) => {
    if (message?.type === READY) {
      ready.add(from.id);
      // Changes relayed before this worker listened were lost to it: the sync covers them.
      from.send({ type: SYNC, targets: registrations.snapshot() });
    } else if (message?.type === RELAY && message.change) {
      registrations.apply(message.change);
      for (const worker of others(from)) worker.send(message);
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
  const stop = (): void => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM');
    // Workers drain their requests in flight (up to the grace period) before exiting.
    const deadline = setTimeout(() => process.exit(0), options.shutdownGraceMs + 2000);
    deadline.unref();
    cluster.on('exit', () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** What the primary handed this worker, removed from the environment so no child process inherits it. */
export interface WorkerStart {
  readonly index: number;
  readonly secrets?: SharedSecrets;
  /** The registrations as they stood when the worker was forked (undefined outside cluster mode). */
  readonly targets?: Registrations;
}

export function takeWorkerStart(): WorkerStart {
  const env = process.env;
  const { [ENV.cookieKey]: cookieKey, [ENV.cert]: cert, [ENV.key]: key, [ENV.targets]: targets, [ENV.index]: index } = env;
  for (const name of Object.values(ENV)) delete env[name];
  return {
    index: Number(index ?? 0),
    secrets: cookieKey === undefined || cert === undefined || key === undefined ? undefined : { cookieKey: Buffer.from(cookieKey, 'hex'), tls: { cert, key } },
    targets: targets === undefined ? undefined : (JSON.parse(targets) as Registrations),
  };
}

/** A worker's side: relays its own changes, applies the others' and the primary's syncs. */
export interface ClusterWorker {
  /** For the proxy's `onTargetChange`: tells the other workers (through the primary). */
  relay(change: TargetChange): void;
  /** Call once serving: the primary then syncs this worker's registrations. */
  ready(): void;
}

export function joinCluster(runtime: DataPlaneRuntime, log: Logger): ClusterWorker {
  process.on('message', (message: ClusterMessage) => {
    if (message?.type === RELAY && message.change) {
      try {
        applyTargetChange(runtime, message.change, log);
      } catch (error) {
        // Already in the state the change asks for (e.g. synced before the relay arrived).
        log.debug({ err: error, change: message.change }, 'relayed change not applied');
      }
    } else if (message?.type === SYNC && message.targets) {
      reconcileTargets(runtime, message.targets, log);
    }
  });
  return {
    relay: (change) => void process.send?.({ type: RELAY, change }),
    ready: () => void process.send?.({ type: READY }),
  };
}

/** The admin worker's /metrics: asks the primary for every worker's metrics, aggregated. */
export function clusterMetricsText(): () => Promise<{ contentType: string; text: string }> {
  let next = 0;
  const pending = new Map<number, (answer: { contentType: string; text: string }) => void>();
  process.on('message', (message: ClusterMessage) => {
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
