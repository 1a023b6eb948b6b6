/**
 * The statistics of the benchmarks' rounds: medians and their distribution-free intervals, and
 * the orders in which peers take their turns. Pure functions, tested in test/bench/rounds.test.ts.
 */
import { acceptedCounts } from '../lib/conformance/binomial';

/** The middle value, or the mean of the two middle values. */
export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** The geometric mean: the mean of ratios that multiply rather than add. */
export const geometricMean = (values: number[]): number => Math.exp(values.reduce((sum, v) => sum + Math.log(v), 0) / values.length);

/**
 * A distribution-free confidence interval of the median of n values: from the k-th smallest to
 * the k-th largest, k the largest rank for which P(Binomial(n, 1/2) < k) <= (1 - level) / 2, the
 * binomial's own accepted range (lib/conformance/binomial.ts). With too few values for `level`,
 * the smallest to the largest. Returns k and the interval's actual coverage.
 */
export function medianRank(n: number, level = 0.95): { k: number; coverage: number } {
  const { low, falseFailure } = acceptedCounts(n, 0.5, 1 - level);
  // low 0: even min-max has less than `level`; its coverage is 1 - P(X < 1) - P(X > n - 1).
  return low === 0 ? { k: 1, coverage: 1 - 2 * 0.5 ** n } : { k: low, coverage: 1 - falseFailure };
}

/** The 95 % (or, with too few values, the widest) distribution-free interval of the values' median (medianRank). */
export function medianInterval(values: number[]): { low: number; high: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const { k } = medianRank(sorted.length);
  return { low: sorted[k - 1], high: sorted[sorted.length - k] };
}

/**
 * The order of the peers in round `round`: a row of a Williams design. Over `williamsRounds(n)`
 * rounds each peer takes each position equally often and comes right after each other peer
 * equally often (for an odd number of peers the square's rows are followed by the same rows
 * reversed). A fixed rotation measured the same peer right after Albatross in every round (over
 * 36 rounds the second bare floor then came out at 1.015x the first, interval 0.98-1.03).
 */
export function williamsOrder(n: number, round: number): number[] {
  const first: number[] = [];
  for (let low = 0, high = n - 1, j = 0; j < n; j++) first.push(j % 2 === 0 ? low++ : high--);
  const row = first.map((k) => (k + round) % n);
  return n % 2 === 1 && round % (2 * n) >= n ? row.reverse() : row;
}

/** How many rounds a Williams design of `n` peers takes. */
export const williamsRounds = (n: number): number => (n % 2 === 0 ? n : 2 * n);
