/**
 * Time budget of one orchestrator run, shared by the Lambda (its deadline) and the construct (its
 * duration alarm), so the two cannot drift apart. CDK- and SDK-free: the construct imports it.
 */

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
