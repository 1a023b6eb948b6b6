/**
 * The whole data plane: one TargetGroup per target group of the model, with the local backends
 * mapped onto them by service (`--targets web=127.0.0.1:9001,127.0.0.1:9002`).
 */
import { randomBytes } from 'node:crypto';
import { LoadBalancerRuntime } from './contracts';
import { parseTargetId } from '../alb/target-id';
import { ActionModel, LoadBalancerModel, TargetAddress, TargetsReport } from './model';
import { GROUP_COOKIES, StickyCookies } from './stickiness';
import { TargetGroup, TargetGroupOptions } from './target-group';

export type RuntimeOptions = TargetGroupOptions;

type ForwardAction = Extract<ActionModel, { type: 'forward' }>;

/** The target group a forward action sends a request to, and the group-stickiness cookies to set. */
export interface ForwardChoice {
  /** Logical id of the group. */
  readonly targetGroup: string;
  /** `AWSALBTG` and `AWSALBTGCORS`, when the forward has target group stickiness. */
  readonly setCookies?: readonly string[];
}

type StateChange = Parameters<NonNullable<TargetGroupOptions['onStateChange']>>[0];

export class DataPlaneRuntime implements LoadBalancerRuntime {
  private readonly groups: TargetGroup[] = [];
  private readonly byKey = new Map<string, TargetGroup>();
  private readonly removedListeners: ((targetId: string) => void)[] = [];
  private readonly groupStickiness = new WeakMap<ForwardAction, StickyCookies<string>>();
  private readonly cookieKey: Buffer;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(
    readonly model: LoadBalancerModel,
    options: RuntimeOptions = {},
  ) {
    // One key for every cookie of this runtime; cluster mode passes the one all workers share.
    this.cookieKey = options.cookieKey ?? randomBytes(32);
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    const onStateChange = (event: StateChange): void => {
      options.onStateChange?.(event);
      if (event.state === 'unused' && !this.isRegisteredAnywhere(event.targetId)) for (const listener of this.removedListeners) listener(event.targetId);
    };
    for (const tg of Object.values(model.targetGroups)) {
      const group = new TargetGroup(tg, { ...options, cookieKey: this.cookieKey, onStateChange });
      this.groups.push(group);
      this.byKey.set(tg.logicalId, group);
      if (!this.byKey.has(tg.name)) this.byKey.set(tg.name, group);
    }
  }

  targetGroup(idOrName: string): TargetGroup | undefined {
    return this.byKey.get(idOrName);
  }

  /**
   * The group a forward sends this request to: by weight, or, with target group stickiness, the
   * group an `AWSALBTG` cookie this runtime issued names (when it is one of the forward's groups);
   * the cookies are then set again, expiring the stickiness duration from now.
   */
  chooseForward(action: ForwardAction, cookies: Readonly<Record<string, string>>): ForwardChoice {
    const sticky = this.groupCookiesOf(action);
    if (sticky === undefined) return { targetGroup: chooseTargetGroup(action, this.random) };
    const targetGroup = sticky.lookupIn(cookies) ?? chooseTargetGroup(action, this.random);
    return { targetGroup, setCookies: sticky.setCookies(targetGroup, this.now()) };
  }

  private groupCookiesOf(action: ForwardAction): StickyCookies<string> | undefined {
    if (action.groupStickinessSeconds === undefined) return undefined;
    let sticky = this.groupStickiness.get(action);
    if (sticky === undefined) {
      const ids = action.targetGroups.map((g) => g.targetGroup);
      sticky = new StickyCookies<string>(`forward\n${ids.join('\n')}`, action.groupStickinessSeconds, this.cookieKey, GROUP_COOKIES);
      for (const id of ids) sticky.add(id, id);
      this.groupStickiness.set(action, sticky);
    }
    return sticky;
  }

  report(): TargetsReport {
    return {
      targetGroups: this.groups.map((g) => ({
        name: g.model.name,
        logicalId: g.model.logicalId,
        deregistrationDelaySeconds: g.model.deregistrationDelaySeconds,
        targets: g.status(),
      })),
    };
  }

  start(): void {
    for (const g of this.groups) g.start();
  }

  async stop(): Promise<void> {
    for (const g of this.groups) g.stop();
  }

  /**
   * Hears a target leaving the last group it was registered in (the network layer then closes its
   * pooled connections).
   */
  onTargetRemoved(listener: (targetId: string) => void): void {
    this.removedListeners.push(listener);
  }

  private isRegisteredAnywhere(targetId: string): boolean {
    return this.groups.some((g) => g.status().some((t) => t.id === targetId));
  }

  /** Names accepted by `targetGroup()`, for error messages. */
  knownNames(): string[] {
    return this.groups.map((g) => (g.model.name === g.model.logicalId ? g.model.name : `${g.model.name} (${g.model.logicalId})`));
  }
}

/**
 * Builds the runtime and registers the local backends. `targets` is keyed by service: the target
 * group's short name (its name tag, one group per service) or its logical id; an unknown key is a
 * one-line error naming the template's services.
 */
export function createLoadBalancerRuntime(
  model: LoadBalancerModel,
  targets: Readonly<Record<string, readonly TargetAddress[]>>,
  options: RuntimeOptions = {},
): DataPlaneRuntime {
  assertKnownServices(model, targets);
  const runtime = new DataPlaneRuntime(model, options);
  for (const [key, addresses] of Object.entries(targets)) {
    for (const address of addresses) runtime.targetGroup(key)!.register(address);
  }
  return runtime;
}

/**
 * Fails, in one line naming the template's services, when a `--targets` key is neither a target
 * group's short name nor its logical id. Cluster mode checks before forking, once.
 */
export function assertKnownServices(model: LoadBalancerModel, targets: Readonly<Record<string, unknown>>): void {
  const groups = Object.values(model.targetGroups);
  const unknown = Object.keys(targets).filter((key) => !groups.some((g) => g.name === key || g.logicalId === key));
  if (unknown.length === 0) return;
  const names = unknown.map((k) => JSON.stringify(k)).join(', ');
  throw new Error(`--targets: unknown service${unknown.length > 1 ? 's' : ''} ${names}; the template's services (target groups) are ${groups.map((g) => g.name).join(', ')}`);
}

/** Parses `host:port`, `[v6]:port` (lib/alb/target-id.ts) or `:port` (127.0.0.1). */
export function parseTargetAddress(text: string): TargetAddress {
  const trimmed = text.trim();
  const address = parseTargetId(trimmed.startsWith(':') ? `127.0.0.1${trimmed}` : trimmed);
  if (!address) throw new Error(`invalid target ${JSON.stringify(text)}: expected host:port, e.g. 127.0.0.1:9001`);
  return address;
}

/** Parses `service=host:port,host:port` (the `--targets` option) into a targets map entry. */
export function parseTargetsOption(spec: string, into: Record<string, TargetAddress[]> = {}): Record<string, TargetAddress[]> {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new Error(`invalid --targets ${JSON.stringify(spec)}: expected <service>=<host:port>[,<host:port>…]`);
  const name = spec.slice(0, eq).trim();
  const addresses = spec
    .slice(eq + 1)
    .split(',')
    .filter((s) => s.trim() !== '')
    .map(parseTargetAddress);
  into[name] = [...(into[name] ?? []), ...addresses];
  return into;
}

/**
 * The target group of a forward action: the only one, or a weighted random choice among up to
 * five (weights as in the template; weight 0 never chosen). Group stickiness (`AWSALBTG`) is
 * `DataPlaneRuntime.chooseForward`'s.
 */
export function chooseTargetGroup(action: Extract<ActionModel, { type: 'forward' }>, random: () => number = Math.random): string {
  const groups = action.targetGroups;
  if (groups.length === 1) return groups[0].targetGroup;
  let total = 0;
  for (const g of groups) total += g.weight;
  let point = random() * total;
  for (const g of groups) {
    point -= g.weight;
    if (point < 0) return g.targetGroup;
  }
  return groups[groups.length - 1].targetGroup;
}
