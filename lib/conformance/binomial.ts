/**
 * How far a weighted split may stray by chance. Each of N requests without a group-stickiness
 * cookie goes to group i with probability p = weight_i / Σ weights, independently, so the count
 * of group i is Binomial(N, p). The accepted range is the exact binomial one (no normal
 * approximation): counts below it or above it each have probability at most α/2.
 */

/** ln P(X = k) for k = 0…n of X ~ Binomial(n, p), 0 < p < 1, by the ratio of successive terms. */
function logPmf(n: number, p: number): number[] {
  const out = [n * Math.log1p(-p)];
  const odds = Math.log(p) - Math.log1p(-p);
  for (let k = 0; k < n; k++) out.push(out[k] + Math.log((n - k) / (k + 1)) + odds);
  return out;
}

/** An interval of counts and the probability, under the binomial, of landing outside it. */
export interface AcceptedCounts {
  readonly low: number;
  readonly high: number;
  /** P(X < low) + P(X > high): the chance that a correct split is reported as wrong. */
  readonly falseFailure: number;
}

/**
 * The widest-tails interval [low, high] with P(X < low) ≤ α/2 and P(X > high) ≤ α/2 for
 * X ~ Binomial(n, p). p of 0 or 1 leaves no room: exactly 0 or n.
 */
export function acceptedCounts(n: number, p: number, alpha: number): AcceptedCounts {
  if (p <= 0) return { low: 0, high: 0, falseFailure: 0 };
  if (p >= 1) return { low: n, high: n, falseFailure: 0 };
  const pmf = logPmf(n, p).map(Math.exp);
  let below = 0;
  let low = 0;
  while (low < n && below + pmf[low] <= alpha / 2) below += pmf[low++];
  let above = 0;
  let high = n;
  while (high > 0 && above + pmf[high] <= alpha / 2) above += pmf[high--];
  return { low, high, falseFailure: below + above };
}
