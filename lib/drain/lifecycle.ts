/**
 * The drain orchestrator's logic, separate from the Lambda wiring so it can be tested: one
 * terminate lifecycle action in; a heartbeat; drained within the run's budget; then
 * CompleteLifecycleAction — or, if the drain needs longer than one run or anything failed, a
 * heartbeat and a continuation message on the queue (a hand-over to the next run).
 *
 * CONTINUE is sent only when the drain ended (drained, or the engine's own timeout), when the
 * overall drain timeout or the continuation cap has passed, or never because the action is gone.
 */
import { AutoScalingClient, CompleteLifecycleActionCommand, RecordLifecycleActionHeartbeatCommand } from '@aws-sdk/client-auto-scaling';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DEFAULT_DRAIN_TIMEOUT_SECONDS, maxContinuations, REQUEUE_DELAY_SECONDS, runDeadline } from './budget';
import { deregistrationTimes, DrainClients, DrainReport, drainTarget } from './engine';
import { awsErrorCode, DrainError, toDrainError } from './errors';
import { RetryPolicy, withRetry } from './retry';
import { parseDrainTarget } from './target-id';

/** The lifecycle action, as the EventBridge event's detail carries it. */
export interface LifecycleAction {
  readonly EC2InstanceId: string;
  readonly LifecycleActionToken: string;
  readonly LifecycleHookName: string;
  readonly AutoScalingGroupName: string;
}

/** What the handler re-queues when a drain outlives one run, when a run failed, or when completing the action failed. */
export interface Continuation {
  readonly kind: 'albatross.drain.continue';
  readonly action: LifecycleAction;
  /** Epoch ms of the drain's first run (0 in a fresh event: this run is the first). */
  readonly startedAt: number;
  /** Runs before this one. */
  readonly attempt: number;
  /** When each registration was deregistered (registrationKey → epoch ms): the delay counts from there. */
  readonly deregisteredAt?: Record<string, number>;
  /** Epoch ms of the last heartbeat AWS took for this action (the event's time in a fresh event). */
  readonly heartbeatAt?: number;
  /** The drain is over; only CompleteLifecycleAction is left, which failed this many times. */
  readonly completeFailures?: number;
}

export type LifecycleOutcome = 'completed' | 'already-completed' | 'requeued' | 'handed-over' | 'complete-requeued' | 'ignored';

export type LifecycleMetric = 'DrainCompleted' | 'DrainRequeued' | 'DrainErrors' | 'DrainAlreadyCompleted' | 'CompleteRequeued' | 'DrainHandedOver' | 'DrainTimedOut';

export interface LifecycleDeps {
  readonly clients: DrainClients & { readonly autoScaling: AutoScalingClient; readonly sqs: SQSClient };
  readonly queueUrl: string;
  readonly cluster?: string;
  readonly targetGroupArns?: readonly string[];
  /** Milliseconds this run may still use (read when the run begins). */
  readonly remainingMs: number;
  /** The Lambda's configured timeout: the margin kept free at the end is a share of it. @default remainingMs */
  readonly functionTimeoutMs?: number;
  /** The hook's heartbeat timeout: a run ends before the heartbeat it sent at its start runs out. @default unbounded */
  readonly heartbeatTimeoutMs?: number;
  /** Bound on one drain from its first run; also sets the continuation cap. @default DEFAULT_DRAIN_TIMEOUT_SECONDS */
  readonly drainTimeoutMs?: number;
  /** Seconds before a continuation is delivered again. @default REQUEUE_DELAY_SECONDS (5) */
  readonly requeueDelaySeconds?: number;
  /** Failed completions re-queued before the message is left to SQS redelivery. @default 5 */
  readonly maxCompleteFailures?: number;
  readonly pollMs?: number;
  /** Backoff of retried calls; their attempts are bounded by the run's deadlines. */
  readonly retry?: RetryPolicy;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly log: (level: 'info' | 'warn' | 'error', message: string, detail?: Record<string, unknown>) => void;
  readonly count: (metric: LifecycleMetric, value?: number) => void;
}

const TERMINATE_DETAIL_TYPE = 'EC2 Instance-terminate Lifecycle Action';
/** Kept free before the Lambda's end: the last call's answer must still be read and the run end cleanly. */
const LAMBDA_END_RESERVE_MS = 5_000;

type MessageShape = { kind?: string; 'detail-type'?: string; time?: string; detail?: Partial<LifecycleAction> } & Partial<Continuation>;

/** Reads an SQS body: an EventBridge terminate event, a continuation, or undefined (to ignore). */
export function parseLifecycleMessage(body: string): Continuation | undefined {
  let message: MessageShape;
  try {
    message = JSON.parse(body) as MessageShape;
  } catch {
    return undefined; // not JSON: retrying cannot make it readable
  }
  if (message?.kind === 'albatross.drain.continue' && message.action) return { ...(message as Continuation), attempt: Number(message.attempt) || 0, startedAt: Number(message.startedAt) || 0 };
  const detail = message?.detail;
  if (message?.['detail-type'] !== TERMINATE_DETAIL_TYPE || !detail?.EC2InstanceId || !detail.LifecycleActionToken) return undefined;
  const eventTime = message.time ? Date.parse(message.time) : NaN;
  return {
    kind: 'albatross.drain.continue',
    action: {
      EC2InstanceId: detail.EC2InstanceId,
      LifecycleActionToken: detail.LifecycleActionToken,
      LifecycleHookName: detail.LifecycleHookName ?? '',
      AutoScalingGroupName: detail.AutoScalingGroupName ?? '',
    },
    startedAt: 0,
    attempt: 0,
    // The hook's timer started when the action did: the event's time is its first "heartbeat".
    ...(Number.isFinite(eventTime) ? { heartbeatAt: eventTime } : {}),
  };
}

/** "No active Lifecycle Action": someone (or a duplicate event) already completed it, or it timed out. */
function isNoActiveAction(error: unknown): boolean {
  return awsErrorCode(error) === 'ValidationError' && /No active Lifecycle Action/i.test((error as Error).message ?? '');
}

const actionInput = (action: LifecycleAction) => ({
  AutoScalingGroupName: action.AutoScalingGroupName,
  LifecycleHookName: action.LifecycleHookName,
  LifecycleActionToken: action.LifecycleActionToken,
  InstanceId: action.EC2InstanceId,
});

const errorText = (error: unknown) => toDrainError(error).message;

/** One message's run: its clock, its limits and what it carries on. */
class LifecycleRun {
  private readonly now: () => number;
  private readonly runStart: number;
  /** The last moment a call may be retried in this run (the Lambda's end, less a reserve). */
  private readonly lambdaEnd: number;
  private readonly drainTimeoutMs: number;
  private readonly delaySeconds: number;

  constructor(
    private readonly deps: LifecycleDeps,
    private readonly continuation: Continuation,
  ) {
    this.now = deps.now ?? Date.now;
    this.runStart = this.now();
    this.lambdaEnd = this.runStart + deps.remainingMs - LAMBDA_END_RESERVE_MS;
    this.drainTimeoutMs = deps.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_SECONDS * 1000;
    this.delaySeconds = deps.requeueDelaySeconds ?? REQUEUE_DELAY_SECONDS;
  }

  private get action(): LifecycleAction {
    return this.continuation.action;
  }

  /** The drain's first run: carried, or this one. */
  private get startedAt(): number {
    return this.continuation.startedAt || this.runStart;
  }

  /** Retries on the drain's clock, bounded by `deadline` rather than by a count. */
  private retry(deadline: number): RetryPolicy {
    return { sleep: this.deps.sleep, now: this.now, random: this.deps.random, attempts: Infinity, ...this.deps.retry, deadline };
  }

  async handle(): Promise<LifecycleOutcome> {
    if (this.continuation.completeFailures !== undefined) return this.finish();
    const cap = maxContinuations(this.drainTimeoutMs, this.delaySeconds);
    if (this.now() - this.startedAt >= this.drainTimeoutMs || this.continuation.attempt >= cap) {
      this.deps.log('error', 'the drain timeout has passed; completing the lifecycle action', { instance: this.action.EC2InstanceId, startedAt: this.startedAt, attempt: this.continuation.attempt, cap, drainTimeoutMs: this.drainTimeoutMs });
      this.deps.count('DrainTimedOut');
      this.deps.count('DrainErrors');
      return this.finish();
    }
    // A heartbeat first: the hook's timer restarts now, whatever the last run left of it.
    const beat = await this.startHeartbeat();
    if (beat === 'gone') return this.gone();
    const heartbeatAt = beat === 'ok' ? this.now() : this.continuation.heartbeatAt;
    const deadline = runDeadline({ startedAt: this.runStart, remainingMs: this.deps.remainingMs, functionTimeoutMs: this.deps.functionTimeoutMs, heartbeatAt: heartbeatAt ?? this.runStart, heartbeatTimeoutMs: this.deps.heartbeatTimeoutMs });
    const { report, error } = await this.drainOnce(deadline);
    if (report && (report.state === 'drained' || report.state === 'timed-out')) {
      if (report.state === 'timed-out') this.deps.count('DrainErrors');
      return this.finish(report);
    }
    return this.handOver(report ?? error?.report, heartbeatAt, error ?? (report?.state === 'failed' ? new DrainError('AWS_ERROR', failedRegistrations(report)) : undefined));
  }

  private gone(): LifecycleOutcome {
    this.deps.log('info', 'lifecycle action already completed', { instance: this.action.EC2InstanceId });
    this.deps.count('DrainAlreadyCompleted');
    return 'already-completed';
  }

  /** Records a heartbeat. False when the action is no longer active. */
  private async heartbeat(deadline: number): Promise<boolean> {
    try {
      await withRetry(() => this.deps.clients.autoScaling.send(new RecordLifecycleActionHeartbeatCommand(actionInput(this.action))), this.retry(deadline));
      return true;
    } catch (error) {
      if (isNoActiveAction(error)) return false;
      throw error;
    }
  }

  /**
   * The heartbeat at the start of a run, retried for at most a third of the run. `failed` lets the
   * drain go on: the last heartbeat (carried) still holds, and the run's deadline counts from it.
   */
  private async startHeartbeat(): Promise<'ok' | 'gone' | 'failed'> {
    try {
      return (await this.heartbeat(this.runStart + (this.lambdaEnd - this.runStart) / 3)) ? 'ok' : 'gone';
    } catch (error) {
      this.deps.log('warn', 'heartbeat failed; draining anyway', { instance: this.action.EC2InstanceId, error: errorText(error) });
      this.deps.count('DrainErrors');
      return 'failed';
    }
  }

  /** Drains within this run's budget; a failure is logged and counted, and returned with what was done. */
  private async drainOnce(deadline: number): Promise<{ report?: DrainReport; error?: DrainError }> {
    try {
      const report = await drainTarget(this.deps.clients, parseDrainTarget(this.action.EC2InstanceId), {
        cluster: this.deps.cluster,
        scope: { targetGroupArns: this.deps.targetGroupArns },
        deadline,
        startedAt: this.continuation.startedAt || undefined,
        deregisteredAt: this.continuation.deregisteredAt,
        allowUnregistered: true,
        pollMs: this.deps.pollMs,
        retry: this.retry(deadline),
        now: this.deps.now,
        sleep: this.deps.sleep,
        random: this.deps.random,
      });
      if (report.state === 'failed') this.deps.count('DrainErrors');
      return { report };
    } catch (error) {
      const drainError = toDrainError(error);
      this.deps.log('error', 'drain failed; handing over to the next run', { instance: this.action.EC2InstanceId, error: drainError.message });
      this.deps.count('DrainErrors');
      return { error: drainError };
    }
  }

  private async send(next: Continuation, deadline: number): Promise<void> {
    const input = { QueueUrl: this.deps.queueUrl, MessageBody: JSON.stringify(next), DelaySeconds: this.delaySeconds };
    await withRetry(() => this.deps.clients.sqs.send(new SendMessageCommand(input)), this.retry(deadline));
  }

  /**
   * The drain is not over (it needs more time, or this run failed): heartbeat, so the hook waits
   * for the next run, then the continuation with the start and deregistration times. The
   * heartbeat gets half of what is left; a failed one still lets the continuation go (the last
   * heartbeat holds for the few seconds until the next run heartbeats again). Throws only when
   * the continuation cannot be sent.
   */
  private async handOver(report: DrainReport | undefined, heartbeatAt: number | undefined, error?: DrainError): Promise<LifecycleOutcome> {
    let lastBeat = heartbeatAt;
    try {
      if (!(await this.heartbeat(this.now() + (this.lambdaEnd - this.now()) / 2))) return this.gone();
      lastBeat = this.now();
    } catch (beatError) {
      this.deps.log('warn', 'heartbeat before the hand-over failed; handing over anyway', { instance: this.action.EC2InstanceId, error: errorText(beatError) });
      this.deps.count('DrainErrors');
    }
    const next: Continuation = {
      kind: 'albatross.drain.continue',
      action: this.action,
      startedAt: report?.startedAt ?? this.startedAt,
      attempt: this.continuation.attempt + 1,
      // A failed run that found nothing yet keeps what earlier runs recorded.
      deregisteredAt: { ...this.continuation.deregisteredAt, ...(report ? deregistrationTimes(report) : {}) },
      ...(lastBeat !== undefined ? { heartbeatAt: lastBeat } : {}),
    };
    await this.send(next, this.lambdaEnd);
    const outcome = error ? 'handed-over' : 'requeued';
    this.deps.log(error ? 'warn' : 'info', error ? 'drain handed over to the next run after an error' : 'drain continues in the next run', { instance: this.action.EC2InstanceId, attempt: next.attempt, state: report?.state, error: error?.message });
    this.deps.count(error ? 'DrainHandedOver' : 'DrainRequeued');
    return outcome;
  }

  /**
   * Completes the action with CONTINUE. If AWS refuses for another reason than "already done", a
   * complete-only continuation is re-queued with a short delay: SQS's own redelivery would come
   * only after the visibility timeout, far longer than the hook's heartbeat.
   */
  private async finish(report?: DrainReport): Promise<LifecycleOutcome> {
    const action = this.action;
    const sendBy = this.lambdaEnd;
    try {
      const outcome = await this.complete(this.now() + (sendBy - this.now()) / 2);
      this.deps.log('info', 'lifecycle action completed', { instance: action.EC2InstanceId, outcome, drain: report?.state, registrations: report?.registrations.map((r) => ({ targetGroup: r.targetGroupName, port: r.port, service: r.service, endedBy: r.endedBy, afterMs: r.endedAfterMs })) });
      this.deps.count(outcome === 'completed' ? 'DrainCompleted' : 'DrainAlreadyCompleted');
      return outcome;
    } catch (error) {
      const failures = (this.continuation.completeFailures ?? 0) + 1;
      if (failures > (this.deps.maxCompleteFailures ?? 5)) throw error;
      this.deps.log('warn', 'could not complete the lifecycle action; trying again shortly', { instance: action.EC2InstanceId, failures, error: errorText(error) });
      await this.send({ ...this.continuation, startedAt: this.startedAt, completeFailures: failures }, sendBy);
      this.deps.count('CompleteRequeued');
      return 'complete-requeued';
    }
  }

  private async complete(deadline: number): Promise<'completed' | 'already-completed'> {
    try {
      await withRetry(() => this.deps.clients.autoScaling.send(new CompleteLifecycleActionCommand({ ...actionInput(this.action), LifecycleActionResult: 'CONTINUE' })), this.retry(deadline));
      return 'completed';
    } catch (error) {
      if (isNoActiveAction(error)) return 'already-completed';
      throw error;
    }
  }
}

function failedRegistrations(report: DrainReport): string {
  const failed = report.registrations.filter((r) => r.error !== undefined);
  return `deregistration failed: ${failed.map((r) => `${r.targetGroupName}:${r.port} ${r.error}`).join('; ')}`;
}

/**
 * Handles one message. Never releases an instance early because of an error: a failed run hands
 * over to the next one (heartbeat + continuation) until the drain ends or its timeout passes.
 * Throws only when AWS cannot be told anything (then the handler has SQS redeliver the message).
 */
export async function handleLifecycleMessage(body: string, deps: LifecycleDeps): Promise<LifecycleOutcome> {
  const continuation = parseLifecycleMessage(body);
  if (continuation === undefined) {
    deps.log('info', 'ignored a message that is not a terminate lifecycle action', { body: body.slice(0, 200) });
    return 'ignored';
  }
  return new LifecycleRun(deps, continuation).handle();
}
