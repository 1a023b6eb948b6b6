/**
 * The drain engine, shared by the Lambda orchestrator and the CLI. For one target it walks a small
 * state machine — planned → ecs-draining → deregistering → waiting → drained | timed-out | failed —
 * and can stop at a deadline (`in-progress`) and be run again to resume: every step is idempotent.
 */
import { DescribeAutoScalingInstancesCommand, AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { ECSClient } from '@aws-sdk/client-ecs';
import { DeregisterTargetsCommand, DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ECS_ALLOWANCE_MS, TIMEOUT_MARGIN_MS } from './budget';
import { countUnstopped, findContainerInstance, HostPortTasks, instanceTasks, setDraining } from './ecs';
import { DrainError, isInvalidTarget, toDrainError } from './errors';
import { findRegistrations, Registration, RegistrationScope } from './registrations';
import { RetryPolicy, sleep as realSleep, withRetry } from './retry';
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
  /** The ECS service whose task was seen serving this port (the task's group), when one was. */
  service?: string;
  /** Milliseconds from the start of the drain. */
  endedAfterMs?: number;
  /**
   * Epoch ms when DeregisterTargets for it returned (the delay counts from here, never from before
   * AWS took it; kept across resumes through `DrainOptions.deregisteredAt`).
   */
  deregisteredAt?: number;
  /** DeregisterTargets was sent for it (maybe without an answer): an interrupted run lists it to re-register. */
  deregisterSent?: boolean;
  error?: string;
}

/** Identifies a registration across runs: target group, id and port. */
export function registrationKey(r: Pick<Registration, 'targetGroupArn' | 'id' | 'port'>): string {
  return `${r.targetGroupArn}|${r.id}|${r.port}`;
}

/** When each registration was deregistered, by registrationKey: what a resumed run needs. */
export function deregistrationTimes(report: DrainReport): Record<string, number> {
  const times: Record<string, number> = {};
  for (const r of report.registrations) if (r.deregisteredAt !== undefined) times[registrationKey(r)] = r.deregisteredAt;
  return times;
}

/** What the engine did to the ECS container instance (absent when there was none or no cluster). */
export interface EcsOutcome {
  readonly cluster: string;
  readonly containerInstanceArn: string;
  /** This run set it DRAINING (it was ACTIVE); an interrupted run says how to set it back. */
  readonly setDrainingByThisRun: boolean;
  /**
   * Its status when it was neither ACTIVE nor DRAINING (REGISTERING, DEREGISTERING, INACTIVE, …):
   * ECS refuses DRAINING then, so there is no ECS wait; its targets are still deregistered.
   */
  readonly notActiveStatus?: string;
  /** Every service task on it has lastStatus STOPPED: the ECS wait is over. */
  serviceTasksStopped: boolean;
  /**
   * Every task on it, standalone ones included, has lastStatus STOPPED. Not itself an end signal:
   * a registration ends by `ecs-tasks-stopped` only when the tasks that served its own port have
   * stopped (HostPortTasks), so one service's tasks moving never ends another's registration.
   */
  tasksStopped: boolean;
  /** Standalone tasks (RunTask) still running at the last look: ECS does not stop them on DRAINING. */
  standaloneTasks: number;
}

export interface DrainReport {
  readonly target: string;
  state: DrainState;
  /** Epoch ms when the drain began (kept across resumes). */
  readonly startedAt: number;
  readonly registrations: RegistrationOutcome[];
  /** Each state entered, with ms since start. */
  readonly steps: { state: DrainState; atMs: number }[];
  ecs?: EcsOutcome;
}

export interface DrainOptions {
  /** Target groups to consider. */
  readonly scope?: RegistrationScope;
  /** ECS cluster: set the container instance DRAINING and wait for its tasks first. */
  readonly cluster?: string;
  /** Instance-side early-finish signal (the local proxy's admin API). */
  readonly inFlight?: InFlightProbe;
  /** Poll period in ms, jittered ±1/3; slowed down while AWS throttles. @default 1500 */
  readonly pollMs?: number;
  /** Give up after this long. @default the largest deregistration delay + 30 s (+ ECS wait) */
  readonly timeoutMs?: number;
  /** Stop at this epoch ms with state `in-progress` (a Lambda's budget); run again to resume. */
  readonly deadline?: number;
  /** Epoch ms of the original start, when resuming. */
  readonly startedAt?: number;
  /** When resuming: when each registration was deregistered (from deregistrationTimes of the last run). */
  readonly deregisteredAt?: Readonly<Record<string, number>>;
  /** Resumed drains and lifecycle events accept a target that is no longer registered. */
  readonly allowUnregistered?: boolean;
  /** Plan only: find registrations, change nothing. */
  readonly dryRun?: boolean;
  readonly retry?: RetryPolicy;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Jitter source, 0 ≤ x < 1. @default Math.random */
  readonly random?: () => number;
  /** Told about every state change and every poll. */
  readonly onProgress?: (report: DrainReport) => void;
}

const DEFAULT_POLL_MS = 1500;
/** A throttled pass doubles the poll period, up to this factor; a clean pass resets it. */
const MAX_SLOWDOWN = 8;

/** A target still registered (not `draining`) this long after DeregisterTargets returned is deregistered again. */
const REDEREGISTER_AFTER_MS = 10_000;

class DrainRun {
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  /** The caller's retry policy, also telling this run when AWS throttles it. */
  private readonly baseRetry: RetryPolicy;
  /** When the drain gives up (known once the registrations and their delays are). */
  private timeoutAt?: number;
  private throttled = false;
  private slowdown = 1;
  /** The instance's tasks by the host port they serve, from every look at them in this run. */
  private readonly portTasks = new HostPortTasks();
  readonly report: DrainReport;

  constructor(
    private readonly clients: DrainClients,
    private readonly target: DrainTarget,
    private readonly options: DrainOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? realSleep;
    this.random = options.random ?? Math.random;
    this.baseRetry = {
      now: this.now,
      ...options.retry,
      onThrottle: (error) => {
        this.throttled = true;
        options.retry?.onThrottle?.(error);
      },
    };
    this.report = { target: formatDrainTarget(target), state: 'planned', startedAt: options.startedAt ?? this.now(), registrations: [], steps: [] };
  }

  /** Retries stop at the run's deadline or the drain's timeout, whichever comes first: never past either. */
  private get retry(): RetryPolicy {
    const limits = [this.baseRetry.deadline, this.options.deadline, this.timeoutAt].filter((t): t is number => t !== undefined);
    return limits.length ? { ...this.baseRetry, deadline: Math.min(...limits) } : this.baseRetry;
  }

  private enter(state: DrainState): void {
    this.report.state = state;
    this.report.steps.push({ state, atMs: this.now() - this.report.startedAt });
    this.options.onProgress?.(this.report);
  }

  /** The run's own deadline (a Lambda's budget) has passed: stop as `in-progress`, resumable. */
  private pastDeadline(): boolean {
    return this.options.deadline !== undefined && this.now() >= this.options.deadline;
  }

  private outOfBudget(timeoutAt: number): DrainState | undefined {
    if (this.now() >= timeoutAt) return 'timed-out';
    return this.pastDeadline() ? 'in-progress' : undefined;
  }

  /**
   * Sleeps one poll period: pollMs × 2/3–4/3 (1–2 s by default; jitter keeps many drains from
   * polling in step), doubled after each pass AWS throttled, and never past `until`, so neither the
   * timeout nor the run's deadline is overshot by an interval.
   */
  private async pause(until: number): Promise<void> {
    this.slowdown = this.throttled ? Math.min(this.slowdown * 2, MAX_SLOWDOWN) : 1;
    this.throttled = false;
    const period = (this.options.pollMs ?? DEFAULT_POLL_MS) * this.slowdown * (2 / 3 + (this.random() * 2) / 3);
    await this.sleep(Math.max(0, Math.min(period, until - this.now())));
  }

  async run(): Promise<DrainReport> {
    this.enter('planned');
    // Known before the registrations are: an explicit timeout bounds the first calls too.
    if (this.options.timeoutMs !== undefined) this.timeoutAt = this.report.startedAt + this.options.timeoutMs;
    const registrations = await findRegistrations(this.clients.elbv2, this.target, this.options.scope, this.retry);
    if (registrations.length === 0 && !this.options.allowUnregistered) await this.explainNoRegistration();
    this.report.registrations.push(...registrations);
    if (this.options.dryRun) return this.report;
    const maxDelayMs = Math.max(0, ...registrations.map((r) => r.deregistrationDelaySeconds * 1000));
    const timeoutAt = this.report.startedAt + (this.options.timeoutMs ?? maxDelayMs + TIMEOUT_MARGIN_MS + (this.options.cluster ? ECS_ALLOWANCE_MS : 0));
    this.timeoutAt = timeoutAt;
    if (this.options.cluster && this.target.kind === 'instance' && this.clients.ecs) {
      // The ECS wait leaves the delay + margin for deregistration and its wait, so that when the
      // tasks do not stop in time the targets are still deregistered and drained.
      const ecsUntil = timeoutAt - maxDelayMs - TIMEOUT_MARGIN_MS;
      if ((await this.drainEcs(ecsUntil)) === 'in-progress') return this.finish('in-progress');
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
      const asg = await withRetry(
        () => this.clients.autoScaling!.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [this.target.id] })),
        this.retry,
      );
      if ((asg.AutoScalingInstances ?? []).length === 0) {
        throw new DrainError('UNKNOWN_INSTANCE', `instance ${what} is in no Auto Scaling group and no target group: check the id and --region`);
      }
    }
    throw new DrainError('NOT_REGISTERED', `${what} is not registered in any target group${this.options.scope?.stackName ? ` of stack ${this.options.scope.stackName}` : ''}: nothing to drain`);
  }

  /**
   * ECS first: its tasks move and ECS deregisters their ports itself. Waits until every service
   * task on the instance has stopped, whichever service it belongs to, or `until` passes (then
   * the drain goes on regardless); only the run's deadline stops it here, as `in-progress`.
   */
  private async drainEcs(until: number): Promise<'in-progress' | undefined> {
    const ecs = this.clients.ecs!;
    const cluster = this.options.cluster!;
    const arn = await findContainerInstance(ecs, cluster, this.target.id, this.retry);
    if (arn === undefined) return undefined;
    this.enter('ecs-draining');
    const change = await setDraining(ecs, cluster, arn, this.retry);
    const notActiveStatus = change.kind === 'not-active' ? change.status : undefined;
    this.report.ecs = { cluster, containerInstanceArn: arn, setDrainingByThisRun: change.kind === 'set', ...(notActiveStatus !== undefined ? { notActiveStatus } : {}), serviceTasksStopped: false, tasksStopped: false, standaloneTasks: 0 };
    if (notActiveStatus !== undefined) return undefined; // ECS moves nothing: straight to deregistration
    while (!(await this.checkEcsTasks())) {
      this.options.onProgress?.(this.report); // with report.ecs set: an interrupted run can tell how to undo it
      if (this.pastDeadline()) return 'in-progress';
      if (this.now() >= until) return undefined;
      await this.pause(Math.min(until, this.options.deadline ?? Infinity));
    }
    return undefined;
  }

  /**
   * Have the service tasks on the container instance stopped (the ECS wait is over)? Standalone
   * tasks are counted apart: ECS does not stop them on DRAINING. Remembered once all have stopped.
   */
  private async checkEcsTasks(): Promise<boolean> {
    const ecs = this.report.ecs;
    if (ecs === undefined || ecs.notActiveStatus !== undefined) return false;
    if (ecs.tasksStopped) return true;
    const tasks = await instanceTasks(this.clients.ecs!, ecs.cluster, ecs.containerInstanceArn, this.retry);
    this.portTasks.record(tasks);
    this.nameServices();
    const live = countUnstopped(tasks);
    ecs.serviceTasksStopped = live.service === 0;
    ecs.standaloneTasks = live.standalone;
    ecs.tasksStopped = live.service === 0 && live.standalone === 0;
    return ecs.serviceTasksStopped;
  }

  private async deregister(): Promise<void> {
    const byGroup = new Map<string, RegistrationOutcome[]>();
    for (const r of this.report.registrations) byGroup.set(r.targetGroupArn, [...(byGroup.get(r.targetGroupArn) ?? []), r]);
    for (const [arn, group] of byGroup) {
      for (const r of group) r.deregisterSent = true;
      try {
        await this.sendDeregister(arn, group);
      } catch (error) {
        // Already gone is what we wanted; anything else is recorded and the others still drain.
        if (isInvalidTarget(error)) continue;
        for (const r of group) r.error = toDrainError(error).message;
        continue;
      }
      // After the call returned: the delay cannot start before AWS took the request. A resumed run
      // keeps the first time, since sending it again does not restart the ALB's delay.
      const at = this.now();
      for (const r of group) r.deregisteredAt = this.options.deregisteredAt?.[registrationKey(r)] ?? at;
    }
  }

  private async sendDeregister(arn: string, group: RegistrationOutcome[]): Promise<void> {
    await withRetry(() => this.clients.elbv2.send(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: group.map((r) => ({ Id: r.id, Port: r.port })) })), this.retry);
  }

  /**
   * The registration is still in service after DeregisterTargets (it can return and do nothing):
   * never counted as ended. Sent again after a while; its delay then counts from the new call.
   */
  private async stillRegistered(r: RegistrationOutcome): Promise<undefined> {
    if (r.deregisteredAt !== undefined && this.now() - r.deregisteredAt < REDEREGISTER_AFTER_MS) return undefined;
    try {
      await this.sendDeregister(r.targetGroupArn, [r]);
      r.deregisteredAt = this.now();
    } catch (error) {
      if (!isInvalidTarget(error)) throw error;
    }
    return undefined;
  }

  /** The target's state in the group; `gone` when AWS no longer lists it or no longer knows it (InvalidTarget). */
  private async targetState(r: RegistrationOutcome): Promise<string> {
    try {
      const health = await withRetry(
        () => this.clients.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: r.targetGroupArn, Targets: [{ Id: r.id, Port: r.port }] })),
        this.retry,
      );
      return health.TargetHealthDescriptions?.[0]?.TargetHealth?.State ?? 'gone';
    } catch (error) {
      // As the SDK's and botocore's target_deregistered waiters do: a target AWS no longer knows is deregistered.
      if (isInvalidTarget(error)) return 'gone';
      throw error;
    }
  }

  /**
   * Have the tasks that served this registration's port stopped? ECS stops a service task only
   * once its own target groups have drained it (their delays passed), and a stopped task serves
   * nothing. Only this port's tasks count: a port no task was seen bound to (registered by hand,
   * or a task first seen already stopped without its bindings) has no ECS evidence.
   */
  private servingTasksStopped(r: RegistrationOutcome): boolean {
    // Only an instance target has a container instance (report.ecs), and its registrations' ports are host ports.
    if (this.report.ecs === undefined || this.report.ecs.notActiveStatus !== undefined) return false;
    return this.portTasks.servedBy(r.port)?.stopped ?? false;
  }

  /** Each registration served by one service's tasks is labelled with it, for the report. */
  private nameServices(): void {
    for (const r of this.report.registrations) {
      const services = this.portTasks.servedBy(r.port)?.services ?? [];
      if (services.length === 1) r.service = services[0];
    }
  }

  private async endSignal(r: RegistrationOutcome): Promise<EndSignal | undefined> {
    const state = await this.targetState(r);
    if (state === 'gone' || state === 'unused') return 'unused';
    // Only a registration the ALB is draining can end by a signal or by its delay.
    if (state !== 'draining' && state !== 'unhealthy.draining') return this.stillRegistered(r);
    if (this.servingTasksStopped(r)) return 'ecs-tasks-stopped';
    if (this.options.inFlight && (await this.options.inFlight(r)) === 0) return 'in-flight-zero';
    if (this.now() - (r.deregisteredAt ?? this.report.startedAt) >= r.deregistrationDelaySeconds * 1000) return 'delay-elapsed';
    return undefined;
  }

  /**
   * One look at every open registration. The run's deadline is checked between registrations:
   * with many groups and throttled calls a pass can take long, and a Lambda run must not overrun.
   */
  private async pollPass(): Promise<void> {
    const open = this.report.registrations.filter((r) => r.endedBy === undefined && r.error === undefined);
    if (open.length === 0) return;
    // Once per pass, not per registration (the instance's tasks are the same for all of them).
    // Looked at again while waiting: when the ECS wait ran out, tasks may still stop before the delay.
    await this.checkEcsTasks();
    for (const [i, r] of open.entries()) {
      if (i > 0 && this.pastDeadline()) return;
      const signal = await this.endSignal(r);
      if (signal) {
        r.endedBy = signal;
        r.endedAfterMs = this.now() - this.report.startedAt;
      }
    }
  }

  private async waitForDrained(timeoutAt: number): Promise<DrainState> {
    for (;;) {
      await this.pollPass();
      this.options.onProgress?.(this.report);
      if (this.report.registrations.every((r) => r.endedBy !== undefined || r.error !== undefined)) return 'drained';
      const out = this.outOfBudget(timeoutAt);
      if (out) return out;
      await this.pause(Math.min(timeoutAt, this.options.deadline ?? Infinity));
    }
  }
}

/**
 * Drains one target: ECS DRAINING (when a cluster is given), deregistration from every target
 * group it is in, then polling until each registration has ended on its own evidence — the API
 * (`unused`), the tasks serving its port stopped, an instance-side signal for its group, or its
 * own group's deregistration delay elapsing — and only then `drained`. Never waits past the timeout.
 * Throws DrainError for bad input (unknown instance, not registered) and AWS failures.
 */
export async function drainTarget(clients: DrainClients, target: DrainTarget, options: DrainOptions = {}): Promise<DrainReport> {
  const run = new DrainRun(clients, target, options);
  try {
    return await run.run();
  } catch (error) {
    // With what was done so far: a resumed run keeps the start and the deregistration times.
    const drainError = toDrainError(error);
    drainError.report = run.report;
    throw drainError;
  }
}
