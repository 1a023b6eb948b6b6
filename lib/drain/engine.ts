/**
 * The drain engine, shared by the Lambda orchestrator and the CLI. For one target it walks a small
 * state machine — planned → ecs-draining → deregistering → waiting → drained | timed-out | failed —
 * and can stop at a deadline (`in-progress`) and be run again to resume: every step is idempotent.
 */
import { DescribeAutoScalingInstancesCommand, AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { ECSClient } from '@aws-sdk/client-ecs';
import { DeregisterTargetsCommand, DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { findContainerInstance, runningTasks, setDraining } from './ecs';
import { awsErrorCode, DrainError, toDrainError } from './errors';
import { findRegistrations, Registration, RegistrationScope } from './registrations';
import { RetryPolicy, sleep as realSleep, withThrottlingRetry } from './retry';
import { InFlightProbe } from './signals';
import { DrainTarget, formatDrainTarget } from './target-id';

/** The clients the engine talks to; tests pass mocked ones. */
export interface DrainClients {
  readonly elbv2: ElasticLoadBalancingV2Client;
  readonly autoScaling?: AutoScalingClient;
  readonly ecs?: ECSClient;
}

export type DrainState = 'planned' | 'ecs-draining' | 'deregistering' | 'waiting' | 'drained' | 'timed-out' | 'failed' | 'in-progress';

/** What ended the drain of one registration. */
export type EndSignal = 'unused' | 'in-flight-zero' | 'ecs-tasks-stopped' | 'delay-elapsed';

export interface RegistrationOutcome extends Registration {
  endedBy?: EndSignal;
  /** Milliseconds from the start of the drain. */
  endedAfterMs?: number;
  error?: string;
}

export interface DrainReport {
  readonly target: string;
  state: DrainState;
  /** Epoch ms when the drain began (kept across resumes). */
  readonly startedAt: number;
  readonly registrations: RegistrationOutcome[];
  /** Each state entered, with ms since start. */
  readonly steps: { state: DrainState; atMs: number }[];
}

export interface DrainOptions {
  /** Target groups to consider. */
  readonly scope?: RegistrationScope;
  /** ECS cluster: set the container instance DRAINING and wait for its tasks first. */
  readonly cluster?: string;
  /** Instance-side early-finish signal (the local proxy's admin API). */
  readonly inFlight?: InFlightProbe;
  /** Poll period in ms; throttled polls back off. @default 1500 */
  readonly pollMs?: number;
  /** Give up after this long. @default the largest deregistration delay + 30 s (+ ECS wait) */
  readonly timeoutMs?: number;
  /** Stop at this epoch ms with state `in-progress` (a Lambda's budget); run again to resume. */
  readonly deadline?: number;
  /** Epoch ms of the original start, when resuming. */
  readonly startedAt?: number;
  /** Resumed drains and lifecycle events accept a target that is no longer registered. */
  readonly allowUnregistered?: boolean;
  /** Plan only: find registrations, change nothing. */
  readonly dryRun?: boolean;
  readonly retry?: RetryPolicy;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Told about every state change and every poll. */
  readonly onProgress?: (report: DrainReport) => void;
}

const TIMEOUT_MARGIN_MS = 30_000;

class DrainRun {
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  readonly report: DrainReport;
  private ecsTasksStopped = false;

  constructor(
    private readonly clients: DrainClients,
    private readonly target: DrainTarget,
    private readonly options: DrainOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? realSleep;
    this.report = { target: formatDrainTarget(target), state: 'planned', startedAt: options.startedAt ?? this.now(), registrations: [], steps: [] };
  }

  private enter(state: DrainState): void {
    this.report.state = state;
    this.report.steps.push({ state, atMs: this.now() - this.report.startedAt });
    this.options.onProgress?.(this.report);
  }

  private outOfBudget(timeoutAt: number): DrainState | undefined {
    if (this.now() >= timeoutAt) return 'timed-out';
    if (this.options.deadline !== undefined && this.now() >= this.options.deadline) return 'in-progress';
    return undefined;
  }

  async run(): Promise<DrainReport> {
    this.enter('planned');
    const registrations = await findRegistrations(this.clients.elbv2, this.target, this.options.scope, this.options.retry);
    if (registrations.length === 0 && !this.options.allowUnregistered) await this.explainNoRegistration();
    this.report.registrations.push(...registrations);
    if (this.options.dryRun) return this.report;
    const maxDelayMs = Math.max(0, ...registrations.map((r) => r.deregistrationDelaySeconds * 1000));
    const timeoutAt = this.report.startedAt + (this.options.timeoutMs ?? maxDelayMs + TIMEOUT_MARGIN_MS + (this.options.cluster ? 10 * 60_000 : 0));
    if (this.options.cluster && this.target.kind === 'instance' && this.clients.ecs) {
      const stopped = await this.drainEcs(timeoutAt);
      if (stopped !== undefined) return this.finish(stopped);
    }
    this.enter('deregistering');
    await this.deregister();
    this.enter('waiting');
    const end = await this.waitForDrained(timeoutAt);
    return this.finish(end);
  }

  private finish(state: DrainState): DrainReport {
    const failed = this.report.registrations.some((r) => r.error !== undefined);
    this.enter(state === 'drained' && failed ? 'failed' : state);
    return this.report;
  }

  /** Tells "no such instance" from "instance in no target group". */
  private async explainNoRegistration(): Promise<never> {
    const what = formatDrainTarget(this.target);
    if (this.target.kind === 'instance' && this.clients.autoScaling) {
      const asg = await withThrottlingRetry(
        () => this.clients.autoScaling!.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [this.target.id] })),
        this.options.retry,
      );
      if ((asg.AutoScalingInstances ?? []).length === 0) {
        throw new DrainError('UNKNOWN_INSTANCE', `instance ${what} is in no Auto Scaling group and no target group: check the id and --region`);
      }
    }
    throw new DrainError('NOT_REGISTERED', `${what} is not registered in any target group${this.options.scope?.stackName ? ` of stack ${this.options.scope.stackName}` : ''}: nothing to drain`);
  }

  /** ECS first: its tasks move and ECS deregisters their ports itself. Returns a final state when out of budget. */
  private async drainEcs(timeoutAt: number): Promise<DrainState | undefined> {
    const ecs = this.clients.ecs!;
    const cluster = this.options.cluster!;
    const arn = await findContainerInstance(ecs, cluster, this.target.id, this.options.retry);
    if (arn === undefined) return undefined;
    this.enter('ecs-draining');
    await setDraining(ecs, cluster, arn, this.options.retry);
    while ((await runningTasks(ecs, cluster, arn, this.options.retry)) > 0) {
      const out = this.outOfBudget(timeoutAt);
      if (out) return out;
      await this.sleep(this.options.pollMs ?? 1500);
    }
    this.ecsTasksStopped = true;
    return undefined;
  }

  private async deregister(): Promise<void> {
    const byGroup = new Map<string, RegistrationOutcome[]>();
    for (const r of this.report.registrations) byGroup.set(r.targetGroupArn, [...(byGroup.get(r.targetGroupArn) ?? []), r]);
    for (const [arn, group] of byGroup) {
      try {
        await withThrottlingRetry(
          () => this.clients.elbv2.send(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: group.map((r) => ({ Id: r.id, Port: r.port })) })),
          this.options.retry,
        );
      } catch (error) {
        // Already gone is what we wanted; anything else is recorded and the others still drain.
        if (awsErrorCode(error) === 'InvalidTarget') continue;
        for (const r of group) r.error = toDrainError(error).message;
      }
    }
  }

  private async endSignal(r: RegistrationOutcome): Promise<EndSignal | undefined> {
    const health = await withThrottlingRetry(
      () => this.clients.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: r.targetGroupArn, Targets: [{ Id: r.id, Port: r.port }] })),
      this.options.retry,
    );
    const state = health.TargetHealthDescriptions?.[0]?.TargetHealth?.State;
    if (state === undefined || state === 'unused') return 'unused';
    if (this.ecsTasksStopped) return 'ecs-tasks-stopped';
    if (this.options.inFlight && (await this.options.inFlight(r)) === 0) return 'in-flight-zero';
    if (this.now() - this.report.startedAt >= r.deregistrationDelaySeconds * 1000) return 'delay-elapsed';
    return undefined;
  }

  private async waitForDrained(timeoutAt: number): Promise<DrainState> {
    for (;;) {
      for (const r of this.report.registrations) {
        if (r.endedBy !== undefined || r.error !== undefined) continue;
        const signal = await this.endSignal(r);
        if (signal) {
          r.endedBy = signal;
          r.endedAfterMs = this.now() - this.report.startedAt;
        }
      }
      this.options.onProgress?.(this.report);
      if (this.report.registrations.every((r) => r.endedBy !== undefined || r.error !== undefined)) return 'drained';
      const out = this.outOfBudget(timeoutAt);
      if (out) return out;
      await this.sleep(this.options.pollMs ?? 1500);
    }
  }
}

/**
 * Drains one target: ECS DRAINING (when a cluster is given), deregistration from every target
 * group it is in, then polling until each registration has ended — by the API (`unused`), by an
 * instance-side signal, or by its deregistration delay elapsing. Never waits past the timeout.
 * Throws DrainError for bad input (unknown instance, not registered) and AWS failures.
 */
export async function drainTarget(clients: DrainClients, target: DrainTarget, options: DrainOptions = {}): Promise<DrainReport> {
  try {
    return await new DrainRun(clients, target, options).run();
  } catch (error) {
    throw toDrainError(error);
  }
}
