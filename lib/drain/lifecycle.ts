/**
 * The drain orchestrator's logic, separate from the Lambda wiring so it can be tested: one
 * terminate lifecycle action in; a heartbeat; drained within the run's budget; then
 * CompleteLifecycleAction — or, if the drain needs longer than one run, a heartbeat and a
 * continuation message on the queue.
 */
import { AutoScalingClient, CompleteLifecycleActionCommand, RecordLifecycleActionHeartbeatCommand } from '@aws-sdk/client-auto-scaling';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { runDeadline } from './budget';
import { deregistrationTimes, DrainClients, DrainReport, drainTarget } from './engine';
import { awsErrorCode } from './errors';
import { RetryPolicy, withThrottlingRetry } from './retry';
import { parseDrainTarget } from './target-id';

/** The lifecycle action, as the EventBridge event's detail carries it. */
export interface LifecycleAction {
  readonly EC2InstanceId: string;
  readonly LifecycleActionToken: string;
  readonly LifecycleHookName: string;
  readonly AutoScalingGroupName: string;
}

/** What the handler re-queues when a drain outlives one run, or when completing the action failed. */
export interface Continuation {
  readonly kind: 'albatross.drain.continue';
  readonly action: LifecycleAction;
  readonly startedAt: number;
  readonly attempt: number;
  /** When each registration was deregistered (registrationKey → epoch ms): the delay counts from there. */
  readonly deregisteredAt?: Record<string, number>;
  /** The drain is over; only CompleteLifecycleAction is left, which failed this many times. */
  readonly completeFailures?: number;
}

export type LifecycleOutcome = 'completed' | 'already-completed' | 'requeued' | 'complete-requeued' | 'ignored';

export type LifecycleMetric = 'DrainCompleted' | 'DrainRequeued' | 'DrainErrors' | 'DrainAlreadyCompleted' | 'CompleteRequeued';

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
  /** Seconds before a continuation is delivered again. @default 5 */
  readonly requeueDelaySeconds?: number;
  /** Failed completions re-queued before the message is left to SQS redelivery. @default 5 */
  readonly maxCompleteFailures?: number;
  readonly pollMs?: number;
  readonly retry?: RetryPolicy;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly log: (level: 'info' | 'warn' | 'error', message: string, detail?: Record<string, unknown>) => void;
  readonly count: (metric: LifecycleMetric, value?: number) => void;
}

const TERMINATE_DETAIL_TYPE = 'EC2 Instance-terminate Lifecycle Action';

type MessageShape = { kind?: string; 'detail-type'?: string; detail?: Partial<LifecycleAction> } & Partial<Continuation>;

/** Reads an SQS body: an EventBridge terminate event, a continuation, or undefined (to ignore). */
export function parseLifecycleMessage(body: string): Continuation | undefined {
  let message: MessageShape;
  try {
    message = JSON.parse(body) as MessageShape;
  } catch {
    return undefined; // not JSON: retrying cannot make it readable
  }
  if (message?.kind === 'albatross.drain.continue' && message.action) return message as Continuation;
  const detail = message?.detail;
  if (message?.['detail-type'] !== TERMINATE_DETAIL_TYPE || !detail?.EC2InstanceId || !detail.LifecycleActionToken) return undefined;
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
  };
}

/** "No active Lifecycle Action found": someone (or a duplicate event) already completed it. */
function isNoActiveAction(error: unknown): boolean {
  return awsErrorCode(error) === 'ValidationError' && /No active Lifecycle Action/i.test((error as Error).message ?? '');
}

const actionInput = (action: LifecycleAction) => ({
  AutoScalingGroupName: action.AutoScalingGroupName,
  LifecycleHookName: action.LifecycleHookName,
  LifecycleActionToken: action.LifecycleActionToken,
  InstanceId: action.EC2InstanceId,
});

/** Records a heartbeat. False when the action is no longer active. */
async function heartbeat(deps: LifecycleDeps, action: LifecycleAction): Promise<boolean> {
  try {
    await withThrottlingRetry(() => deps.clients.autoScaling.send(new RecordLifecycleActionHeartbeatCommand(actionInput(action))), deps.retry);
    return true;
  } catch (error) {
    if (isNoActiveAction(error)) return false;
    throw error;
  }
}

async function complete(deps: LifecycleDeps, action: LifecycleAction): Promise<'completed' | 'already-completed'> {
  try {
    await withThrottlingRetry(() => deps.clients.autoScaling.send(new CompleteLifecycleActionCommand({ ...actionInput(action), LifecycleActionResult: 'CONTINUE' })), deps.retry);
    return 'completed';
  } catch (error) {
    if (isNoActiveAction(error)) return 'already-completed';
    throw error;
  }
}

async function send(deps: LifecycleDeps, next: Continuation): Promise<void> {
  const input = { QueueUrl: deps.queueUrl, MessageBody: JSON.stringify(next), DelaySeconds: deps.requeueDelaySeconds ?? 5 };
  await withThrottlingRetry(() => deps.clients.sqs.send(new SendMessageCommand(input)), deps.retry);
}

/** The drain needs another run: heartbeat (the hook waits on), then the continuation. */
async function continueLater(deps: LifecycleDeps, continuation: Continuation, report: DrainReport): Promise<LifecycleOutcome> {
  if (!(await heartbeat(deps, continuation.action))) return 'already-completed';
  await send(deps, { kind: 'albatross.drain.continue', action: continuation.action, startedAt: report.startedAt, attempt: continuation.attempt + 1, deregisteredAt: deregistrationTimes(report) });
  return 'requeued';
}

/**
 * Completes the action. If AWS refuses for another reason than "already done", a complete-only
 * continuation is re-queued with a short delay: SQS's own redelivery would come only after the
 * visibility timeout (twice the Lambda timeout), longer than the hook's heartbeat.
 */
async function finish(deps: LifecycleDeps, continuation: Continuation, report?: DrainReport): Promise<LifecycleOutcome> {
  const action = continuation.action;
  try {
    const outcome = await complete(deps, action);
    deps.log('info', 'lifecycle action completed', { instance: action.EC2InstanceId, outcome, drain: report?.state, registrations: report?.registrations.map((r) => ({ targetGroup: r.targetGroupName, port: r.port, endedBy: r.endedBy, afterMs: r.endedAfterMs })) });
    deps.count(outcome === 'completed' ? 'DrainCompleted' : 'DrainAlreadyCompleted');
    return outcome;
  } catch (error) {
    const failures = (continuation.completeFailures ?? 0) + 1;
    if (failures > (deps.maxCompleteFailures ?? 5)) throw error;
    deps.log('warn', 'could not complete the lifecycle action; trying again shortly', { instance: action.EC2InstanceId, failures, error: (error as Error).message });
    await send(deps, { ...continuation, completeFailures: failures });
    deps.count('CompleteRequeued');
    return 'complete-requeued';
  }
}

/**
 * The heartbeat at the start of a run. False when the action is no longer active. Any other
 * failure is logged and the drain goes on: the previous run heartbeated moments before it
 * re-queued this message, and the hook's default result (CONTINUE) is the backstop.
 */
async function startHeartbeat(deps: LifecycleDeps, action: LifecycleAction): Promise<boolean> {
  try {
    return await heartbeat(deps, action);
  } catch (error) {
    deps.log('warn', 'heartbeat failed; draining anyway', { instance: action.EC2InstanceId, error: (error as Error).message });
    deps.count('DrainErrors');
    return true;
  }
}

/** Drains within this run's budget; undefined when the drain itself failed (logged and counted). */
async function drainOnce(deps: LifecycleDeps, continuation: Continuation, deadline: number): Promise<DrainReport | undefined> {
  const action = continuation.action;
  try {
    const report = await drainTarget(deps.clients, parseDrainTarget(action.EC2InstanceId), {
      cluster: deps.cluster,
      scope: { targetGroupArns: deps.targetGroupArns },
      deadline,
      startedAt: continuation.startedAt || undefined,
      deregisteredAt: continuation.deregisteredAt,
      allowUnregistered: true,
      pollMs: deps.pollMs,
      retry: deps.retry,
      now: deps.now,
      sleep: deps.sleep,
      random: deps.random,
    });
    if (report.state === 'failed' || report.state === 'timed-out') deps.count('DrainErrors');
    return report;
  } catch (error) {
    deps.log('error', 'drain failed; completing the lifecycle action so the instance is not stuck', { instance: action.EC2InstanceId, error: (error as Error).message });
    deps.count('DrainErrors');
    return undefined;
  }
}

/**
 * Handles one message. Never leaves an instance in Terminating:Wait because of a drain error:
 * an unexpected failure is logged and counted, and the action is completed with CONTINUE anyway.
 * Throws only when AWS cannot be told anything (then SQS redelivers the message).
 */
export async function handleLifecycleMessage(body: string, deps: LifecycleDeps): Promise<LifecycleOutcome> {
  const now = deps.now ?? Date.now;
  const runStart = now();
  const continuation = parseLifecycleMessage(body);
  if (continuation === undefined) {
    deps.log('info', 'ignored a message that is not a terminate lifecycle action', { body: body.slice(0, 200) });
    return 'ignored';
  }
  const action = continuation.action;
  if (continuation.completeFailures !== undefined) return finish(deps, continuation);
  // A heartbeat first: the hook's timer restarts now, whatever the last run left of it.
  if (!(await startHeartbeat(deps, action))) {
    deps.log('info', 'lifecycle action already completed', { instance: action.EC2InstanceId });
    deps.count('DrainAlreadyCompleted');
    return 'already-completed';
  }
  const deadline = runDeadline({ startedAt: runStart, remainingMs: deps.remainingMs, functionTimeoutMs: deps.functionTimeoutMs, heartbeatAt: now(), heartbeatTimeoutMs: deps.heartbeatTimeoutMs });
  const report = await drainOnce(deps, continuation, deadline);
  if (report?.state !== 'in-progress') return finish(deps, continuation, report);
  const outcome = await continueLater(deps, continuation, report);
  deps.log('info', outcome === 'requeued' ? 'drain continues in the next run' : 'lifecycle action already completed', { instance: action.EC2InstanceId, attempt: continuation.attempt + 1 });
  deps.count(outcome === 'requeued' ? 'DrainRequeued' : 'DrainAlreadyCompleted');
  return outcome;
}
