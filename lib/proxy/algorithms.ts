/**
 * Target selection. Pickers work on the group's current candidate list in place (no copies per
 * request) and return an index into it.
 */
import { RoutingAlgorithm } from '../alb/routing-algorithms';

/** What a picker reads and writes on a candidate. */
export interface Candidate {
  /** Requests in flight to the target. */
  readonly inFlight: number;
  /** Relative weight, 1 normally (lower in slow start or under anomaly mitigation). */
  weight: number;
  /** Running counter of the smooth weighted round robin. */
  current: number;
  /** Exponentially weighted share of failed requests (anomaly mitigation). */
  errorRate: number;
  /** Requests that fed `errorRate`. */
  samples: number;
}

export interface Picker {
  /** Index of the chosen candidate; `candidates` is never empty. */
  pick(candidates: readonly Candidate[], weighted: boolean): number;
}

/** Plain rotation; with weights (slow start) the smooth weighted round robin nginx uses. */
export class RoundRobinPicker implements Picker {
  private next = 0;

  pick(candidates: readonly Candidate[], weighted: boolean): number {
    if (weighted) return smoothWeightedPick(candidates);
    const index = this.next % candidates.length;
    this.next = index + 1;
    return index;
  }
}

/**
 * Each pick adds every weight to its counter, takes the highest counter and subtracts the total
 * from it: deterministic, and each target's share equals its weight's share.
 */
export function smoothWeightedPick(candidates: readonly Candidate[]): number {
  let total = 0;
  let best = 0;
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i];
    c.current += c.weight;
    total += c.weight;
    if (c.current > candidates[best].current) best = i;
  }
  candidates[best].current -= total;
  return best;
}

/** Fewest requests in flight; ties go round robin (the scan starts after the last choice). */
export class LeastOutstandingPicker implements Picker {
  private next = 0;

  pick(candidates: readonly Candidate[]): number {
    const n = candidates.length;
    const start = this.next % n;
    let best = start;
    let fewest = candidates[start].inFlight;
    for (let k = 1; k < n && fewest > 0; k++) {
      const i = (start + k) % n;
      if (candidates[i].inFlight < fewest) {
        fewest = candidates[i].inFlight;
        best = i;
      }
    }
    this.next = best + 1;
    return best;
  }
}

/** Random, proportional to weight (1 each unless anomaly mitigation or slow start lowered it). */
export class WeightedRandomPicker implements Picker {
  constructor(private readonly random: () => number = Math.random) {}

  pick(candidates: readonly Candidate[], weighted: boolean): number {
    if (!weighted) return Math.min(candidates.length - 1, Math.floor(this.random() * candidates.length));
    let total = 0;
    for (let i = 0; i < candidates.length; i++) total += candidates[i].weight;
    let point = this.random() * total;
    for (let i = 0; i < candidates.length; i++) {
      point -= candidates[i].weight;
      if (point < 0) return i;
    }
    return candidates.length - 1;
  }
}

export function createPicker(algorithm: RoutingAlgorithm, random?: () => number): Picker {
  switch (algorithm) {
    case 'round_robin':
      return new RoundRobinPicker();
    case 'least_outstanding_requests':
      return new LeastOutstandingPicker();
    case 'weighted_random':
      return new WeightedRandomPicker(random);
  }
}

/**
 * Anomaly mitigation heuristic (the ALB's own detector is not published):
 * - each target keeps an exponentially weighted error rate over its last ~20 requests
 *   (`ANOMALY_EWMA_ALPHA`), counting requests the network layer released with `failed: true`;
 * - a target is anomalous when it has at least `ANOMALY_MIN_SAMPLES` requests, an error rate of at
 *   least `ANOMALY_MIN_ERROR_RATE`, and more than `ANOMALY_RATIO` times the mean rate of the other
 *   candidates — so when every target fails alike, nobody is mitigated;
 * - an anomalous target keeps `ANOMALY_WEIGHT` of a normal share: it still gets some traffic, so
 *   its rate can recover and mitigation ends by itself.
 */
export const ANOMALY_EWMA_ALPHA = 0.1;
export const ANOMALY_MIN_SAMPLES = 10;
export const ANOMALY_MIN_ERROR_RATE = 0.2;
export const ANOMALY_RATIO = 2;
export const ANOMALY_WEIGHT = 0.1;

/** Feeds one finished request into a candidate's error rate. */
export function recordOutcome(candidate: Candidate, failed: boolean): void {
  candidate.errorRate += ANOMALY_EWMA_ALPHA * ((failed ? 1 : 0) - candidate.errorRate);
  candidate.samples++;
}

/** Multiplies the weights of anomalous candidates by ANOMALY_WEIGHT; returns whether any was. */
export function applyAnomalyMitigation(candidates: readonly Candidate[]): boolean {
  if (candidates.length < 2) return false;
  let sum = 0;
  for (let i = 0; i < candidates.length; i++) sum += candidates[i].errorRate;
  let any = false;
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i];
    const othersMean = (sum - c.errorRate) / (candidates.length - 1);
    if (c.samples >= ANOMALY_MIN_SAMPLES && c.errorRate >= ANOMALY_MIN_ERROR_RATE && c.errorRate > ANOMALY_RATIO * othersMean) {
      c.weight *= ANOMALY_WEIGHT;
      any = true;
    }
  }
  return any;
}
