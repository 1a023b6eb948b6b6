import { geometricMean, median, medianInterval, medianRank, williamsOrder, williamsRounds } from '../../bench/rounds';

/** Every row of the design, for `n` peers. */
function design(n: number): number[][] {
  return Array.from({ length: williamsRounds(n) }, (_, round) => williamsOrder(n, round));
}

describe('williamsOrder: the order of the peers in each round of the floor A/B', () => {
  it.each([2, 3, 4, 5, 6, 7])('with %i peers, every round measures each peer once', (n) => {
    for (const row of design(n)) expect([...row].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, k) => k));
  });

  it.each([2, 3, 4, 5, 6, 7])('with %i peers, each peer takes each position equally often', (n) => {
    const rows = design(n);
    for (let position = 0; position < n; position++) {
      const counts = new Array<number>(n).fill(0);
      for (const row of rows) counts[row[position]]++;
      expect(new Set(counts)).toEqual(new Set([rows.length / n]));
    }
  });

  // First-order carry-over: a peer measured right after Albatross must not always be the same one.
  it.each([2, 3, 4, 5, 6, 7])('with %i peers, each peer comes right after each other peer equally often', (n) => {
    const after = new Map<string, number>();
    for (const row of design(n)) for (let i = 1; i < n; i++) after.set(`${row[i - 1]}>${row[i]}`, (after.get(`${row[i - 1]}>${row[i]}`) ?? 0) + 1);
    expect(after.size).toBe(n * (n - 1));
    expect(new Set(after.values()).size).toBe(1);
  });

  it('takes n rounds for an even number of peers and 2n for an odd number', () => {
    expect([2, 3, 4, 5].map(williamsRounds)).toEqual([2, 6, 4, 10]);
  });
});

describe('the median and its distribution-free interval', () => {
  it('is the middle value, or the mean of the two middle values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('spans the 3rd to the 10th of 12 values, 96 % (P(Binomial(12, 1/2) < 3) = 79/4096 on each side)', () => {
    const { k, coverage } = medianRank(12);
    expect(k).toBe(3);
    expect(coverage).toBeCloseTo(1 - (2 * 79) / 4096, 10);
    expect(medianInterval([12, 1, 11, 2, 10, 3, 9, 4, 8, 5, 7, 6])).toEqual({ low: 3, high: 10 });
  });

  it('spans the lowest to the highest of 6 blocks, 97 % (1 - 2/64)', () => {
    expect(medianRank(6)).toEqual({ k: 1, coverage: 1 - 2 / 64 });
    expect(medianInterval([0.93, 0.9, 0.86, 0.88, 0.88, 0.97])).toEqual({ low: 0.86, high: 0.97 });
  });

  it('falls back to the lowest and highest when there are too few values for 95 %', () => {
    expect(medianRank(4)).toEqual({ k: 1, coverage: 1 - 2 / 16 });
  });
});

describe('geometricMean', () => {
  it('averages ratios multiplicatively: 0.5x and 2x average to 1x', () => {
    expect(geometricMean([0.5, 2])).toBeCloseTo(1, 12);
    expect(geometricMean([1, 4])).toBeCloseTo(2, 12);
  });
});
