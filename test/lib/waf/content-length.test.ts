import { greaterThanPattern, WAF_REGEX_MAX_LENGTH } from '../../../lib/waf/content-length';

/** A deterministic pseudo-random sequence (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values around n, where an off-by-one or a wrong digit range would show. */
function probes(n: number): number[] {
  const digits = String(n).length;
  const near = [n - 11, n - 10, n - 1, n, n + 1, n + 9, n + 10, n + 100, 10 ** digits - 1, 10 ** digits, 10 ** (digits - 1), 0, 1, 9];
  return near.filter((v) => v >= 0 && Number.isSafeInteger(v));
}

describe('greaterThanPattern (the Content-Length rule)', () => {
  test('matches exactly the integers above n, for boundary and random n', () => {
    const next = random(8);
    const limits = [0, 1, 9, 10, 99, 100, 8192, 5 * 1024 * 1024, 1_000_000, 999_999, 1_099_511_627_776, Number.MAX_SAFE_INTEGER - 1];
    for (let i = 0; i < 300; i++) limits.push(Math.floor(next() * 10 ** (1 + Math.floor(next() * 12))));
    for (const n of limits) {
      const pattern = new RegExp(greaterThanPattern(n));
      for (const value of probes(n)) {
        expect([n, value, pattern.test(String(value))]).toEqual([n, value, value > n]);
      }
    }
  });

  test('leading zeros do not hide a large body, and non-numbers never match', () => {
    const pattern = new RegExp(greaterThanPattern(5242880));
    expect(pattern.test('0005242881')).toBe(true);
    expect(pattern.test('0005242880')).toBe(false);
    for (const text of ['', 'abc', '-6000000', '6000000 ', '6e6', '5242881x']) expect(pattern.test(text)).toBe(false);
  });

  test('fits the 512 characters WAF allows for every limit a config may set', () => {
    expect(greaterThanPattern(Number.MAX_SAFE_INTEGER).length).toBeLessThanOrEqual(WAF_REGEX_MAX_LENGTH);
    expect(greaterThanPattern(8_999_999_999_999_998).length).toBeLessThanOrEqual(WAF_REGEX_MAX_LENGTH);
  });

  test('refuses what it cannot express', () => {
    expect(() => greaterThanPattern(-1)).toThrow(RangeError);
    expect(() => greaterThanPattern(2 ** 53)).toThrow(RangeError);
  });
});
