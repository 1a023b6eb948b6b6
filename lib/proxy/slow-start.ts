/**
 * Slow start: a target that becomes healthy while other targets are healthy starts with a weight
 * near 0 that grows linearly to 1 over the slow start duration. A target that is the only healthy
 * one does not enter slow start (as on the ALB): there is nobody to take the rest of the traffic.
 */

/** Lowest share a target in slow start gets, so that the ramp starts at "almost nothing", not nothing. */
export const SLOW_START_MIN_WEIGHT = 0.01;

/** Weight of a target `elapsedMs` into a slow start of `durationMs`; 1 once the window is over. */
export function slowStartWeight(elapsedMs: number, durationMs: number): number {
  if (durationMs <= 0 || elapsedMs >= durationMs) return 1;
  return Math.max(SLOW_START_MIN_WEIGHT, elapsedMs / durationMs);
}

/** Whether a target that just became healthy enters slow start. */
export function entersSlowStart(durationMs: number, otherHealthyTargets: number): boolean {
  return durationMs > 0 && otherHealthyTargets > 0;
}
