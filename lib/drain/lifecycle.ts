/**
 * The drain orchestrator's logic, separate from the Lambda wiring so it can be tested: one
 * terminate lifecycle action in, drained within the run's budget, then CompleteLifecycleAction —
 * or, if the drain needs longer than one run, a heartbeat and a continuation message on the queue.
 */
import { AutoScalingClient, CompleteLifecycleActionCommand, RecordLifecycleActionHeartbeatCommand } from '@aws-sdk/client-auto-scaling';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { deregistrationTimes, DrainClients, DrainReport, drainTarget } from './engine';
import { awsErrorCode } from './errors';
import { parseDrainTarget } from './target-id';

/** The lifecycle action, as the EventBridge event's detail carries it. */
export interface LifecycleAction {
  readonly EC2InstanceId: string;
  readonly LifecycleActionToken: string;
  readonly LifecycleHookName: string;
  readonly AutoScalingGroupName: string;
}

/** What the handler re-queues when a drain outlives one run. */
export interface Continuation {
  readonly kind: 'albatross.drain.continue';
  readonly action: LifecycleAction;
  readonly startedAt: number;
  readonly attempt: number;
  /** When each registration was deregistered (registrationKey → epoch ms): the delay counts from there. */
  readonly deregisteredAt?: Record<string, number>;
}

export type LifecycleOutcome = 'completed' | 'already-completed' | 'requeued' | 'ignored';

export interface LifecycleDeps {
  readonly clients: DrainClients & { readonly autoScaling: AutoScalingClient; readonly sqs: SQSClient };
  readonly queueUrl: string;
  readonly cluster?: string;
  readonly targetGroupArns?: readonly string[];
  /** Milliseconds this run may still use. */
  readonly remainingMs: number;
  /** Kept free at the end of a run for the heartbeat and the re-queue. @default 20000 */
  readonly safetyMarginMs?: number;
  /** Seconds before a continuation is delivered again. @default 5 */
  readonly requeueDelaySeconds?: number;
  readonly pollMs?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly log: (level: 'info' | 'warn' | 'error', message: string, detail?: Record<string, unknown>) => void;
  readonly count: (metric: 'DrainCompleted' | 'DrainRequeued' | 'DrainErrors' | 'DrainAlreadyCompleted', value?: number) => void;
}

const TERMINATE_DETAIL_TYPE = 'EC2 Instance-terminate Lifecycle Action';

/** Reads an SQS body: an EventBridge terminate event, a continuation, or something to ignore. */
export function parseLifecycleMessage(body: string): Continuation | undefined {
  const message = JSON.parse(body) as { kind?: string; 'detail-type'?: string; detail?: Partial<LifecycleAction> & { LifecycleTransition?: string } } & Partial<Continuation>;
  if (message.kind === 'albatross.drain.continue' && message.action) return message as Continuation;
  const detail = message.detail;
  if (message['detail-type'] !== TERMINATE_DETAIL_TYPE || !detail?.EC2InstanceId || !detail.LifecycleActionToken) return undefined;
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

async function complete(deps: LifecycleDeps, action: LifecycleAction): Promise<LifecycleOutcome> {
  try {
    await deps.clients.autoScaling.send(
      new CompleteLifecycleActionCommand({
        AutoScalingGroupName: action.AutoScalingGroupName,
        LifecycleHookName: action.LifecycleHookName,
        LifecycleActionToken: action.LifecycleActionToken,
        InstanceId: action.EC2InstanceId,
        LifecycleActionResult: 'CONTINUE',
      }),
    );
    return 'completed';
  } catch (error) {
    if (isNoActiveAction(error)) return 'already-completed';
    throw error;
  }
}

async function requeue(deps: LifecycleDeps, continuation: Continuation, report: DrainReport): Promise<LifecycleOutcome> {
  const action = continuation.action;
  try {
    await deps.clients.autoScaling.send(
      new RecordLifecycleActionHeartbeatCommand({
        AutoScalingGroupName: action.AutoScalingGroupName,
        LifecycleHookName: action.LifecycleHookName,
        LifecycleActionToken: action.LifecycleActionToken,
        InstanceId: action.EC2InstanceId,
      }),
    );
  } catch (error) {
    if (isNoActiveAction(error)) return 'already-completed';
    throw error;
  }
  const next: Continuation = { kind: 'albatross.drain.continue', action, startedAt: report.startedAt, attempt: continuation.attempt + 1, deregisteredAt: deregistrationTimes(report) };
  await deps.clients.sqs.send(new SendMessageCommand({ QueueUrl: deps.queueUrl, MessageBody: JSON.stringify(next), DelaySeconds: deps.requeueDelaySeconds ?? 5 }));
  return 'requeued';
}

/**
 * Handles one message. Never leaves an instance in Terminating:Wait because of a drain error:
 * an unexpected failure is logged and counted, and the action is completed with CONTINUE anyway.
 * Throws only when AWS cannot be told anything (then SQS redelivers the message).
 */
export async function handleLifecycleMessage(body: string, deps: LifecycleDeps): Promise<LifecycleOutcome> {
  const continuation = parseLifecycleMessage(body);
  if (continuation === undefined) {
    deps.log('info', 'ignored a message that is not a terminate lifecycle action', { body: body.slice(0, 200) });
    return 'ignored';
  }
  const action = continuation.action;
  const now = deps.now ?? Date.now;
  let report: DrainReport | undefined;
  try {
    report = await drainTarget(deps.clients, parseDrainTarget(action.EC2InstanceId), {
      cluster: deps.cluster,
      scope: { targetGroupArns: deps.targetGroupArns },
      deadline: now() + deps.remainingMs - (deps.safetyMarginMs ?? 20_000),
      startedAt: continuation.startedAt || undefined,
      deregisteredAt: continuation.deregisteredAt,
      allowUnregistered: true,
      pollMs: deps.pollMs,
      now: deps.now,
      sleep: deps.sleep,
    });
  } catch (error) {
    deps.log('error', 'drain failed; completing the lifecycle action so the instance is not stuck', { instance: action.EC2InstanceId, error: (error as Error).message });
    deps.count('DrainErrors');
  }
  if (report?.state === 'in-progress') {
    const outcome = await requeue(deps, continuation, report);
    deps.log('info', outcome === 'requeued' ? 'drain continues in the next run' : 'lifecycle action already completed', { instance: action.EC2InstanceId, attempt: continuation.attempt + 1 });
    deps.count(outcome === 'requeued' ? 'DrainRequeued' : 'DrainAlreadyCompleted');
    return outcome;
  }
  if (report?.state === 'failed' || report?.state === 'timed-out') deps.count('DrainErrors');
  const outcome = await complete(deps, action);
  deps.log('info', 'lifecycle action completed', { instance: action.EC2InstanceId, outcome, drain: report?.state, registrations: report?.registrations.map((r) => ({ targetGroup: r.targetGroupName, port: r.port, endedBy: r.endedBy, afterMs: r.endedAfterMs })) });
  deps.count(outcome === 'completed' ? 'DrainCompleted' : 'DrainAlreadyCompleted');
  return outcome;
}
