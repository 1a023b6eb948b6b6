/**
 * One target group at run time: registration, health states, draining and the routing algorithm,
 * as the ALB does them (docs/alb-behaviour.md §7–14; the interfaces are in contracts.ts).
 */
import { formatTargetId } from '../alb/target-id';
import { applyAnomalyMitigation, Candidate, createPicker, Picker, recordOutcome } from './algorithms';
import { NoTarget, TargetGroupRuntime, TargetLease } from './contracts';
import { HealthChecker, HealthOutcome, parseMatcher } from './health-checker';
import { TargetAddress, TargetGroupModel, TargetReason, TargetState, TargetStatus } from './model';
import { entersSlowStart, slowStartWeight } from './slow-start';
import { StickyCookies } from './stickiness';

export interface TargetGroupOptions {
  /**
   * Multiplies every duration read from the model (health check interval and timeout,
   * deregistration delay, slow start) — e.g. 0.001 turns seconds into milliseconds for tests.
   * Cookie lifetimes are not scaled. @default 1
   */
  readonly timeScale?: number;
  /** Clock in milliseconds (slow start, cookie expiry). @default Date.now */
  readonly now?: () => number;
  /** Random source of weighted_random. @default Math.random */
  readonly random?: () => number;
  /** Key of the sticky-cookie HMAC. @default 32 random bytes per process */
  readonly cookieKey?: Buffer;
  /** Told about every state change (logs, metrics). */
  readonly onStateChange?: (event: { readonly targetGroup: string; readonly targetId: string; readonly state: TargetState; readonly reason?: TargetReason }) => void;
}

type DrainResult = 'idle' | 'timeout';

interface Drain {
  readonly promise: Promise<DrainResult>;
  resolve(result: DrainResult): void;
  settled: boolean;
  timer?: NodeJS.Timeout;
}

class Target implements Candidate {
  state: TargetState = 'initial';
  reason?: TargetReason = 'Elb.RegistrationInProgress';
  inFlight = 0;
  passes = 0;
  failures = 0;
  /** When slow start began (clock ms), or -1 when the target is not in slow start. */
  slowStartFrom = -1;
  /** Whether the target is in the group's current candidate list. */
  routable = false;
  weight = 1;
  current = 0;
  errorRate = 0;
  samples = 0;
  drain?: Drain;

  constructor(
    readonly id: string,
    readonly address: TargetAddress,
  ) {}
}

class Lease implements TargetLease {
  readonly target: TargetAddress;
  readonly targetId: string;
  private released = false;

  constructor(
    private readonly group: TargetGroup,
    private readonly entry: Target,
    readonly setCookie?: string,
    readonly setCookies?: readonly string[],
  ) {
    this.target = entry.address;
    this.targetId = entry.id;
  }

  release(outcome: { readonly failed: boolean }): void {
    if (this.released) return;
    this.released = true;
    this.group.finish(this.entry, outcome.failed);
  }
}

const NO_REGISTERED_TARGETS: NoTarget = Object.freeze({ reason: 'no-registered-targets' });

export class TargetGroup implements TargetGroupRuntime {
  private readonly targets = new Map<string, Target>();
  private candidates: Target[] = [];
  private readonly picker: Picker;
  private readonly checker?: HealthChecker;
  private readonly sticky?: StickyCookies<Target>;
  private readonly now: () => number;
  private readonly scale: number;
  private readonly slowStartMs: number;
  private started = false;

  constructor(
    readonly model: TargetGroupModel,
    private readonly options: TargetGroupOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.scale = options.timeScale ?? 1;
    // The ALB accepts slow start with round robin only; other algorithms ignore it.
    this.slowStartMs = model.algorithm === 'round_robin' ? model.slowStartSeconds * 1000 * this.scale : 0;
    this.picker = createPicker(model.algorithm, options.random);
    const hc = model.healthCheck;
    if (hc.enabled) {
      this.checker = new HealthChecker(
        {
          protocol: hc.protocol ?? model.protocol,
          port: hc.port,
          path: hc.path,
          intervalMs: hc.intervalSeconds * 1000 * this.scale,
          timeoutMs: hc.timeoutSeconds * 1000 * this.scale,
          matcher: parseMatcher(hc.matcher),
        },
        (id, outcome) => this.onHealthCheck(id, outcome),
      );
    }
    if (model.stickiness.enabled && model.stickiness.type === 'lb_cookie') {
      this.sticky = new StickyCookies<Target>(model.logicalId, model.stickiness.durationSeconds, options.cookieKey);
    }
  }

  /** Whether `acquire` reads cookies (lb_cookie stickiness): the network layer parses them only then. */
  get usesCookies(): boolean {
    return this.sticky !== undefined;
  }

  /** Starts health checks of every registered target. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const t of this.targets.values()) if (t.state !== 'draining') this.checker?.watch(t.id, t.address);
  }

  /** Stops health checks and drain timers; pending deregistrations resolve `timeout`. */
  stop(): void {
    this.started = false;
    this.checker?.stop();
    for (const t of this.targets.values()) {
      if (t.drain) {
        clearTimeout(t.drain.timer);
        this.settle(t.drain, 'timeout');
      }
    }
  }

  register(address: TargetAddress): void {
    const id = formatTargetId(address);
    const existing = this.targets.get(id);
    if (existing && !existing.drain) return;
    const t = existing ?? new Target(id, { host: address.host, port: address.port });
    if (existing?.drain) {
      // Registering a draining target again cancels the drain, as on the ALB; it starts over.
      clearTimeout(existing.drain.timer);
      this.settle(existing.drain, existing.inFlight === 0 ? 'idle' : 'timeout');
      existing.drain = undefined;
      existing.passes = 0;
      existing.failures = 0;
      this.setState(existing, 'initial', 'Elb.RegistrationInProgress');
    } else {
      this.targets.set(id, t);
      this.sticky?.add(t, id);
      this.notify(t);
    }
    if (this.checker) {
      if (this.started) this.checker.watch(id, t.address);
    } else {
      this.setState(t, 'unavailable', 'Target.HealthCheckDisabled');
    }
    this.rebuild();
  }

  deregister(targetId: string): Promise<'idle' | 'timeout' | 'not-registered'> {
    const t = this.targets.get(targetId);
    if (!t) return Promise.resolve('not-registered');
    if (t.drain) return t.drain.promise;
    this.checker?.unwatch(targetId);
    let resolve!: (result: DrainResult) => void;
    const promise = new Promise<DrainResult>((r) => (resolve = r));
    const drain: Drain = { promise, resolve, settled: false };
    t.drain = drain;
    t.slowStartFrom = -1;
    this.setState(t, 'draining', 'Target.DeregistrationInProgress');
    this.rebuild();
    if (t.inFlight === 0) this.settle(drain, 'idle');
    // The reported state stays `draining` for the whole delay even after an early finish.
    drain.timer = setTimeout(() => {
      this.settle(drain, 'timeout');
      if (this.targets.get(targetId) === t) this.removeTarget(t);
    }, this.model.deregistrationDelaySeconds * 1000 * this.scale);
    return promise;
  }

  acquire(cookies: Readonly<Record<string, string>>): TargetLease | NoTarget {
    const candidates = this.candidates;
    if (candidates.length === 0) return NO_REGISTERED_TARGETS;
    let chosen: Target | undefined;
    if (this.sticky) {
      const stuck = this.sticky.lookupIn(cookies);
      if (stuck?.routable) chosen = stuck;
    }
    chosen ??= candidates[this.picker.pick(candidates, this.prepareWeights(candidates))];
    chosen.inFlight++;
    if (!this.sticky) return new Lease(this, chosen);
    const cookiesToSet = this.sticky.setCookies(chosen, this.now());
    return new Lease(this, chosen, cookiesToSet[0], cookiesToSet);
  }

  status(): TargetStatus[] {
    return [...this.targets.values()].map((t) => (t.reason === undefined ? { id: t.id, state: t.state, inFlight: t.inFlight } : { id: t.id, state: t.state, reason: t.reason, inFlight: t.inFlight }));
  }

  /** Ends a request on a target (called by its lease). */
  finish(t: Target, failed: boolean): void {
    t.inFlight--;
    if (this.model.anomalyMitigation) recordOutcome(t, failed);
    if (t.inFlight === 0 && t.drain) this.settle(t.drain, 'idle');
  }

  /** Sets slow start / anomaly weights; returns whether the picker must honour weights. */
  private prepareWeights(candidates: Target[]): boolean {
    let weighted = false;
    if (this.slowStartMs > 0) {
      const now = this.now();
      for (let i = 0; i < candidates.length; i++) {
        const c = candidates[i];
        if (c.slowStartFrom < 0) {
          c.weight = 1;
          continue;
        }
        c.weight = slowStartWeight(now - c.slowStartFrom, this.slowStartMs);
        if (c.weight === 1) c.slowStartFrom = -1;
        else weighted = true;
      }
    }
    if (this.model.anomalyMitigation) {
      if (!weighted) for (let i = 0; i < candidates.length; i++) candidates[i].weight = 1;
      weighted = applyAnomalyMitigation(candidates) || weighted;
    }
    return weighted;
  }

  private onHealthCheck(targetId: string, outcome: HealthOutcome): void {
    const t = this.targets.get(targetId);
    if (!t || t.state === 'draining') return;
    const hc = this.model.healthCheck;
    if (outcome.healthy) {
      t.passes++;
      t.failures = 0;
      if (t.state !== 'healthy' && t.passes >= hc.healthyThreshold) this.becomeHealthy(t);
      else if (t.state === 'initial') this.setState(t, 'initial', 'Elb.InitialHealthChecking');
      return;
    }
    t.failures++;
    t.passes = 0;
    if (t.state === 'unhealthy' || t.failures >= hc.unhealthyThreshold) {
      t.slowStartFrom = -1;
      this.setState(t, 'unhealthy', outcome.reason);
      this.rebuild();
    } else if (t.state === 'initial') {
      this.setState(t, 'initial', 'Elb.InitialHealthChecking');
    }
  }

  private becomeHealthy(t: Target): void {
    let othersHealthy = 0;
    for (const other of this.targets.values()) if (other !== t && other.state === 'healthy') othersHealthy++;
    t.slowStartFrom = entersSlowStart(this.slowStartMs, othersHealthy) ? this.now() : -1;
    t.current = 0;
    this.setState(t, 'healthy', undefined);
    this.rebuild();
  }

  private setState(t: Target, state: TargetState, reason: TargetReason | undefined): void {
    if (t.state === state && t.reason === reason) return;
    t.state = state;
    t.reason = reason;
    this.notify(t);
  }

  private notify(t: Target): void {
    this.options.onStateChange?.({ targetGroup: this.model.name, targetId: t.id, state: t.state, reason: t.reason });
  }

  private removeTarget(t: Target): void {
    this.targets.delete(t.id);
    this.sticky?.remove(t);
    this.checker?.unwatch(t.id);
    this.options.onStateChange?.({ targetGroup: this.model.name, targetId: t.id, state: 'unused', reason: 'Target.NotRegistered' });
    this.rebuild();
  }

  private settle(drain: Drain, result: DrainResult): void {
    if (drain.settled) return;
    drain.settled = true;
    drain.resolve(result);
  }

  /**
   * Recomputes who gets traffic: healthy targets (and those with checks disabled); when there are
   * none, every registered target that is not draining — the ALB's fail-open.
   */
  private rebuild(): void {
    const healthy: Target[] = [];
    const registered: Target[] = [];
    for (const t of this.targets.values()) {
      t.routable = false;
      if (t.state === 'draining') continue;
      registered.push(t);
      if (t.state === 'healthy' || t.state === 'unavailable') healthy.push(t);
    }
    this.candidates = healthy.length > 0 ? healthy : registered;
    for (const t of this.candidates) t.routable = true;
  }

  /** True when no target is healthy and traffic goes to every registered target. */
  get failingOpen(): boolean {
    return this.candidates.length > 0 && !this.candidates.some((t) => t.state === 'healthy' || t.state === 'unavailable');
  }
}
