/** The weighted-split check's accepted counts: exact binomial tails, checked against a direct sum. */
import { acceptedCounts } from '../../../lib/conformance/binomial';

/** P(X = k) for X ~ Binomial(n, p) from the binomial coefficient itself (small n only). */
function pmf(n: number, p: number, k: number): number {
  let c = 1;
  for (let i = 0; i < k; i++) c = (c * (n - i)) / (i + 1);
  return c * p ** k * (1 - p) ** (n - k);
}

const tail = (n: number, p: number, from: number, to: number) => {
  let sum = 0;
  for (let k = from; k <= to; k++) sum += pmf(n, p, k);
  return sum;
};

test.each([
  [30, 0.1, 0.05],
  [30, 0.5, 0.01],
  [60, 0.25, 0.001],
])('n %i, p %f, α %f: each tail at most α/2, and one more count on either side would exceed it', (n, p, alpha) => {
  const { low, high, falseFailure } = acceptedCounts(n, p, alpha);
  const below = tail(n, p, 0, low - 1);
  const above = tail(n, p, high + 1, n);
  expect(below).toBeLessThanOrEqual(alpha / 2);
  expect(above).toBeLessThanOrEqual(alpha / 2);
  expect(tail(n, p, 0, low)).toBeGreaterThan(alpha / 2);
  expect(tail(n, p, high, n)).toBeGreaterThan(alpha / 2);
  expect(falseFailure).toBeCloseTo(below + above, 12);
});

test('the demo split: 400 requests at 90/10, α 1e-6 shared by the two groups, gives 14–73 for the 10 % group', () => {
  // Without the log-space terms, 0.1^400 underflows to 0 and every range collapses.
  expect(acceptedCounts(400, 0.1, 5e-7)).toMatchObject({ low: 14, high: 73 });
  expect(acceptedCounts(400, 0.9, 5e-7)).toMatchObject({ low: 327, high: 386 });
  expect(acceptedCounts(400, 0.1, 5e-7).falseFailure).toBeLessThan(5e-7);
});

test('a weight of 0 or the only weight leaves no room', () => {
  expect(acceptedCounts(400, 0, 1e-6)).toEqual({ low: 0, high: 0, falseFailure: 0 });
  expect(acceptedCounts(400, 1, 1e-6)).toEqual({ low: 400, high: 400, falseFailure: 0 });
});
