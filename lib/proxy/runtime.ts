/**
 * The whole data plane: one TargetGroup per target group of the model, with the local backends
 * mapped onto them (`--targets app=127.0.0.1:9001,127.0.0.1:9002`).
 */
import { LoadBalancerRuntime } from './contracts';
import { parseTargetId } from '../alb/target-id';
import { ActionModel, LoadBalancerModel, TargetAddress, TargetsReport } from './model';
import { TargetGroup, TargetGroupOptions } from './target-group';

export type RuntimeOptions = TargetGroupOptions;

type StateChange = Parameters<NonNullable<TargetGroupOptions['onStateChange']>>[0];

export class DataPlaneRuntime implements LoadBalancerRuntime {
  private readonly groups: TargetGroup[] = [];
  private readonly byKey = new Map<string, TargetGroup>();
  private readonly removedListeners: ((targetId: string) => void)[] = [];

  constructor(
    readonly model: LoadBalancerModel,
    options: RuntimeOptions = {},
  ) {
    const onStateChange = (event: StateChange): void => {
      options.onStateChange?.(event);
      if (event.state === 'unused' && !this.isRegisteredAnywhere(event.targetId)) for (const listener of this.removedListeners) listener(event.targetId);
    };
    for (const tg of Object.values(model.targetGroups)) {
      const group = new TargetGroup(tg, { ...options, onStateChange });
      this.groups.push(group);
      this.byKey.set(tg.logicalId, group);
      if (!this.byKey.has(tg.name)) this.byKey.set(tg.name, group);
    }
  }

  targetGroup(idOrName: string): TargetGroup | undefined {
    return this.byKey.get(idOrName);
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
 * Builds the runtime and registers the local backends. `targets` is keyed by target group short
 * name or logical id; an unknown key is an error naming the known groups.
 */
export function createLoadBalancerRuntime(
  model: LoadBalancerModel,
  targets: Readonly<Record<string, readonly TargetAddress[]>>,
  options: RuntimeOptions = {},
): DataPlaneRuntime {
  const runtime = new DataPlaneRuntime(model, options);
  for (const [key, addresses] of Object.entries(targets)) {
    const group = runtime.targetGroup(key);
    if (!group) throw new Error(`unknown target group ${JSON.stringify(key)}: the template has ${runtime.knownNames().join(', ')}`);
    for (const address of addresses) group.register(address);
  }
  return runtime;
}

/** Parses `host:port`, `[v6]:port` (lib/alb/target-id.ts) or `:port` (127.0.0.1). */
export function parseTargetAddress(text: string): TargetAddress {
  const trimmed = text.trim();
  const address = parseTargetId(trimmed.startsWith(':') ? `127.0.0.1${trimmed}` : trimmed);
  if (!address) throw new Error(`invalid target ${JSON.stringify(text)}: expected host:port, e.g. 127.0.0.1:9001`);
  return address;
}

/** Parses `name=host:port,host:port` (the `--targets` option) into a targets map entry. */
export function parseTargetsOption(spec: string, into: Record<string, TargetAddress[]> = {}): Record<string, TargetAddress[]> {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new Error(`invalid --targets ${JSON.stringify(spec)}: expected <target group>=<host:port>[,<host:port>…]`);
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
 * five (weights as in the template; weight 0 never chosen). Group-level stickiness (AWSALBTG) is
 * not reproduced.
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
