/**
 * Time budget of one orchestrator run, shared by the Lambda (its deadline) and the construct (its
 * duration alarm), so the two cannot drift apart. CDK- and SDK-free: the construct imports it.
 */
import { MAX_DEREGISTRATION_DELAY_SECONDS } from '../alb/target-group-attributes';

/**
 * Share of a time limit kept free at the end of a run for the heartbeat, the re-queue or the
 * completion (each with throttling retries) and for a slow last poll. 15 % keeps a normal run that
 * re-queues itself at about 85 % of the Lambda timeout, below the duration alarm at 90 %.
 */
export const SAFETY_MARGIN_FRACTION = 0.15;
/**
 * Never less than this: short timeouts still leave room for a few retried calls, and the gap
 * between a normal run (limit − margin) and the alarm (90 %) stays at least a third of it (10 s).
 */
export const MIN_SAFETY_MARGIN_MS = 30_000;
/** The orchestrator's duration alarm fires above this share of the Lambda timeout. */
export const DURATION_ALARM_FRACTION = 0.9;

/** The time kept free at the end of a run bounded by `limitMs`. */
export function safetyMarginMs(limitMs: number): number {
  return Math.max(MIN_SAFETY_MARGIN_MS, Math.ceil(limitMs * SAFETY_MARGIN_FRACTION));
}

export interface RunBudget {
  /** Epoch ms when the run began (when `remainingMs` was read). */
  readonly startedAt: number;
  /** Lambda time left at `startedAt`. */
  readonly remainingMs: number;
  /** The configured Lambda timeout. @default remainingMs */
  readonly functionTimeoutMs?: number;
  /** Epoch ms of this run's heartbeat, and the hook's heartbeat timeout (both or neither). */
  readonly heartbeatAt?: number;
  readonly heartbeatTimeoutMs?: number;
}

/**
 * When the drain must stop and hand over to the next run: before the Lambda times out, and before
 * the heartbeat this run sent runs out (the next run heartbeats again at its start).
 */
export function runDeadline(budget: RunBudget): number {
  const lambdaEnd = budget.startedAt + budget.remainingMs - safetyMarginMs(budget.functionTimeoutMs ?? budget.remainingMs);
  if (budget.heartbeatAt === undefined || budget.heartbeatTimeoutMs === undefined) return lambdaEnd;
  return Math.min(lambdaEnd, budget.heartbeatAt + budget.heartbeatTimeoutMs - safetyMarginMs(budget.heartbeatTimeoutMs));
}

/** What the engine's default timeout adds to the largest deregistration delay: a slow last poll. */
export const TIMEOUT_MARGIN_MS = 30_000;
/** What the engine's default timeout allows ECS to move the tasks before deregistration. */
export const ECS_ALLOWANCE_MS = 10 * 60_000;
/**
 * The orchestrator's default bound on one drain, from its first run: the engine's own default
 * timeout (delay + margin + ECS allowance) for the largest delay AWS allows, so no configuration
 * drains longer. After it the action is completed whatever the drain's state.
 */
export const DEFAULT_DRAIN_TIMEOUT_SECONDS = MAX_DEREGISTRATION_DELAY_SECONDS + (TIMEOUT_MARGIN_MS + ECS_ALLOWANCE_MS) / 1000;
/** The longest an instance can stay in Terminating:Wait (the lifecycle hook's global timeout is at most 48 hours). */
export const MAX_DRAIN_TIMEOUT_SECONDS = 48 * 3600;
/** Seconds before a continuation is delivered again (SQS DelaySeconds). */
export const REQUEUE_DELAY_SECONDS = 5;

/**
 * The most runs one drain can take within `drainTimeoutMs`: each run is started by a message
 * delivered at least `requeueDelaySeconds` after the last one was sent, so more runs than this
 * mean a loop — even when the carried start time was lost — and the action is completed.
 */
export function maxContinuations(drainTimeoutMs: number, requeueDelaySeconds = REQUEUE_DELAY_SECONDS): number {
  return Math.ceil(drainTimeoutMs / (Math.max(1, requeueDelaySeconds) * 1000)) + 1;
}
